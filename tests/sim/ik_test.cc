#include <gtest/gtest.h>

#include <random>

#include "sim/action_space.h"
#include "sim/ik.h"
#include "tests/sim/mujoco_fixture.h"

namespace jepa_mpc::sim {
namespace {

class IkTest : public MujocoTest {};

TEST_F(IkTest, ReachesForwardKinematicsTargetsWithinOneMillimetre) {
  // Targets made by forward kinematics of random joint angles are reachable by construction.
  Simulation sim(robots::MakeRobot("panda7"));
  DifferentialIk ik(sim);
  std::mt19937 rng(7);
  const Eigen::VectorXd lo = sim.arm_lower(), hi = sim.arm_upper();
  const Eigen::VectorXd home = sim.arm_qpos();
  int converged = 0;
  for (int i = 0; i < 40; ++i) {
    Eigen::VectorXd q(7);
    for (int j = 0; j < 7; ++j) {
      // Stay near home so targets lie in front of the robot, as tasks use them.
      const double mid = home[j], half = 0.6;
      q[j] = std::clamp(std::uniform_real_distribution<double>(mid - half, mid + half)(rng), lo[j], hi[j]);
    }
    Simulation probe(sim);
    probe.SetArmPose(q);
    const Eigen::Vector3d target = probe.ee_pos();
    IkResult r = ik.Solve(sim, home, target);
    EXPECT_LT(r.position_error, 1e-3) << "target " << target.transpose();
    for (int j = 0; j < 7; ++j) {
      EXPECT_GE(r.q[j], lo[j]);
      EXPECT_LE(r.q[j], hi[j]);
    }
    probe.SetArmPose(r.q);
    EXPECT_LT((probe.ee_pos() - target).norm(), 1e-3);
    converged += r.converged;
  }
  EXPECT_GE(converged, 38);
}

TEST_F(IkTest, HoldsOrientationAcrossTheWorkspace) {
  Simulation sim(robots::MakeRobot("panda7"));
  EndEffectorDeltaActionSpace space(sim);
  std::mt19937 rng(3);
  const auto& w = sim.spec().workspace;
  for (int i = 0; i < 30; ++i) {
    auto u = [&](double a, double b) { return std::uniform_real_distribution<double>(a, b)(rng); };
    const Eigen::Vector3d target(u(w[0] + 0.03, w[1] - 0.03), u(w[2] + 0.03, w[3] - 0.03),
                                 u(w[4] + 0.03, w[5] - 0.03));
    IkResult r = space.SolvePose(sim, target);
    EXPECT_LT(r.position_error, 1e-3) << target.transpose();
    EXPECT_LT(r.rotation_error, 1e-2) << target.transpose();
  }
}

TEST_F(IkTest, ServosDriveTheEndEffectorToTheIkSolution) {
  // Closed loop through the physics: set the IK solution as servo targets and let it settle.
  Simulation sim(robots::MakeRobot("panda7"));
  EndEffectorDeltaActionSpace space(sim);
  const Eigen::Vector3d target(0.5, 0.15, 0.15);
  IkResult r = space.SolvePose(sim, target);
  ASSERT_TRUE(r.converged);
  sim.SetArmTargets(r.q);
  for (int i = 0; i < 30; ++i) sim.Advance();
  EXPECT_LT((sim.ee_pos() - target).norm(), 1e-3);
}

TEST_F(IkTest, EndEffectorDeltaActionsMoveTheEndEffector) {
  Simulation sim(robots::MakeRobot("panda7"));
  auto space = ActionSpace::Make(sim);
  ASSERT_EQ(space->dim(), 4);
  const Eigen::Vector3d start = sim.ee_pos();
  Eigen::VectorXd a(4);
  a << 1.0, 0.0, -1.0, -1.0;
  for (int i = 0; i < 4; ++i) space->Step(sim, a);
  const Eigen::Vector3d moved = sim.ee_pos() - start;
  // 4 steps of 2.5 cm along +x and -z.
  EXPECT_NEAR(moved.x(), 0.1, 0.015);
  EXPECT_NEAR(moved.z(), -0.1, 0.015);
  EXPECT_NEAR(moved.y(), 0.0, 0.005);
}

TEST_F(IkTest, JointDeltaActionsSettleWithinOneControlPeriod) {
  // One image must show the whole state: after one action the arm is (nearly) at its target.
  Simulation sim(robots::MakeRobot("reacher2d"));
  auto space = ActionSpace::Make(sim);
  Eigen::VectorXd a(2);
  a << 1.0, -1.0;
  const Eigen::VectorXd q0 = sim.arm_qpos();
  space->Step(sim, a);
  const Eigen::VectorXd dq = sim.arm_qpos() - q0;
  EXPECT_NEAR(dq[0], 0.25, 0.02);
  EXPECT_NEAR(dq[1], -0.25, 0.02);
  for (int i = 0; i < 2; ++i) EXPECT_LT(std::abs(sim.data()->qvel[i]), 0.5);
}

TEST_F(IkTest, ActionsAreValidated) {
  Simulation sim(robots::MakeRobot("reacher2d"));
  auto space = ActionSpace::Make(sim);
  EXPECT_THROW(space->Step(sim, Eigen::VectorXd::Zero(3)), std::invalid_argument);
  Eigen::VectorXd nan(2);
  nan << 0.0, std::nan("");
  EXPECT_THROW(space->Step(sim, nan), std::invalid_argument);
}

}  // namespace
}  // namespace jepa_mpc::sim
