#include <gtest/gtest.h>

#include <cmath>

#include <mujoco/mujoco.h>

#include "robots/robot_spec.h"
#include "sim/exploration.h"
#include "sim/task.h"
#include "tests/sim/mujoco_fixture.h"

namespace jepa_mpc::sim {
namespace {

class TaskTest : public MujocoTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(TaskTest, GoalIsReachableAndSuccessAgreesWithTrueDistance) {
  auto task = MakeTask(GetParam());
  for (uint64_t seed = 0; seed < 8; ++seed) {
    task->Reset(seed);
    Simulation& sim = task->sim();
    const SimState start = sim.GetState();
    // Start: the success function agrees with the true distance.
    const double d0 = (task->TrackedPosition() - task->goal_position()).norm();
    EXPECT_DOUBLE_EQ(task->Distance(), d0);
    EXPECT_GT(d0, task->info().success_threshold) << "goal already reached at reset, seed " << seed;
    EXPECT_FALSE(task->Success());
    // Goal state: the tracked point is at the goal, with the robot inside its joint limits.
    sim.SetState(task->goal_state());
    EXPECT_LT(task->Distance(), 1e-3) << "seed " << seed;
    const Eigen::VectorXd q = sim.arm_qpos();
    for (int i = 0; i < q.size(); ++i) {
      EXPECT_GE(q[i], sim.arm_lower()[i] - 1e-9);
      EXPECT_LE(q[i], sim.arm_upper()[i] + 1e-9);
    }
    if (task->info().name == "reach3d") {
      // Reachable with the held orientation: IK from home finds the goal within 1 mm.
      sim.Reset();
      auto& space = static_cast<EndEffectorDeltaActionSpace&>(task->action_space());
      EXPECT_LT(space.SolvePose(sim, task->goal_position()).position_error, 1e-3);
    }
    if (task->info().name == "push" || task->info().name == "pick_place") {
      // Goal image shows the block (5 cm) on the table, the arm away from it; the goal is at
      // least 10 cm from where the block starts.
      EXPECT_NEAR(task->goal_position().z(), 0.025, 1e-9);
      EXPECT_GT((sim.ee_pos() - task->goal_position()).norm(), 0.1);
      EXPECT_GE(d0, 0.1);
    }
    sim.SetState(start);
    EXPECT_DOUBLE_EQ(task->Distance(), d0);
  }
}

TEST_P(TaskTest, ResetIsDeterministicPerSeed) {
  auto a = MakeTask(GetParam());
  auto b = MakeTask(GetParam());
  a->Reset(42);
  b->Reset(42);
  EXPECT_EQ(a->sim().GetState().qpos, b->sim().GetState().qpos);
  EXPECT_EQ(a->goal_state().qpos, b->goal_state().qpos);
  b->Reset(43);
  EXPECT_NE(a->goal_state().qpos, b->goal_state().qpos);
}

TEST_P(TaskTest, GoalImageShowsTheGoalAndRestoresState) {
  auto task = MakeTask(GetParam());
  task->Reset(5);
  Renderer renderer(task->sim().model());
  const Image now = renderer.Render(task->sim().data(), task->sim().camera_id());
  const Image goal = task->RenderGoal(renderer);
  EXPECT_NE(now.rgb, goal.rgb);
  EXPECT_EQ(renderer.Render(task->sim().data(), task->sim().camera_id()).rgb, now.rgb);
}

TEST_P(TaskTest, GoalReachIsTheHandsDistanceToTheObjectInTheGoalState) {
  auto task = MakeTask(GetParam());
  task->Reset(5);
  const SimState now = task->sim().GetState();
  const double reach_now = task->ReachDistance();
  const double goal_reach = task->GoalReachDistance();
  EXPECT_EQ(task->sim().GetState().qpos, now.qpos);
  EXPECT_EQ(task->ReachDistance(), reach_now);
  task->sim().SetState(task->goal_state());
  EXPECT_EQ(goal_reach, task->ReachDistance());
  if (std::isnan(task->TrackedYaw())) {
    EXPECT_EQ(goal_reach, 0);  // no object
  } else {
    // The goal image shows the arm away from the block it left (at home or a ready pose).
    EXPECT_GT(goal_reach, 0.05);
    EXPECT_NE(goal_reach, reach_now);
  }
}

INSTANTIATE_TEST_SUITE_P(AllTasks, TaskTest,
                         ::testing::Values("reach2d", "reach3d", "push", "pick_place"));

class TaskSuccessTest : public MujocoTest {};

TEST_F(TaskSuccessTest, CamerasOptionChoosesTheObservationsViews) {
  // The task's own cameras by default and when named as they are; others side by side, left to right.
  EXPECT_EQ(MakeTask("push")->sim().camera_label(), "table");
  EXPECT_EQ(MakeTask("push", {256, "", "", "table"})->sim().camera_label(), "table");
  auto two = MakeTask("push", {256, "", "", "table+side"});
  EXPECT_EQ(two->sim().camera_label(), "table+side");
  EXPECT_EQ(two->sim().camera_ids().size(), 2u);
  // The same episode from the same seed: the cameras change what is seen, not what happens.
  auto one = MakeTask("push");
  one->Reset(5);
  two->Reset(5);
  EXPECT_EQ(one->goal_position(), two->goal_position());
  EXPECT_EQ(one->sim().object_pos(0), two->sim().object_pos(0));
  for (const std::string bad : {"table+roof", "table++side"}) {
    try {
      MakeTask("push", {256, "", "", bad});
      FAIL() << bad << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("task push on robot panda7"), std::string::npos) << e.what();
    }
  }
}

TEST_F(TaskSuccessTest, AntiAliasedImagesShowASubPixelMoveOfTheBlock) {
  EXPECT_EQ(MakeTask("push")->sim().antialias(), 4);     // push's own
  EXPECT_EQ(MakeTask("reach3d")->sim().antialias(), 0);  // the built-in robots' MJCF: none
  TaskOptions smooth;
  smooth.antialias = 4;  // collect --antialias 4, and every tool for a model trained on such images
  EXPECT_EQ(MakeTask("push", smooth)->sim().antialias(), 4);
  smooth.antialias = -1;  // a checkpoint from before the samples were recorded: the robot model's own
  EXPECT_EQ(MakeTask("push", smooth)->sim().antialias(), 0);
  smooth.antialias = 17;
  EXPECT_THROW(MakeTask("push", smooth), std::invalid_argument);
  // The block slid 2 mm at a time along the camera's line of sight, 20 times: how many of the
  // 64 x 64 images differ from the one before.
  auto changes = [](int samples) {
    TaskOptions o;
    o.antialias = samples;
    auto task = MakeTask("push", o);
    task->Reset(3);
    Simulation& s = task->sim();
    RenderOptions ro;
    ro.width = ro.height = 64;
    Renderer renderer(s.model(), ro);
    const Eigen::Vector3d start = s.object_pos(0);
    std::vector<uint8_t> last;
    int changed = 0;
    for (int k = 0; k <= 20; ++k) {
      s.SetObjectPosition(0, start + Eigen::Vector3d(0.002 * k, 0, 0), 0);
      auto image = renderer.Render(s.data(), s.camera_ids());
      if (!last.empty()) changed += image.rgb != last;
      last = image.rgb;
    }
    return changed;
  };
  const int sharp_changes = changes(0), smooth_changes = changes(4);
  EXPECT_LT(sharp_changes, 17) << "without anti-aliasing some 2 mm moves leave the image as it was";
  EXPECT_GE(smooth_changes, 19) << smooth_changes;
}

TEST_F(TaskSuccessTest, Reach2dSucceedsWhenDrivenToTheGoalPose) {
  auto task = MakeTask("reach2d");
  task->Reset(11);
  // Drive the joints toward the goal pose with delta actions: success must follow.
  const SimState goal = task->goal_state();
  Simulation probe(task->sim());
  probe.SetState(goal);
  const Eigen::VectorXd q_goal = probe.arm_qpos();
  for (int t = 0; t < task->info().episode_steps && !task->Success(); ++t) {
    Eigen::VectorXd dq = q_goal - task->sim().arm_qpos();
    dq[0] = std::remainder(dq[0], 2 * M_PI);
    task->Step(dq / 0.25);
  }
  EXPECT_TRUE(task->Success());
  EXPECT_LT(task->Distance(), 0.02);
}

TEST_F(TaskSuccessTest, PickPlaceNeedsALift) {
  auto task = MakeTask("pick_place");
  task->Reset(3);
  // Teleporting the block onto the goal without lifting it is not success.
  task->sim().SetObjectPosition(0, task->goal_position());
  EXPECT_LT(task->Distance(), 1e-6);
  EXPECT_FALSE(task->Success());
}

TEST_F(TaskSuccessTest, PushHoldsTheGripperClosedAndPickPlaceDrivesIt) {
  auto push = MakeTask("push");
  auto pick = MakeTask("pick_place");
  EXPECT_EQ(push->action_dim(), 3);
  EXPECT_EQ(pick->action_dim(), 4);
  push->Reset(2);
  pick->Reset(2);
  EXPECT_LT(push->sim().gripper_opening(), 0.002);  // closed from the first frame
  for (int t = 0; t < 5; ++t) {
    push->Step(Eigen::Vector3d(0.3, 0, -0.5));
    pick->Step(Eigen::Vector4d(0.3, 0, -0.5, -1));  // -1: open
  }
  EXPECT_LT(push->sim().gripper_opening(), 0.002);
  EXPECT_GT(pick->sim().gripper_opening(), 0.035);
  EXPECT_THROW(push->Step(Eigen::Vector4d(0, 0, 0, 1)), std::invalid_argument);
}

TEST_F(TaskSuccessTest, PushedBlockTravelsWithTheHand) {
  // A full-speed push (0.5 m/s) moves the block along with the fingers instead of throwing it.
  auto task = MakeTask("push");
  task->Reset(1);
  Simulation& sim = task->sim();
  sim.SetObjectPosition(0, {0.5, 0.0, 0.025});
  auto& space = static_cast<EndEffectorDeltaActionSpace&>(task->action_space());
  sim.SetArmPose(space.SolvePose(sim, {0.42, 0.0, 0.02}).q);
  for (int t = 0; t < 8; ++t) task->Step(Eigen::Vector3d(1, 0, 0));
  const double hand = sim.ee_pos().x(), block = sim.object_pos(0).x();
  EXPECT_GT(block - hand, 0.03);  // ahead of the fingers, in contact range
  EXPECT_LT(block - hand, 0.09);  // not thrown
  for (int t = 0; t < 10; ++t) task->Step(Eigen::Vector3d::Zero());
  // When the commands stop the hand halts within a step and the table's drag stops the block
  // soon after (without it the block slid on by itself 7.6 cm here, for as far as the contact
  // happened to throw it).
  std::printf("after the stop: block slid %.3f m\n", sim.object_pos(0).x() - block);
  EXPECT_LT(sim.object_pos(0).x() - block, 0.02);
  EXPECT_NEAR(sim.object_pos(0).z(), 0.025, 0.003);  // on the table, not tipped over
}

TEST_F(TaskSuccessTest, TheDragStopsASlidingBlockAndOnlyPushHasIt) {
  // A block sliding at 0.5 m/s on the table: with the push scene's drag it stops within 2 cm;
  // with friction alone (the pick-and-place scene) it slides several times as far.
  auto slide = [](bool drag) {
    robots::SceneOptions scene;
    scene.block = true;
    scene.block_drag = drag;
    Simulation sim(robots::MakeRobot("panda7", scene));
    sim.Reset();
    sim.SetObjectPosition(0, {0.5, -0.1, 0.025});
    const int dof = sim.model()->jnt_dofadr[mj_name2id(sim.model(), mjOBJ_JOINT, "block")];
    sim.data()->qvel[dof + 1] = 0.5;  // along +y, away from the arm
    sim.data()->qvel[dof + 5] = 3.0;  // spinning about its vertical axis
    for (int t = 0; t < 20; ++t) sim.Advance();
    return std::make_pair(sim.object_pos(0).y() + 0.1, sim.data()->qvel[dof + 1]);
  };
  const auto [with_drag, v_drag] = slide(true);
  const auto [without, v_free] = slide(false);
  std::printf("a block sliding at 0.5 m/s travels %.3f m with the drag, %.3f m without\n", with_drag, without);
  EXPECT_GT(with_drag, 0.005);  // it moved: a drag, not a brake
  EXPECT_LT(with_drag, 0.02);
  EXPECT_GT(without, 2 * with_drag);
  EXPECT_NEAR(v_drag, 0.0, 1e-3);  // at rest after a second
  EXPECT_NEAR(v_free, 0.0, 1e-3);
  EXPECT_TRUE(TaskRegistry().Get("push").scene.block_drag);
  EXPECT_FALSE(TaskRegistry().Get("pick_place").scene.block_drag);  // a lifted block would feel it
}

TEST_F(TaskSuccessTest, AnObjectIsPlacedTurnedAboutTheVertical) {
  // energy_map --yaw turns the block; the goal image's stays square to the table.
  auto task = MakeTask("push");
  task->Reset(1);
  Simulation& sim = task->sim();
  const int body = sim.model()->jnt_bodyid[mj_name2id(sim.model(), mjOBJ_JOINT, "block")];
  const double* x = sim.data()->xmat + 9 * body;  // the body's axes, row-major
  sim.SetObjectPosition(0, {0.5, 0.1, 0.025}, M_PI / 6);
  EXPECT_NEAR(sim.object_pos(0).y(), 0.1, 1e-9);
  EXPECT_NEAR(x[0], std::cos(M_PI / 6), 1e-9);  // its x axis turned 30 degrees toward +y
  EXPECT_NEAR(x[3], std::sin(M_PI / 6), 1e-9);
  EXPECT_NEAR(x[8], 1.0, 1e-9);                 // still upright
  EXPECT_NEAR(sim.object_yaw(0), M_PI / 6, 1e-9);
  EXPECT_NEAR(task->TrackedYaw(), M_PI / 6, 1e-9);  // what evaluate records
  sim.SetObjectPosition(0, {0.5, 0.1, 0.025}, -2.5);
  EXPECT_NEAR(sim.object_yaw(0), -2.5, 1e-9);
  sim.SetObjectPosition(0, {0.5, 0.1, 0.025});
  EXPECT_NEAR(x[0], 1.0, 1e-9);
  EXPECT_NEAR(x[3], 0.0, 1e-9);
  EXPECT_TRUE(std::isnan(MakeTask("reach3d")->TrackedYaw()));  // it tracks the end effector
}

TEST_F(TaskSuccessTest, TasksRunOnAnyRobotThatHasWhatTheyNeed) {
  // Joint-space reaching on the 7-DoF arm: poses within its limits, a goal 5 cm away or more.
  TaskOptions on_panda;
  on_panda.robot = "panda7";
  auto reach = MakeTask("reach2d", on_panda);
  EXPECT_EQ(reach->info().robot, "panda7");
  EXPECT_EQ(reach->action_dim(), 4);
  reach->Reset(3);
  EXPECT_GE(reach->Distance(), 0.05);
  const Eigen::VectorXd q = reach->sim().arm_qpos();
  for (int j = 0; j < q.size(); ++j) {
    if (reach->sim().arm_limited(j)) {
      EXPECT_GE(q[j], reach->sim().arm_lower()[j] + 0.2 - 1e-9) << j;
      EXPECT_LE(q[j], reach->sim().arm_upper()[j] - 0.2 + 1e-9) << j;
    }
  }
  // What a robot lacks is one clear error naming the task and the robot.
  TaskOptions on_reacher;
  on_reacher.robot = "reacher2d";
  auto expect_error = [&](const std::string& task, const std::string& words) {
    try {
      MakeTask(task, on_reacher);
      FAIL() << task << " was built on reacher2d";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    }
  };
  expect_error("reach3d", "task reach3d needs end-effector actions, robot reacher2d has joint_position_delta");
  expect_error("push", "task push on robot reacher2d: reacher2d has no block scene");
  on_reacher.robot = "ur5";
  expect_error("reach2d", "unknown robot 'ur5', expected one of: reacher2d, panda7");
}

TEST_F(TaskSuccessTest, AUsersRobotIsBuiltByTheTasks) {
  // reacher2d with twice the step size, registered from outside the library.
  robots::RobotRegistry().Add("reacher2d_fast", {[](const robots::SceneOptions& scene) {
                                                   robots::RobotSpec spec = robots::MakeReacher2d(scene);
                                                   spec.name = "reacher2d_fast";
                                                   spec.action_scale = {0.5, 0.5};
                                                   return spec;
                                                 },
                                                 "reach2d", "reacher2d, 0.5 rad steps"});
  EXPECT_EQ(DefaultTaskForRobot("reacher2d_fast"), "reach2d");
  TaskOptions o;
  o.robot = "reacher2d_fast";
  auto fast = MakeTask("reach2d", o), slow = MakeTask("reach2d");
  EXPECT_EQ(fast->info().robot, "reacher2d_fast");
  fast->Reset(1);
  slow->Reset(1);
  EXPECT_EQ(fast->sim().arm_qpos(), slow->sim().arm_qpos());  // same goals and starts per seed
  const Eigen::VectorXd before = slow->sim().arm_qpos();
  Eigen::VectorXd action(2);
  action << 0.5, 0.0;
  fast->Step(action);
  slow->Step(action);
  const double moved_fast = std::abs(fast->sim().arm_qpos()[0] - before[0]);
  const double moved_slow = std::abs(slow->sim().arm_qpos()[0] - before[0]);
  EXPECT_NEAR(moved_slow, 0.125, 0.02);
  EXPECT_NEAR(moved_fast, 0.25, 0.04);
}

TEST_F(TaskSuccessTest, UnknownTaskListsKnownOnes) {
  try {
    MakeTask("stack");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("pick_place"), std::string::npos);
  }
}

TEST_F(TaskSuccessTest, PushExplorationMovesTheBlockOften) {
  // The exploration data must be full of block motion, or a world model never needs the block:
  // the block moves in most episodes and in a good share of the frames.
  auto task = MakeTask("push");
  int moved = 0, moving_frames = 0, frames = 0;
  const int episodes = 20;
  for (int ep = 0; ep < episodes; ++ep) {
    task->Reset(100 + ep);
    ExplorationPolicy policy(task->action_dim(), 1000 + ep);
    policy.Reset(*task);
    const Eigen::Vector3d start = task->sim().object_pos(0);
    for (int t = 0; t < task->info().episode_steps; ++t) {
      const Eigen::VectorXd a = policy.Act(*task);
      ASSERT_TRUE((a.array().abs() <= 1.0).all());
      const Eigen::Vector3d before = task->sim().object_pos(0);
      task->Step(a);
      moving_frames += (task->sim().object_pos(0) - before).norm() > 0.002;
      ++frames;
    }
    moved += (task->sim().object_pos(0) - start).norm() > 0.01;
  }
  std::printf("block moved in %d of %d episodes, %d of %d frames\n", moved, episodes, moving_frames, frames);
  EXPECT_GE(moved, episodes * 8 / 10);
  EXPECT_GE(moving_frames, frames / 5);
}

}  // namespace
}  // namespace jepa_mpc::sim
