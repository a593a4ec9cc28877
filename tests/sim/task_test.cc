#include <gtest/gtest.h>

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
      // Goal image shows the block on the table, the arm away from it.
      EXPECT_NEAR(task->goal_position().z(), 0.02, 1e-9);
      EXPECT_GT((sim.ee_pos() - task->goal_position()).norm(), 0.1);
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

INSTANTIATE_TEST_SUITE_P(AllTasks, TaskTest,
                         ::testing::Values("reach2d", "reach3d", "push", "pick_place"));

class TaskSuccessTest : public MujocoTest {};

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

TEST_F(TaskSuccessTest, UnknownTaskListsKnownOnes) {
  try {
    MakeTask("stack");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("pick_place"), std::string::npos);
  }
}

TEST_F(TaskSuccessTest, PushExplorationTouchesTheBlock) {
  // The exploration data must hold contacts with the block, or a world model never sees pushes.
  auto task = MakeTask("push");
  int moved = 0;
  for (int ep = 0; ep < 10; ++ep) {
    task->Reset(100 + ep);
    ExplorationPolicy policy(task->action_dim(), 1000 + ep);
    policy.Reset(*task);
    const Eigen::Vector3d start = task->sim().object_pos(0);
    for (int t = 0; t < task->info().episode_steps; ++t) {
      const Eigen::VectorXd a = policy.Act(*task);
      ASSERT_TRUE((a.array().abs() <= 1.0).all());
      task->Step(a);
    }
    moved += (task->sim().object_pos(0) - start).norm() > 0.01;
  }
  EXPECT_GE(moved, 3);
}

}  // namespace
}  // namespace jepa_mpc::sim
