// Bring your own arm: descriptions read from files, defaults inferred from the model, the PD
// layer of motor- and velocity-driven arms, the added camera, and one-line errors.
#include "sim/robot_description.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "sim/action_space.h"
#include "sim/renderer.h"
#include "sim/task.h"
#include "tests/temp_dir.h"

namespace jepa_mpc::sim {
namespace {

using ::testing::HasSubstr;

const std::string kArms = ARMS_DIR;

void Write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// Steps the arm toward a joint target with joint-delta actions and returns the largest joint
// error left at the end of each control period.
double TrackingError(Task& task, const Eigen::VectorXd& action) {
  Simulation& sim = task.sim();
  const Eigen::VectorXd target = (sim.arm_qpos() + action.cwiseProduct(Eigen::Map<const Eigen::VectorXd>(
                                                        sim.spec().action_scale.data(), action.size())))
                                     .cwiseMax(sim.arm_lower())
                                     .cwiseMin(sim.arm_upper());
  task.Step(action);
  return (sim.arm_qpos() - target).cwiseAbs().maxCoeff();
}

TEST(RobotDescriptionTest, AMotorArmWithNoCameraAndNoSitesGetsEveryDefault) {
  const auto spec = LoadRobotDescription(kArms + "/planar3.xml");
  EXPECT_EQ(spec.name, kArms + "/planar3.xml");
  EXPECT_EQ(spec.arm_joints, (std::vector<std::string>{"shoulder", "elbow", "wrist"}));
  EXPECT_EQ(spec.arm_actuators, spec.arm_joints);
  EXPECT_EQ(spec.arm_drive, robots::Drive::kMotor);
  ASSERT_EQ(spec.pd_kp.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_GT(spec.pd_kp[i], 0) << i;
  // The tip of the last link: its capsule's end (7 cm) plus its radius.
  EXPECT_TRUE(spec.end_effector_site.empty());
  EXPECT_EQ(spec.end_effector_body, "link3");
  EXPECT_NEAR(spec.end_effector_offset[0], 0.079, 1e-9);
  // No camera in the model: one is added, looking straight down at a flat arm.
  EXPECT_EQ(spec.cameras, std::vector<std::string>{robots::kAddedCamera});
  EXPECT_EQ(spec.added_camera.elevation, -90);
  EXPECT_EQ(spec.action_mode, robots::ActionMode::kJointPositionDelta);
  EXPECT_EQ(spec.home_qpos, (std::vector<double>{0, 0, 0}));
  EXPECT_EQ(DescriptionTask(kArms + "/planar3.xml"), "reach");
  // Ranges in degrees in the MJCF arrive in radians; the workspace spans the arm's reach.
  Simulation sim(spec);
  EXPECT_NEAR(sim.arm_upper()[0], 110 * M_PI / 180, 1e-9);
  EXPECT_GT(spec.workspace[1] - spec.workspace[0], 0.3);
  EXPECT_NEAR((sim.ee_pos() - Eigen::Vector3d(0.12 + 0.1 + 0.079, 0, 0.03)).norm(), 0, 1e-9);
}

TEST(RobotDescriptionTest, ThePdLayerMakesMotorsTrackJointTargetsWithinAControlPeriod) {
  auto task = MakeTask("reach", {256, "", kArms + "/planar3.xml", ""});
  task->Reset(3);
  Eigen::VectorXd a(3);
  a << 1, -1, 0.5;
  for (int t = 0; t < 4; ++t) EXPECT_LT(TrackingError(*task, a), 0.03) << t;
  // Without the PD layer the motors would get the joint targets as torques.
  const Eigen::VectorXd q = task->sim().arm_qpos();
  for (int t = 0; t < 5; ++t) task->Step(Eigen::VectorXd::Zero(3));
  EXPECT_LT((task->sim().arm_qpos() - q).cwiseAbs().maxCoeff(), 0.02);  // holds still
}

TEST(RobotDescriptionTest, VelocityServosAndAModelSplitOverIncludedFiles) {
  const auto spec = LoadRobotDescription(kArms + "/split/split.xml");
  EXPECT_EQ(spec.arm_drive, robots::Drive::kVelocity);
  EXPECT_EQ(spec.end_effector_site, "tip");
  EXPECT_EQ(spec.cameras, std::vector<std::string>{"overview"});
  EXPECT_EQ(spec.home_qpos, (std::vector<double>{0, 0.5, 1.0, 0.5}));  // keyframe "home"
  EXPECT_NEAR(spec.workspace[4], 0.02, 1e-12);  // 2 cm above the floor
  auto task = MakeTask("reach", {256, "", kArms + "/split/split.xml", ""});
  task->Reset(5);
  Eigen::VectorXd a(4);
  a << -0.5, 0.6, -0.8, 1;
  for (int t = 0; t < 4; ++t) EXPECT_LT(TrackingError(*task, a), 0.05) << t;
}

TEST(RobotDescriptionTest, ASixDofArmWithServosDefaultClassesAndItsOwnCameras) {
  const auto spec = LoadRobotDescription(kArms + "/arm6.json");
  EXPECT_EQ(spec.name, kArms + "/arm6.json");
  EXPECT_EQ(spec.mjcf_file, kArms + "/arm6.xml");
  EXPECT_EQ(spec.arm_joints.size(), 6u);
  EXPECT_EQ(spec.arm_drive, robots::Drive::kPosition);
  EXPECT_EQ(spec.cameras, (std::vector<std::string>{"view", "side"}));
  EXPECT_EQ(spec.end_effector_site, "tool");
  EXPECT_EQ(spec.action_mode, robots::ActionMode::kEndEffectorDelta);
  EXPECT_EQ(DescriptionTask(kArms + "/arm6.json"), "reach3d");
  // The MJCF alone: joint-delta actions, the model's first camera, goals drawn in joint space
  // with the end effector in the workspace.
  auto task = MakeTask("reach", {256, "", kArms + "/arm6.xml", ""});
  EXPECT_EQ(task->action_dim(), 6);
  EXPECT_EQ(task->sim().camera_label(), "view");
  for (uint64_t seed = 0; seed < 5; ++seed) {
    task->Reset(seed);
    const auto& w = task->sim().spec().workspace;
    const Eigen::Vector3d goal = task->goal_position(), ee = task->sim().ee_pos();
    for (const Eigen::Vector3d& p : {goal, ee}) {
      EXPECT_TRUE(p.x() >= w[0] && p.x() <= w[1] && p.y() >= w[2] && p.y() <= w[3] && p.z() >= w[4] && p.z() <= w[5]);
    }
    EXPECT_GE((goal - ee).norm(), 0.05);
  }
}

TEST(RobotDescriptionTest, EndEffectorActionsThroughIkOnAUsersArm) {
  auto task = MakeTask("reach3d", {256, "", kArms + "/arm6.json", ""});
  ASSERT_EQ(task->action_dim(), 3);
  task->Reset(2);
  // Goals in the workspace box, reached by IK: the goal state puts the end effector there.
  const auto& w = task->sim().spec().workspace;
  EXPECT_GE(task->goal_position().x(), w[0]);
  EXPECT_LE(task->goal_position().z(), w[5]);
  for (int axis = 0; axis < 3; ++axis) {
    const Eigen::Vector3d before = task->sim().ee_pos();
    Eigen::VectorXd a = Eigen::VectorXd::Zero(3);
    a[axis] = (before[axis] < 0.5 * (w[2 * axis] + w[2 * axis + 1])) ? 1 : -1;
    task->Step(a);
    const Eigen::Vector3d moved = task->sim().ee_pos() - before;
    // 2.5 cm along the commanded axis, little along the others.
    EXPECT_NEAR(moved[axis], a[axis] * 0.025, 0.006) << axis;
    EXPECT_LT((moved - moved[axis] * Eigen::Vector3d::Unit(axis)).norm(), 0.006) << axis;
  }
}

TEST(RobotDescriptionTest, TheAddedCameraSeesTheArmMove) {
  auto task = MakeTask("reach", {256, "", kArms + "/planar3.xml", ""});
  task->Reset(1);
  ASSERT_EQ(task->sim().camera_ids(), std::vector<int>{-1});
  Renderer renderer(task->sim().model());
  const Image start = renderer.Render(task->sim().data(), task->sim().camera_ids());
  const Image goal = task->RenderGoal(renderer);
  int differing = 0, coloured = 0;
  for (size_t i = 0; i < start.rgb.size(); i += 3) {
    differing += std::abs(start.rgb[i] - goal.rgb[i]) + std::abs(start.rgb[i + 2] - goal.rgb[i + 2]) > 60;
    coloured += start.rgb[i + 2] > start.rgb[i] + 60;  // the blue upper link
  }
  EXPECT_GT(coloured, 10);
  EXPECT_GT(differing, 10);
}

TEST(RobotDescriptionTest, DescriptionFieldsOverrideTheDefaults) {
  testing::TempDir dir("robot_description");
  Write(dir / "arm.json", R"({"mjcf": ")" + kArms + R"(/planar3.xml",
    "arm_joints": ["shoulder", "elbow"], "pd_gains": {"kp": 50, "kd": [1, 0.5]},
    "end_effector": "link2", "end_effector_offset": [0.1, 0, 0], "home": [0.3, -0.2],
    "workspace": [-0.2, 0.2, -0.2, 0.2, 0, 0.06], "control_period": 0.04, "action_scale": 0.2,
    "added_camera": {"distance": 1.2, "elevation": -60}, "task": "reach2d"})");
  const auto spec = LoadRobotDescription(dir / "arm.json");
  EXPECT_EQ(spec.arm_joints, (std::vector<std::string>{"shoulder", "elbow"}));
  EXPECT_EQ(spec.pd_kp, (std::vector<double>{50, 50}));
  EXPECT_EQ(spec.pd_kd, (std::vector<double>{1, 0.5}));
  EXPECT_EQ(spec.end_effector_body, "link2");
  EXPECT_EQ(spec.home_qpos, (std::vector<double>{0.3, -0.2}));
  EXPECT_EQ(spec.workspace[5], 0.06);
  EXPECT_EQ(spec.control_period, 0.04);
  EXPECT_EQ(spec.action_scale, (std::vector<double>{0.2, 0.2}));
  EXPECT_EQ(spec.added_camera.distance, 1.2);
  EXPECT_EQ(spec.added_camera.elevation, -60);
  EXPECT_EQ(DescriptionTask(dir / "arm.json"), "reach2d");
}

// Every bad description is one line naming the file and what is wrong.
TEST(RobotDescriptionTest, BadDescriptionsGiveOneLineErrorsNamingTheFileAndField) {
  testing::TempDir dir("robot_description_bad");
  const std::string arm = R"(<mujoco><worldbody><body name="b"><joint name="j" axis="0 0 1" @RANGE@/>
      <geom type="capsule" fromto="0 0 0 0.1 0 0" size="0.01"/></body></worldbody>@ACT@</mujoco>)";
  auto model = [&](const std::string& name, const std::string& range, const std::string& act) {
    std::string text = arm;
    text.replace(text.find("@RANGE@"), 7, range);
    text.replace(text.find("@ACT@"), 5, act);
    Write(dir / name, text);
    return dir / name;
  };
  const std::string actuator = R"(<actuator><position name="a" joint="j"/></actuator>)";
  const std::string good = model("good.xml", R"(limited="true" range="-1 1")", actuator);
  const std::string no_actuators = model("no_actuators.xml", R"(limited="true" range="-1 1")", "");
  const std::string unlimited = model("unlimited.xml", "", actuator);
  Write(dir / "unknown_ee.json", R"({"mjcf": "good.xml", "end_effector": "gripper_tip"})");
  Write(dir / "typo.json", R"({"mjcf": "good.xml", "end_efector": "b"})");
  Write(dir / "no_mjcf.json", R"({"end_effector": "b"})");
  Write(dir / "home.json", R"({"mjcf": "good.xml", "home": [2.0]})");
  Write(dir / "scale.json", R"({"mjcf": "good.xml", "action_scale": [0.1, 0.1]})");
  Write(dir / "not_json.json", "{mjcf: good.xml");
  Write(dir / "newer.xml", R"(<mujoco><worldbody><body name="b"><joint name="j" range="-1 1"/>
      <geom type="capsule" fromto="0 0 0 0.1 0 0" size="0.01"/></body></worldbody>
      <actuator><position name="a" joint="j"/></actuator><extension/></mujoco>)");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {no_actuators, "no_actuators.xml has no actuators; an arm needs one per joint"},
      {unlimited, "\"joint_ranges\" does not give arm joint 'j' a range, and unlimited.xml leaves it unlimited"},
      {dir / "unknown_ee.json", "unknown_ee.json: \"end_effector\" names 'gripper_tip', which is neither a site nor a body of good.xml"},
      {dir / "typo.json", "typo.json: unknown field \"end_efector\", expected one of: mjcf, "},
      {dir / "no_mjcf.json", "no_mjcf.json: \"mjcf\" is missing"},
      {dir / "home.json", "home.json: \"home\" puts joint 'j' at 2.000000, outside its range"},
      {dir / "scale.json", "scale.json: \"action_scale\" must be 1 numbers (or one number)"},
      {dir / "not_json.json", "not_json.json: not a JSON object"},
      {dir / "missing.json", "robot description '" + (dir / "missing.json") + "' does not exist"},
      {dir / "newer.xml", "could not be loaded by MuJoCo " + std::string(mj_versionString())},
  };
  EXPECT_NO_THROW(LoadRobotDescription(good));
  for (const auto& [file, message] : cases) {
    try {
      LoadRobotDescription(file);
      ADD_FAILURE() << file << " was accepted";
    } catch (const std::exception& e) {
      EXPECT_THAT(e.what(), HasSubstr(message)) << file;
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    }
  }
  // Through the task registry, as collect, train and evaluate build robots.
  EXPECT_THROW(MakeTask("reach", {256, "", no_actuators, ""}), std::invalid_argument);
  EXPECT_THROW(MakeTask("reach3d", {256, "", good, ""}), std::invalid_argument);  // joint actions only
}

}  // namespace
}  // namespace jepa_mpc::sim
