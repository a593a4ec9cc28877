// The receding-horizon helper: action repeat, warm starts and the refiner.
#include <gtest/gtest.h>

#include "planner/cem.h"
#include "planner/chain.h"
#include "planner/gradient.h"
#include "planner/mpc.h"

namespace jepa_mpc::planner {
namespace {

PlannerOptions Opts(int64_t H, int64_t A, int64_t iterations) {
  PlannerOptions o;
  o.horizon = H;
  o.action_dim = A;
  o.iterations = iterations;
  return o;
}

TEST(MpcTest, ExpandHoldsEachActionForItsSteps) {
  auto a = torch::tensor({10.f, 20.f, 30.f}).reshape({1, 3, 1});
  EXPECT_TRUE(torch::equal(RecedingHorizon::Expand(a, 1, 0), a));
  auto full = RecedingHorizon::Expand(a, 2, 0).flatten();
  EXPECT_TRUE(torch::equal(full, torch::tensor({10.f, 10.f, 20.f, 20.f, 30.f, 30.f})));
  // One step of the first action already applied: it has one step left.
  auto rest = RecedingHorizon::Expand(a, 3, 1).flatten();
  EXPECT_TRUE(torch::equal(rest, torch::tensor({10.f, 10.f, 20.f, 20.f, 20.f, 30.f, 30.f, 30.f})));
}

TEST(MpcTest, CostSeesControlStepsAndThePlanShiftsOncePerHeldAction) {
  // The cost asks every control step to equal the step's index / 10: with a repeat of 2 the
  // best plan of 3 actions holds each for two steps, so each planned action is the mean of two.
  int step = 0;
  std::vector<int64_t> lengths;
  const BatchCost cost = [&](const torch::Tensor& a) {
    lengths.push_back(a.size(1));
    auto target = (torch::arange(a.size(1)).to(torch::kFloat32) + step) / 10.0;
    return (a.select(2, 0) - target).pow(2).sum(1);
  };
  CemOptions co;
  co.samples = 256;
  co.elites = 16;
  RecedingHorizon mpc(std::make_unique<Cem>(Opts(3, 1, 20), co), 2);
  auto first = mpc.Step(cost);
  EXPECT_EQ(lengths.back(), 6);
  EXPECT_NEAR(first[0].item<float>(), 0.05, 0.03);  // mean of 0.0 and 0.1
  step = 1;
  mpc.Step(cost);
  EXPECT_EQ(lengths.back(), 5);  // the first action has one step left
  step = 2;
  mpc.Step(cost);
  EXPECT_EQ(lengths.back(), 6);  // shifted: a fresh held action
  EXPECT_NEAR(mpc.plan()[0][0].item<float>(), 0.25, 0.03);
  mpc.Reset();
  EXPECT_FALSE(mpc.plan().defined());
}

TEST(MpcTest, AChainedRefinerOnlyImproves) {
  auto target = torch::tensor({{0.3f}, {-0.2f}, {0.6f}, {0.1f}});
  const BatchCost bowl = [&](const torch::Tensor& a) { return (a - target).pow(2).sum({1, 2}); };
  CemOptions co;
  co.samples = 8;  // too few to get close alone
  co.elites = 2;
  RecedingHorizon coarse(std::make_unique<Cem>(Opts(4, 1, 1), co));
  RecedingHorizon refined(std::make_unique<Chain>(std::make_unique<Cem>(Opts(4, 1, 1), co),
                                                  std::make_unique<GradientDescent>(Opts(4, 1, 50))));
  coarse.Step(bowl);
  refined.Step(bowl);
  EXPECT_LE(refined.last().cost, coarse.last().cost);
  EXPECT_LT(refined.last().cost, 1e-3);
  EXPECT_GT(refined.last().evaluations, coarse.last().evaluations);  // both stages counted
  EXPECT_THROW(Chain(std::make_unique<Cem>(Opts(4, 1, 1)), std::make_unique<Cem>(Opts(5, 1, 1))),
               std::invalid_argument);
  EXPECT_THROW(Chain(nullptr, std::make_unique<Cem>(Opts(4, 1, 1))), std::invalid_argument);
  EXPECT_THROW(RecedingHorizon(nullptr), std::invalid_argument);
  EXPECT_THROW(RecedingHorizon(std::make_unique<Cem>(Opts(4, 1, 1)), 0), std::invalid_argument);
}

}  // namespace
}  // namespace jepa_mpc::planner
