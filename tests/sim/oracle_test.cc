// The oracle cost: rollouts in copies of the true simulator.
#include "sim/oracle.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

namespace jepa_mpc::sim {
namespace {

TEST(OracleTest, CostMatchesAStepByStepRollout) {
  auto task = MakeTask("push");
  task->Reset(4);
  OracleCost oracle("push", 2);
  const int n = 3, h = 4, a = task->action_dim();
  std::vector<float> actions(n * h * a);
  for (size_t i = 0; i < actions.size(); ++i) actions[i] = std::sin(0.7 * i);
  const auto before = task->sim().GetState().qpos;
  auto costs = oracle.Evaluate(*task, actions.data(), n, h, a);
  auto summed = oracle.Evaluate(*task, actions.data(), n, h, a, {true, 0.0});
  auto shaped = oracle.Evaluate(*task, actions.data(), n, h, a, {false, 0.5});
  EXPECT_EQ(task->sim().GetState().qpos, before);  // the source is untouched
  for (int i = 0; i < n; ++i) {
    auto copy = MakeTask("push");
    copy->CopyStateFrom(*task);
    double total = 0;
    for (int t = 0; t < h; ++t) {
      Eigen::VectorXd act(a);
      for (int k = 0; k < a; ++k) act[k] = actions[(i * h + t) * a + k];
      copy->Step(act);
      total += copy->Distance();
    }
    EXPECT_DOUBLE_EQ(costs[i], copy->Distance()) << i;
    EXPECT_NEAR(summed[i], total, 1e-12) << i;
    // Shaped: the end effector's distance to the block, weighted, on top of the block's distance.
    const double reach = (copy->sim().ee_pos() - copy->sim().object_pos(0)).norm();
    EXPECT_NEAR(shaped[i], copy->Distance() + 0.5 * reach, 1e-12) << i;
    EXPECT_GT(reach, 0.0);
  }
}

TEST(OracleTest, RenderedRolloutsShowEachCandidatesTrueFutureAcrossCalls) {
  // What the perfect-predictor check scores: the frames a camera sees along each candidate. They
  // must be the frames of the same rollout stepped and rendered by hand, in [n][h] order, and a
  // second call (other worker threads, the same renderers) must see its own candidates.
  auto task = MakeTask("push");
  task->Reset(5);
  OracleCost oracle("push", 2);
  const int n = 3, h = 3, a = task->action_dim();
  RenderOptions ro;  // 64 x 64
  Renderer renderer(task->sim().model(), ro);
  const size_t image = 64 * 64 * 3;
  const auto before = task->sim().GetState().qpos;
  for (int call = 0; call < 2; ++call) {
    std::vector<float> actions(n * h * a);
    for (size_t i = 0; i < actions.size(); ++i) actions[i] = std::sin(0.9 * i + 2.0 * call);
    std::vector<bool> unstable;
    const std::vector<uint8_t> frames = oracle.RenderRollouts(*task, actions.data(), n, h, a, ro, &unstable);
    ASSERT_EQ(frames.size(), n * h * image);
    EXPECT_EQ(unstable, std::vector<bool>(n, false));
    EXPECT_EQ(task->sim().GetState().qpos, before);  // the source is untouched
    for (int i = 0; i < n; ++i) {
      auto copy = MakeTask("push");
      copy->CopyStateFrom(*task);
      for (int t = 0; t < h; ++t) {
        Eigen::VectorXd act(a);
        for (int k = 0; k < a; ++k) act[k] = actions[(i * h + t) * a + k];
        copy->Step(act);
        const Image expected = renderer.Render(copy->sim().data(), copy->sim().camera_ids());
        const uint8_t* got = frames.data() + (i * h + t) * image;
        EXPECT_TRUE(std::equal(expected.rgb.begin(), expected.rgb.end(), got)) << "call " << call << " candidate " << i << " step " << t;
      }
    }
    // Candidates differ, so their last frames do too (the hand moves a few cm per step).
    EXPECT_FALSE(std::equal(frames.begin() + (h - 1) * image, frames.begin() + h * image,
                            frames.begin() + (2 * h - 1) * image));
  }
}

TEST(OracleTest, EveryCandidateIsScoredWhateverTheWorkerCount) {
  // The workers split the candidates by stride; more candidates than workers, and a count that
  // does not divide, must give each candidate the cost one worker gives it.
  auto task = MakeTask("reach2d");
  task->Reset(2);
  const int n = 13, h = 3, a = task->action_dim();
  std::vector<float> actions(n * h * a);
  for (size_t i = 0; i < actions.size(); ++i) actions[i] = std::cos(1.3 * i);
  OracleCost one("reach2d", 1), three("reach2d", 3);
  const auto expected = one.Evaluate(*task, actions.data(), n, h, a, {true, 0.0});
  EXPECT_EQ(three.Evaluate(*task, actions.data(), n, h, a, {true, 0.0}), expected);
  EXPECT_EQ(three.Evaluate(*task, actions.data(), 2, h, a, {true, 0.0}),
            std::vector<double>(expected.begin(), expected.begin() + 2));
  EXPECT_TRUE(three.Evaluate(*task, actions.data(), 0, h, a).empty());
}

TEST(OracleTest, RealErrorsSurfaceInsteadOfBecomingInfiniteCosts) {
  // Only diverged physics (SimulationUnstable) is an infinite cost; a task the oracle cannot copy
  // is a caller's error and must reach the caller from the worker threads.
  auto pick = MakeTask("pick_place");
  pick->Reset(1);
  OracleCost oracle("reach3d", 2);
  ASSERT_EQ(pick->action_dim(), 4);
  std::vector<float> actions(4 * 3 * 4, 0.f);
  EXPECT_THROW(oracle.Evaluate(*pick, actions.data(), 4, 3, 4), std::invalid_argument);
}

}  // namespace
}  // namespace jepa_mpc::sim
