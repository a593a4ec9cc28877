#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sim/mj.h"
#include "sim/simulation.h"
#include "tests/sim/mujoco_fixture.h"

namespace jepa_mpc::sim {
namespace {

using ::testing::HasSubstr;

class MjTest : public MujocoTest {};

TEST_F(MjTest, LoadsTinyModelFromString) {
  ModelPtr m = LoadModelFromString(R"(<mujoco><worldbody>
      <body><freejoint/><geom type="sphere" size="0.1"/></body></worldbody></mujoco>)");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->nq, 7);
  DataPtr d = MakeData(m.get());
  mj_step(m.get(), d.get());
  EXPECT_LT(d->qpos[2], 0.0);  // falls under gravity
}

TEST_F(MjTest, MalformedXmlThrowsWithMujocoMessage) {
  try {
    LoadModelFromString("<mujoco><worldbody><geom type='sphere'></worldbody>", "test MJCF");
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("test MJCF is not a valid MuJoCo model"));
    EXPECT_THAT(e.what(), HasSubstr("XML_ERROR_MISMATCHED_ELEMENT"));  // MuJoCo's own words
  }
}

TEST_F(MjTest, SemanticErrorThrowsWithMujocoMessage) {
  try {
    LoadModelFromString("<mujoco><worldbody><geom type='box'/></worldbody></mujoco>");
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("size"));  // MuJoCo: box needs a size
  }
}

TEST_F(MjTest, MissingFileNamesThePath) {
  try {
    LoadModelFromFile("/nonexistent/robot.xml");
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("/nonexistent/robot.xml"));
  }
}

TEST_F(MjTest, MujocoErrorBecomesException) {
  // mju_error would call exit() by default; our handler throws instead.
  EXPECT_THROW(mju_error("deliberate"), std::runtime_error);
}

TEST_F(MjTest, SpecNamesMissingFromModelAreReported) {
  robots::RobotSpec spec = robots::MakeRobot("reacher2d");
  spec.end_effector_site = "no_such_site";
  try {
    Simulation sim(spec);
    FAIL() << "expected an exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("no_such_site"));
  }
}

TEST_F(MjTest, UnknownRobotListsKnownOnes) {
  try {
    robots::MakeRobot("ur5");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("reacher2d"));
    EXPECT_THAT(e.what(), HasSubstr("panda7"));
  }
}

TEST_F(MjTest, CopiedSimulationEvolvesIdentically) {
  Simulation a(robots::MakeRobot("panda7", {true, 256, {}, false}));
  Eigen::VectorXd target = a.arm_qpos();
  target[0] += 0.3;
  a.SetArmTargets(target);
  Simulation b(a);
  for (int i = 0; i < 5; ++i) {
    a.Advance();
    b.Advance();
  }
  EXPECT_EQ(a.GetState().qpos, b.GetState().qpos);
  EXPECT_GT(a.arm_qpos()[0], 0.1);
}

TEST_F(MjTest, StateRoundTrips) {
  Simulation sim(robots::MakeRobot("reacher2d"));
  Eigen::VectorXd q(2);
  q << 0.5, -1.0;
  sim.SetArmPose(q);
  const SimState s = sim.GetState();
  sim.Reset();
  sim.SetState(s);
  EXPECT_EQ(sim.GetState().qpos, s.qpos);
  EXPECT_NEAR(sim.arm_qpos()[1], -1.0, 1e-12);
}

}  // namespace
}  // namespace jepa_mpc::sim
