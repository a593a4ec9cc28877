#include <gtest/gtest.h>

#include <cmath>

#include "planner/cem.h"
#include "planner/factory.h"
#include "planner/gradient.h"

namespace jepa_mpc::planner {
namespace {

// Quadratic bowl around target [H, A]: cost = sum (a - target)^2.
BatchCost Bowl(const torch::Tensor& target) {
  return [target](const torch::Tensor& a) { return (a - target).pow(2).sum({1, 2}); };
}

// Rastrigin in [-1, 1]^2 around (0.5, -0.4): many local minima, one global.
torch::Tensor Rastrigin(const torch::Tensor& a) {
  auto x = (a.select(1, 0) - torch::tensor({0.5f, -0.4f})) * 4.0;
  return (x.pow(2) - 10 * torch::cos(2 * M_PI * x) + 10).sum(1);
}

PlannerOptions Opts(int64_t H, int64_t A, int64_t iterations, uint64_t seed = 0) {
  PlannerOptions o;
  o.horizon = H;
  o.action_dim = A;
  o.iterations = iterations;
  o.seed = seed;
  return o;
}

template <typename P>
class PlannerTest : public ::testing::Test {
 public:
  static std::unique_ptr<Planner> Make(PlannerOptions o) { return std::make_unique<P>(o); }
};
using Planners = ::testing::Types<Cem, Mppi>;
TYPED_TEST_SUITE(PlannerTest, Planners);

TYPED_TEST(PlannerTest, MinimisesAQuadraticBowl) {
  auto target = torch::tensor({{0.3f, -0.5f}, {0.8f, 0.1f}, {-0.6f, 0.0f}, {0.2f, 0.9f}});
  auto p = TestFixture::Make(Opts(4, 2, 15));
  PlanResult r = p->Plan(Bowl(target));
  EXPECT_LT((r.actions - target).abs().max().item<double>(), 0.05) << r.actions;
  EXPECT_EQ(r.iterations, 15);
  EXPECT_FALSE(r.all_nonfinite);
}

TYPED_TEST(PlannerTest, StaysWithinBounds) {
  // The bowl's centre lies outside [-1, 1]: the plan ends on the boundary, never beyond.
  auto target = torch::full({3, 2}, 1.7f);
  target[1][0] = -2.5f;
  auto p = TestFixture::Make(Opts(3, 2, 10));
  PlanResult r = p->Plan(Bowl(target));
  EXPECT_LE(r.actions.abs().max().item<double>(), 1.0);
  EXPECT_NEAR(r.actions[0][0].item<double>(), 1.0, 0.05);
  EXPECT_NEAR(r.actions[1][0].item<double>(), -1.0, 0.05);
}

TYPED_TEST(PlannerTest, FindsTheGlobalMinimumOfANonConvexFunction) {
  auto p = TestFixture::Make(Opts(1, 2, 12, 3));
  PlanResult r = p->Plan(Rastrigin);
  EXPECT_NEAR(r.actions[0][0].item<double>(), 0.5, 0.05) << r.actions;
  EXPECT_NEAR(r.actions[0][1].item<double>(), -0.4, 0.05) << r.actions;
}

TYPED_TEST(PlannerTest, DeterministicPerSeed) {
  auto target = torch::rand({5, 3}) * 2 - 1;
  auto a = TestFixture::Make(Opts(5, 3, 3, 11))->Plan(Bowl(target)).actions;
  auto b = TestFixture::Make(Opts(5, 3, 3, 11))->Plan(Bowl(target)).actions;
  auto c = TestFixture::Make(Opts(5, 3, 3, 12))->Plan(Bowl(target)).actions;
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a, c));
}

TYPED_TEST(PlannerTest, WarmStartNeedsFewerIterationsOnAShiftedProblem) {
  // A moving target: at control step k the plan must follow target[k .. k+H).
  const int64_t H = 8;
  auto path = torch::linspace(-0.8, 0.8, H + 1).view({H + 1, 1}).expand({H + 1, 2}).contiguous();
  auto first = path.narrow(0, 0, H), shifted = path.narrow(0, 1, H);
  auto iterations_to = [&](const torch::Tensor& target, const torch::Tensor& warm) {
    for (int64_t k = 1; k <= 30; ++k) {
      PlanResult r = TestFixture::Make(Opts(H, 2, k, 5))->Plan(Bowl(target), warm);
      if (r.cost < 0.01) return k;
    }
    return int64_t{31};
  };
  PlanResult solved = TestFixture::Make(Opts(H, 2, 30, 5))->Plan(Bowl(first));
  ASSERT_LT(solved.cost, 0.01);
  const int64_t cold = iterations_to(shifted, {});
  const int64_t warm = iterations_to(shifted, Planner::Shift(solved.actions));
  EXPECT_LT(warm, cold) << "warm " << warm << " cold " << cold;
}

TYPED_TEST(PlannerTest, TimeBudgetBoundsTheIterations) {
  // A fake clock that the cost advances by 10 ms per call: a 50 ms budget allows 5 iterations.
  double now = 0;
  PlannerOptions o = Opts(2, 2, 100);
  o.time_budget = 0.05;
  o.clock = [&] { return now; };
  auto p = TestFixture::Make(o);
  auto target = torch::zeros({2, 2});
  PlanResult r = p->Plan([&](const torch::Tensor& a) {
    now += 0.01;
    return Bowl(target)(a);
  });
  EXPECT_EQ(r.iterations, 5);
  // At most one evaluation past the budget (MPPI scores its final mean).
  EXPECT_GE(r.seconds, 0.05 - 1e-9);
  EXPECT_LE(r.seconds, 0.06 + 1e-9);
  // Anytime: an iteration that would end past the budget does not start. At 45 ms the fifth
  // (40 -> 50 ms) no longer fits.
  o.time_budget = 0.045;
  now = 0;
  PlanResult cut = TestFixture::Make(o)->Plan([&](const torch::Tensor& a) {
    now += 0.01;
    return Bowl(target)(a);
  });
  EXPECT_EQ(cut.iterations, 4);
  EXPECT_LE(cut.seconds, 0.045 + 0.01 * (p->name() == "mppi"));
  // The first iteration always runs, whatever the budget.
  o.time_budget = 1e-6;
  now = 0;
  EXPECT_EQ(TestFixture::Make(o)->Plan([&](const torch::Tensor& a) {
              now += 0.01;
              return Bowl(target)(a);
            }).iterations,
            1);
  // Without a budget the iteration cap holds.
  o.time_budget = 0;
  o.iterations = 7;
  EXPECT_EQ(TestFixture::Make(o)->Plan(Bowl(target)).iterations, 7);
}

TYPED_TEST(PlannerTest, NonFiniteCostsNeverYieldNaN) {
  auto p = TestFixture::Make(Opts(3, 2, 4));
  PlanResult all_nan = p->Plan([](const torch::Tensor& a) {
    return torch::full({a.size(0)}, NAN);
  });
  EXPECT_TRUE(all_nan.all_nonfinite);
  EXPECT_TRUE(torch::equal(all_nan.actions, torch::zeros({3, 2})));
  // Half the candidates score NaN or inf: the rest still drive the plan.
  auto target = torch::full({3, 2}, 0.4f);
  PlanResult some = TestFixture::Make(Opts(3, 2, 10))->Plan([&](const torch::Tensor& a) {
    auto c = Bowl(target)(a);
    auto bad = a.select(1, 0).select(1, 0) < 0;  // candidates with a[0][0] < 0
    return torch::where(bad, torch::full_like(c, NAN), c);
  });
  EXPECT_FALSE(some.all_nonfinite);
  EXPECT_TRUE(torch::isfinite(some.actions).all().item<bool>());
  EXPECT_LT((some.actions - target).abs().max().item<double>(), 0.1);
}

TYPED_TEST(PlannerTest, RejectsBadInput) {
  auto p = TestFixture::Make(Opts(3, 2, 2));
  EXPECT_THROW(p->Plan(Bowl(torch::zeros({3, 2})), torch::zeros({4, 2})), std::invalid_argument);
  EXPECT_THROW(p->Plan(Bowl(torch::zeros({3, 2})), torch::full({3, 2}, NAN)), std::invalid_argument);
  EXPECT_THROW(p->Plan([](const torch::Tensor&) { return torch::zeros({2}); }), std::invalid_argument);
  PlannerOptions o = Opts(0, 2, 2);
  EXPECT_THROW(TestFixture::Make(o), std::invalid_argument);
  o = Opts(3, 2, 2);
  o.time_budget = NAN;
  EXPECT_THROW(TestFixture::Make(o), std::invalid_argument);
}

TEST(CemOptionsTest, RejectsBadCounts) {
  CemOptions c;
  c.elites = 500;
  EXPECT_THROW(Cem(Opts(2, 2, 2), c), std::invalid_argument);
  MppiOptions m;
  m.temperature = 0;
  EXPECT_THROW(Mppi(Opts(2, 2, 2), m), std::invalid_argument);
}

TEST(ShiftTest, DropsTheFirstActionAndRepeatsTheLast) {
  auto plan = torch::tensor({{1.f}, {2.f}, {3.f}});
  EXPECT_TRUE(torch::equal(Planner::Shift(plan), torch::tensor({{2.f}, {3.f}, {3.f}})));
}

}  // namespace
}  // namespace jepa_mpc::planner

namespace jepa_mpc::planner {
namespace {

TEST(GradientDescentTest, MinimisesAQuadraticBowlWithinBounds) {
  auto target = torch::tensor({{0.3f, -0.5f}, {0.8f, 0.1f}, {-0.6f, 1.7f}});
  GradientDescent gd(Opts(3, 2, 60));
  PlanResult r = gd.Plan(Bowl(target));
  auto expected = target.clamp(-1, 1);
  EXPECT_LT((r.actions - expected).abs().max().item<double>(), 0.05) << r.actions;
  EXPECT_LE(r.actions.abs().max().item<double>(), 1.0);
  EXPECT_EQ(r.iterations, 60);
  EXPECT_EQ(r.evaluations, 61 * 8);
}

TEST(GradientDescentTest, DeterministicPerSeedAndImprovesOnItsWarmStart) {
  // Far from the warm start, so after 5 steps a randomly started candidate is the best.
  auto target = torch::tensor({{0.9f, -0.9f}, {0.9f, 0.9f}, {-0.9f, 0.9f}, {0.9f, 0.9f}});
  auto warm = torch::zeros({4, 2});
  auto a = GradientDescent(Opts(4, 2, 5, 1)).Plan(Bowl(target), warm);
  auto b = GradientDescent(Opts(4, 2, 5, 1)).Plan(Bowl(target), warm);
  auto c = GradientDescent(Opts(4, 2, 5, 2)).Plan(Bowl(target), warm);
  EXPECT_TRUE(torch::equal(a.actions, b.actions));
  EXPECT_FALSE(torch::equal(a.actions, c.actions));
  EXPECT_LT(a.cost, Bowl(target)(warm.unsqueeze(0))[0].item<double>());
}

TEST(GradientDescentTest, TimeBudgetBoundsTheSteps) {
  double now = 0;
  PlannerOptions o = Opts(2, 2, 100);
  o.time_budget = 0.05;
  o.clock = [&] { return now; };
  auto target = torch::zeros({2, 2});
  PlanResult r = GradientDescent(o).Plan([&](const torch::Tensor& a) {
    now += 0.01;
    return Bowl(target)(a);
  });
  // Costs at 10, 20, 30, 40, 50 ms: a step and an evaluation (10 ms) follow each while they fit.
  EXPECT_EQ(r.iterations, 4);
  EXPECT_LE(r.seconds, 0.05 + 1e-9);
  o.time_budget = 0.045;  // the fourth would end at 50 ms
  now = 0;
  PlanResult cut = GradientDescent(o).Plan([&](const torch::Tensor& a) {
    now += 0.01;
    return Bowl(target)(a);
  });
  EXPECT_EQ(cut.iterations, 3);
  EXPECT_LE(cut.seconds, 0.045);
}

TEST(GradientDescentTest, NonFiniteCostsNeverYieldNaN) {
  GradientDescent gd(Opts(3, 2, 5));
  PlanResult all_nan = gd.Plan([](const torch::Tensor& a) {
    return a.sum({1, 2}) * NAN;
  });
  EXPECT_TRUE(all_nan.all_nonfinite);
  EXPECT_TRUE(torch::equal(all_nan.actions, torch::zeros({3, 2})));
  // NaN for some candidates only: the finite ones still descend.
  auto target = torch::full({3, 2}, 0.4f);
  PlanResult some = GradientDescent(Opts(3, 2, 60)).Plan([&](const torch::Tensor& a) {
    auto c = Bowl(target)(a);
    auto bad = torch::arange(a.size(0)) % 2 == 1;
    return torch::where(bad, torch::full_like(c, NAN), c);
  });
  EXPECT_FALSE(some.all_nonfinite);
  EXPECT_LT((some.actions - target).abs().max().item<double>(), 0.05);
}

TEST(GradientDescentTest, RejectsACostWithoutGradientAndBadOptions) {
  GradientDescent gd(Opts(3, 2, 5));
  EXPECT_THROW(gd.Plan([](const torch::Tensor& a) { return a.detach().sum({1, 2}); }),
               std::invalid_argument);
  GradientOptions g;
  g.learning_rate = NAN;
  EXPECT_THROW(GradientDescent(Opts(3, 2, 5), g), std::invalid_argument);
  g = {};
  g.candidates = 0;
  EXPECT_THROW(GradientDescent(Opts(3, 2, 5), g), std::invalid_argument);
}

// A planner a user adds: keeps its warm start (a do-nothing baseline).
class Hold : public Planner {
 public:
  explicit Hold(PlannerOptions options) : Planner(std::move(options)) {}
  std::string name() const override { return "hold"; }

 protected:
  PlanResult DoPlan(const BatchCost& cost, const torch::Tensor& init) override {
    PlanResult r;
    r.actions = init;
    r.cost = Score(cost, init.unsqueeze(0), r)[0].item<double>();
    r.iterations = 1;
    return r;
  }
};

TEST(PlannerRegistryTest, BuildsEveryListedPlannerAndTakesAUsersOwn) {
  const std::vector<std::string> builtin = {"cem", "cem-mean", "mppi", "gd", "cem-gd"};
  for (const auto& name : builtin) {
    ASSERT_TRUE(PlannerRegistry().Has(name)) << name;
    auto p = MakePlanner({name, 8, 2}, Opts(3, 1, 2));
    EXPECT_EQ(p->name(), name);
    const BatchCost bowl = [](const torch::Tensor& a) { return (a - 0.5).pow(2).sum({1, 2}); };
    EXPECT_LT(p->Plan(bowl).cost, 3 * 0.25) << name;  // better than all zeros
  }
  EXPECT_EQ(SamplesPerIteration({"mppi", 0, 0}), MppiOptions().samples);
  EXPECT_EQ(SamplesPerIteration({"cem", 40, 0}), 40);
  try {
    MakePlanner({"newton", 0, 0}, Opts(3, 1, 2));
    FAIL() << "an unknown planner was built";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("expected one of: cem, cem-mean, mppi, gd, cem-gd"), std::string::npos) << e.what();
  }
  EXPECT_THROW(MakePlanner({"cem", -1, 0}, Opts(3, 1, 2)), std::invalid_argument);
  // MPPI's temperature: its plan is the elites' mean weighted by exp(-cost / temperature), so a
  // high one averages the same samples more evenly and a low one follows the best. On cost -a
  // (best at a = 1), from the same samples, the low temperature's plan goes further.
  const BatchCost slope = [](const torch::Tensor& a) { return -a.sum({1, 2}); };
  const double sharp = MakePlanner({"mppi", 64, 16, 0.01}, Opts(1, 1, 1))->Plan(slope).actions.item<double>();
  const double even = MakePlanner({"mppi", 64, 16, 100}, Opts(1, 1, 1))->Plan(slope).actions.item<double>();
  EXPECT_GT(sharp, even + 0.05);
  EXPECT_GT(even, 0.3);
  try {
    MakePlanner({"cem", 0, 0, 1.0}, Opts(3, 1, 2));
    FAIL() << "a temperature was taken by a planner without one";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("temperature is mppi's option; cem has none"), std::string::npos) << e.what();
  }
  EXPECT_THROW(MakePlanner({"mppi", 0, 0, -1.0}, Opts(3, 1, 2)), std::invalid_argument);
  EXPECT_THROW(MakePlanner({"mppi", 0, 0, NAN}, Opts(3, 1, 2)), std::invalid_argument);
  EXPECT_TRUE(TakesTemperature("mppi"));
  EXPECT_FALSE(TakesTemperature("cem"));

  // cem-mean's plan is its elites' refit mean: from the same samples it is MPPI's plan with every
  // elite weighed alike, and on cost -a it falls short of the best sample that cem returns.
  EXPECT_EQ(SamplesPerIteration({"cem-mean", 0, 0}), MppiOptions().samples);
  EXPECT_FALSE(TakesTemperature("cem-mean"));
  for (int64_t iterations : {1, 3}) {
    const auto mean = MakePlanner({"cem-mean", 64, 16}, Opts(2, 2, iterations, 7))->Plan(slope);
    const auto even_mppi = MakePlanner({"mppi", 64, 16, 1e9}, Opts(2, 2, iterations, 7))->Plan(slope);
    EXPECT_LT((mean.actions - even_mppi.actions).abs().max().item<double>(), 1e-5) << iterations;
    EXPECT_NEAR(mean.cost, even_mppi.cost, 1e-4) << iterations;
  }
  const double cem_mean = MakePlanner({"cem-mean", 64, 16}, Opts(1, 1, 1))->Plan(slope).actions.item<double>();
  const double cem_best = MakePlanner({"cem", 64, 16}, Opts(1, 1, 1))->Plan(slope).actions.item<double>();
  EXPECT_GT(cem_best, cem_mean + 0.05);

  PlannerRegistry().Add("hold", {"keeps the warm start", 1,
                                 [](const PlannerChoice&, PlannerOptions o) -> std::unique_ptr<Planner> {
                                   return std::make_unique<Hold>(std::move(o));
                                 }});
  EXPECT_EQ(PlannerNames().back(), "hold");
  EXPECT_NE(PlannerHelp().find("hold: keeps the warm start"), std::string::npos);
  auto hold = MakePlanner({"hold", 0, 0}, Opts(2, 1, 1));
  const auto warm = torch::full({2, 1}, 0.25f);
  EXPECT_TRUE(torch::equal(hold->Plan([](const torch::Tensor& a) { return a.sum({1, 2}); }, warm).actions, warm));
  EXPECT_THROW(PlannerRegistry().Add("hold", {"again", 1, nullptr}), std::invalid_argument);
}

}  // namespace
}  // namespace jepa_mpc::planner
