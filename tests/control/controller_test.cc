#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include "control/controller.h"
#include "tests/temp_dir.h"
#include "tests/world_model/test_models.h"
#include "world_model/checkpoint.h"

namespace jepa_mpc {
namespace {

using testing::Meta;
using testing::ProprioMeta;
using world_model::WorldModel;

class ControllerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::manual_seed(0);
    at::set_num_threads(1);
    WorldModel model(Meta());
    world_model::SaveCheckpoint(dir_ / "model.pt", model, nullptr, {});
  }
  std::vector<uint8_t> Image(int size, uint8_t shade) {
    std::vector<uint8_t> rgb(static_cast<size_t>(size) * size * 3);
    for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<uint8_t>((i * 7 + shade) % 251);
    return rgb;
  }
  // A small planning budget: 32 candidates (gd: 4 starts), 2 iterations, 4 steps ahead, and no
  // time budget (the default's would make the iterations run depend on the machine's load).
  static ControllerOptions Small(const std::string& planner) {
    ControllerOptions o;
    o.planner = planner;
    o.samples = planner == "gd" ? 4 : 32;
    o.elites = planner == "gd" ? 0 : 4;
    o.iterations = 2;
    o.horizon = 4;
    o.time_budget = 0;
    return o;
  }
  jepa_mpc::testing::TempDir dir_{"jepa_controller_test"};
};

TEST_F(ControllerTest, DefaultsPlanCem64x2WithinTheTimeBudget) {
  auto goal = Image(32, 1), obs = Image(32, 90);
  Controller c(dir_ / "model.pt");
  EXPECT_EQ(c.options().iterations, 0);  // the planner's default: cem 2
  EXPECT_GT(c.options().time_budget, 0);
  c.SetGoal({goal.data(), 32, 32});
  c.Act({obs.data(), 32, 32});
  EXPECT_GE(c.last().iterations, 1);
  EXPECT_LE(c.last().iterations, 2);
  ControllerOptions bad;
  bad.iterations = -1;
  EXPECT_THROW(Controller(dir_ / "model.pt", bad), std::invalid_argument);
}

TEST_F(ControllerTest, ActsWithinBoundsAndDeterministicallyPerSeed) {
  auto goal = Image(32, 1), obs = Image(32, 90);
  for (const std::string planner : {"cem", "cem-mean", "mppi", "gd", "cem-gd"}) {
    ControllerOptions o = Small(planner);
    o.seed = 5;
    Controller a(dir_ / "model.pt", o), b(dir_ / "model.pt", o);
    EXPECT_EQ(a.image_size(), 32);
    EXPECT_EQ(a.action_dim(), 2);
    EXPECT_EQ(a.robot(), "reacher2d");
    a.SetGoal({goal.data(), 32, 32});
    b.SetGoal({goal.data(), 32, 32});
    for (int t = 0; t < 3; ++t) {
      auto x = a.Act({obs.data(), 32, 32});
      auto y = b.Act({obs.data(), 32, 32});
      ASSERT_EQ(x.size(), 2u) << planner;
      EXPECT_EQ(x, y) << planner;
      for (float v : x) {
        EXPECT_TRUE(std::isfinite(v));
        EXPECT_LE(std::abs(v), 1.0f);
      }
      EXPECT_GT(a.last().iterations, 0);
      EXPECT_GE(a.last().seconds, 0);
    }
    // The energy of the goal image itself is zero; another image's is positive.
    EXPECT_NEAR(a.Energy({goal.data(), 32, 32}), 0.0, 1e-4);
    EXPECT_GT(a.Energy({obs.data(), 32, 32}), 1e-3);
  }
}

TEST_F(ControllerTest, FutureCostsScoreObservedFramesAsThePlannerScoresPredictions) {
  // The perfect-predictor check's cost: each sequence's frames encoded and scored like predicted
  // embeddings, summed over the steps (or the last step's alone).
  auto goal = Image(32, 1), obs = Image(32, 90), other = Image(32, 170);
  const ImageView g{goal.data(), 32, 32}, o{obs.data(), 32, 32}, x{other.data(), 32, 32};
  Controller c(dir_ / "model.pt", Small("cem"));
  EXPECT_THROW(c.FutureCosts({g, o}, 2), std::logic_error);  // no goal yet
  c.SetGoal(g);
  const double eg = c.Energy(g), eo = c.Energy(o), ex = c.Energy(x);
  const std::vector<double> summed = c.FutureCosts({o, g, g, g, o, x}, 2);
  ASSERT_EQ(summed.size(), 3u);
  EXPECT_NEAR(summed[0], eo + eg, 1e-4);
  EXPECT_NEAR(summed[1], 2 * eg, 1e-4);
  EXPECT_NEAR(summed[2], eo + ex, 1e-4);
  EXPECT_LT(summed[1], summed[0]);  // ending on the goal costs least
  ControllerOptions last = Small("cem");
  last.sum_over_horizon = false;
  Controller l(dir_ / "model.pt", last);
  l.SetGoal(g);
  const std::vector<double> final_step = l.FutureCosts({o, g, g, g, o, x}, 2);
  EXPECT_NEAR(final_step[0], eg, 1e-4);
  EXPECT_NEAR(final_step[2], ex, 1e-4);
  // More frames than one encoder batch: each still scored as itself.
  std::vector<ImageView> many(300, o);
  many[299] = x;
  const std::vector<double> each = c.FutureCosts(many, 1);
  ASSERT_EQ(each.size(), 300u);
  EXPECT_NEAR(each[0], eo, 1e-4);
  EXPECT_NEAR(each[298], eo, 1e-4);
  EXPECT_NEAR(each[299], ex, 1e-4);
  // Bad input: a count that is not a multiple of the steps, no steps, a wrong image size.
  EXPECT_THROW(c.FutureCosts({o, g, x}, 2), std::invalid_argument);
  EXPECT_THROW(c.FutureCosts({o}, 0), std::invalid_argument);
  EXPECT_THROW(c.FutureCosts({}, 1), std::invalid_argument);
  auto big = Image(48, 3);
  EXPECT_THROW(c.FutureCosts({o, {big.data(), 48, 48}}, 1), std::invalid_argument);
}

TEST_F(ControllerTest, ProprioModelActsOnTheJointState) {
  {
    torch::manual_seed(0);
    WorldModel model(ProprioMeta());
    world_model::SaveCheckpoint(dir_ / "proprio.pt", model, nullptr, {});
  }
  auto goal = Image(32, 1), obs = Image(32, 90);
  ControllerOptions o;
  o.samples = 32;
  o.elites = 4;
  o.iterations = 2;
  o.horizon = 4;
  Controller a(dir_ / "proprio.pt", o), b(dir_ / "proprio.pt", o);
  EXPECT_EQ(a.proprio_dim(), 2);
  a.SetGoal({goal.data(), 32, 32});
  b.SetGoal({goal.data(), 32, 32});
  try {
    a.Act({obs.data(), 32, 32});
    FAIL() << "an observation without the joint state was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("expects 2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(a.Act({obs.data(), 32, 32}, {0.1, NAN}), std::invalid_argument);
  // The same image with another joint state is planned differently.
  auto x = a.Act({obs.data(), 32, 32}, {0.3, -1.0});
  auto y = b.Act({obs.data(), 32, 32}, {-2.0, 2.5});
  ASSERT_EQ(x.size(), 2u);
  EXPECT_NE(x, y);
  // An image-only model refuses a joint state it cannot use.
  Controller plain(dir_ / "model.pt", o);
  EXPECT_EQ(plain.proprio_dim(), 0);
  plain.SetGoal({goal.data(), 32, 32});
  EXPECT_THROW(plain.Act({obs.data(), 32, 32}, {0.3, -1.0}), std::invalid_argument);
}

TEST_F(ControllerTest, AModelThatReadsTheHandFromTheRobotPlansFromWhereTheHandIs) {
  {
    world_model::ModelMeta meta = Meta();  // D = 8: keypoint 0 of the view is the object
    meta.action_dim = 3;
    world_model::GoalEnergy& e = meta.energy;
    e.weights = {1, 0, 0, 0, 1, 0, 0, 0};
    e.reach = {-1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1, 0, 0, 0};
    e.object = {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0};
    e.units_per_metre = {10};
    e.table = {10, 0, 0, 10, 0, 0};
    e.reach_weight = 1;
    e.push_offset = 0.03;
    e.hand_step = {0.02, 0.02, 0.02};
    e.hand_box = {-1, 1, -1, 1, 0, 0.5};
    e.object_height = 0.025;
    WorldModel model(meta);
    world_model::SaveCheckpoint(dir_ / "hand.pt", model, nullptr, {});
  }
  auto goal = Image(32, 1), obs = Image(32, 90);
  Controller a(dir_ / "hand.pt", Small("cem")), b(dir_ / "hand.pt", Small("cem"));
  EXPECT_EQ(a.hand_dim(), 3);
  a.SetGoal({goal.data(), 32, 32});
  b.SetGoal({goal.data(), 32, 32});
  try {
    a.Act({obs.data(), 32, 32});
    FAIL() << "an observation without the hand's position was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("hand position has 0 values, the model expects 3"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(a.Act({obs.data(), 32, 32}, {}, {0.1, NAN, 0.2}), std::invalid_argument);
  // The same image with the hand elsewhere is planned differently: high above the table the plan
  // moves the hand down.
  auto high = a.Act({obs.data(), 32, 32}, {}, {0.3, 0.0, 0.45});
  auto low = b.Act({obs.data(), 32, 32}, {}, {0.3, 0.0, 0.03});
  ASSERT_EQ(high.size(), 3u);
  EXPECT_NE(high, low);
  EXPECT_LT(high[2], 0.f);
  // The model reads the block's distance from its goal (the plain model cannot: NaN).
  EXPECT_TRUE(std::isfinite(a.last().object_distance));
  EXPECT_GE(a.last().object_distance, 0.0);
  // Scoring observed futures needs where the hand was at each frame.
  EXPECT_THROW(a.FutureCosts({{obs.data(), 32, 32}}, 1), std::invalid_argument);
  EXPECT_EQ(a.FutureCosts({{obs.data(), 32, 32}}, 1, {0.3, 0.0, 0.45}).size(), 1u);
  EXPECT_GT(a.FutureCosts({{obs.data(), 32, 32}}, 1, {0.3, 0.0, 0.45})[0],
            a.FutureCosts({{obs.data(), 32, 32}}, 1, {0.3, 0.0, 0.03})[0]);
  // A model that reads the hand from the image refuses a position it cannot use.
  Controller plain(dir_ / "model.pt", Small("cem"));
  EXPECT_EQ(plain.hand_dim(), 0);
  plain.SetGoal({goal.data(), 32, 32});
  EXPECT_THROW(plain.Act({obs.data(), 32, 32}, {}, {0.3, 0.0, 0.1}), std::invalid_argument);
  plain.Act({obs.data(), 32, 32});
  EXPECT_TRUE(std::isnan(plain.last().object_distance));
}

TEST_F(ControllerTest, TheAppliedActionEntersTheNextPlansContext) {
  {
    torch::manual_seed(0);
    WorldModel model(Meta(/*history=*/2));
    world_model::SaveCheckpoint(dir_ / "history2.pt", model, nullptr, {});
  }
  auto goal = Image(32, 1), first = Image(32, 90), second = Image(32, 140);
  ControllerOptions o;
  o.samples = 32;
  o.elites = 4;
  o.iterations = 2;
  o.horizon = 4;
  Controller same(dir_ / "history2.pt", o), told(dir_ / "history2.pt", o), overridden(dir_ / "history2.pt", o);
  EXPECT_THROW(same.SetAppliedAction({0.f, 0.f}), std::logic_error);  // no Act yet
  for (Controller* c : {&same, &told, &overridden}) c->SetGoal({goal.data(), 32, 32});
  const auto planned = same.Act({first.data(), 32, 32});
  ASSERT_EQ(told.Act({first.data(), 32, 32}), planned);
  ASSERT_EQ(overridden.Act({first.data(), 32, 32}), planned);
  told.SetAppliedAction(planned);  // what was planned was applied: nothing changes
  // A safety layer replaced the action; the values are clipped to [-1, 1] as in training.
  const std::vector<float> applied = {planned[0] > 0 ? -3.f : 3.f, planned[1] > 0 ? -1.f : 1.f};
  overridden.SetAppliedAction(applied);
  same.Act({second.data(), 32, 32});
  told.Act({second.data(), 32, 32});
  overridden.Act({second.data(), 32, 32});
  EXPECT_EQ(told.last().planned_cost, same.last().planned_cost);
  EXPECT_NE(overridden.last().planned_cost, same.last().planned_cost);
  EXPECT_THROW(same.SetAppliedAction({0.f}), std::invalid_argument);
  EXPECT_THROW(same.SetAppliedAction({0.f, NAN}), std::invalid_argument);
  same.Reset();
  EXPECT_THROW(same.SetAppliedAction({0.f, 0.f}), std::logic_error);
}

TEST_F(ControllerTest, BadInputIsRejectedWithClearErrors) {
  auto img = Image(32, 3), big = Image(64, 3);
  Controller c(dir_ / "model.pt");
  EXPECT_THROW(c.Act({img.data(), 32, 32}), std::logic_error);  // no goal
  EXPECT_THROW(c.SetGoal({big.data(), 64, 64}), std::invalid_argument);
  EXPECT_THROW(c.SetGoal({nullptr, 32, 32}), std::invalid_argument);
  c.SetGoal({img.data(), 32, 32});
  try {
    c.Act({big.data(), 64, 64});
    FAIL() << "a 64x64 observation was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("expects 32x32"), std::string::npos) << e.what();
  }
  ControllerOptions o;
  o.planner = "newton";
  EXPECT_THROW(Controller(dir_ / "model.pt", o), std::invalid_argument);
  o = {};
  o.time_budget = NAN;
  EXPECT_THROW(Controller(dir_ / "model.pt", o), std::invalid_argument);
  o = {};
  o.horizon = 0;
  EXPECT_THROW(Controller(dir_ / "model.pt", o), std::invalid_argument);
  EXPECT_THROW(Controller(dir_ / "missing.pt"), std::runtime_error);
}

TEST_F(ControllerTest, OddGoalImagesStillGiveFiniteBoundedActions) {
  // Goals a camera can deliver when something is wrong: black, white, noise, a single colour,
  // a pattern the model never saw. None may give a non-finite or out-of-range action.
  const size_t n = 32 * 32 * 3;
  std::vector<std::vector<uint8_t>> goals = {std::vector<uint8_t>(n, 0), std::vector<uint8_t>(n, 255),
                                             std::vector<uint8_t>(n), std::vector<uint8_t>(n),
                                             std::vector<uint8_t>(n)};
  uint64_t state = 12345;
  for (auto& v : goals[2]) v = static_cast<uint8_t>((state = state * 6364136223846793005ull + 1) >> 56);
  for (size_t i = 0; i < n; ++i) goals[3][i] = i % 3 == 0 ? 255 : 0;                // pure red
  for (size_t i = 0; i < n; ++i) goals[4][i] = ((i / 3 % 32) / 4 + (i / 96) / 4) % 2 ? 255 : 0;  // checkers
  auto obs = Image(32, 90);
  for (const std::string planner : {"cem", "mppi", "gd"}) {
    const ControllerOptions o = Small(planner);
    Controller c(dir_ / "model.pt", o);
    for (size_t g = 0; g < goals.size(); ++g) {
      c.SetGoal({goals[g].data(), 32, 32});
      for (auto* image : {&obs, &goals[(g + 1) % goals.size()], &goals[g]}) {
        const auto a = c.Act({image->data(), 32, 32});
        ASSERT_EQ(a.size(), 2u);
        for (float v : a) {
          EXPECT_TRUE(std::isfinite(v)) << planner << " goal " << g;
          EXPECT_LE(std::abs(v), 1.0f) << planner << " goal " << g;
        }
        EXPECT_TRUE(std::isfinite(c.last().energy)) << planner << " goal " << g;
      }
    }
  }
}

TEST_F(ControllerTest, ControllersInThreadsActAsEachDoesAlone) {
  // Four controllers (different seeds and planners) on four threads at once must return exactly
  // the actions each returns alone: no shared state between instances. Each run is on a fresh
  // thread either way, so both see the same torch thread settings.
  auto goal = Image(32, 1);
  std::vector<std::vector<uint8_t>> frames;
  for (int t = 0; t < 6; ++t) frames.push_back(Image(32, static_cast<uint8_t>(40 + 30 * t)));
  auto run = [&](int k) {
    at::set_num_threads(1);
    ControllerOptions o = Small(k % 2 ? "mppi" : "cem");
    o.seed = 100 + k;
    Controller c(dir_ / "model.pt", o);
    c.SetGoal({goal.data(), 32, 32});
    std::vector<float> actions;
    for (const auto& f : frames) {
      const auto a = c.Act({f.data(), 32, 32});
      actions.insert(actions.end(), a.begin(), a.end());
    }
    return actions;
  };
  std::vector<std::vector<float>> alone(4), together(4);
  for (int k = 0; k < 4; ++k) std::thread([&, k] { alone[k] = run(k); }).join();
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k) threads.emplace_back([&, k] { together[k] = run(k); });
  for (auto& t : threads) t.join();
  for (int k = 0; k < 4; ++k) {
    ASSERT_EQ(alone[k].size(), 12u);
    EXPECT_EQ(together[k], alone[k]) << "controller " << k;
  }
  EXPECT_NE(alone[0], alone[2]);  // the seeds matter, so the comparison could fail
}

// Preview shows what the last Act() intends: the plan whose first action was returned, and
// candidates around it, each rolled out in the model; it changes nothing the planner does next.
TEST_F(ControllerTest, PreviewRollsOutThePlanItActedOnAndChangesNothing) {
  Controller c(dir_ / "model.pt", Small("cem"));
  Controller twin(dir_ / "model.pt", Small("cem"));
  const auto goal = Image(32, 9), obs = Image(32, 40);
  c.SetGoal({goal.data(), 32, 32});
  twin.SetGoal({goal.data(), 32, 32});
  EXPECT_THROW(c.Preview(), std::logic_error);
  const std::vector<float> action = c.Act({obs.data(), 32, 32});
  twin.Act({obs.data(), 32, 32});
  const PlanPreview p = c.Preview(3, 0.2f, 5);
  ASSERT_EQ(p.sequences, 4);
  ASSERT_EQ(p.steps, 4);  // the horizon
  ASSERT_EQ(p.action_dim, c.action_dim());
  ASSERT_EQ(p.actions.size(), 4u * 4 * p.action_dim);
  ASSERT_EQ(p.embeddings.size(), 4u * 4 * p.dim);
  for (int k = 0; k < p.action_dim; ++k) EXPECT_FLOAT_EQ(p.actions[k], action[k]);  // the plan acted on
  for (float v : p.actions) EXPECT_LE(std::abs(v), 1.0f);
  for (float v : p.embeddings) EXPECT_TRUE(std::isfinite(v));
  // Candidates differ from the plan, and so do their predictions; the same seed repeats them.
  const size_t per_seq = static_cast<size_t>(p.steps) * p.dim;
  double diff = 0;
  for (size_t i = 0; i < per_seq; ++i) diff += std::abs(p.embeddings[i] - p.embeddings[per_seq + i]);
  EXPECT_GT(diff, 0);
  EXPECT_EQ(c.Preview(3, 0.2f, 5).embeddings, p.embeddings);
  // The next action is the one a controller that never previewed takes.
  const auto obs2 = Image(32, 77);
  EXPECT_EQ(c.Act({obs2.data(), 32, 32}), twin.Act({obs2.data(), 32, 32}));
  EXPECT_THROW(c.Preview(-1), std::invalid_argument);
}

// ScorePlans scores sequences from the last Act()'s context as the planner scored its
// candidates: the plan acted on costs what the planner found for it, and each sequence's parts
// add up to its cost, alone or among others.
TEST_F(ControllerTest, ScorePlansScoresThePlanAsThePlannerDidAndInParts) {
  Controller c(dir_ / "model.pt", Small("cem"));
  const auto goal = Image(32, 9), obs = Image(32, 40);
  c.SetGoal({goal.data(), 32, 32});
  const std::vector<float> still(4 * static_cast<size_t>(c.action_dim()), 0.f);
  EXPECT_THROW(c.ScorePlans(still, 1), std::logic_error);  // no context yet
  c.Act({obs.data(), 32, 32});
  const PlanPreview p = c.Preview(0);
  std::vector<float> both = p.actions;
  both.insert(both.end(), still.begin(), still.end());
  const std::vector<PlanScore> s = c.ScorePlans(both, 2);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_NEAR(s[0].cost, c.last().planned_cost, 1e-4 * std::max(1.0, std::abs(s[0].cost)));
  EXPECT_NE(s[0].cost, s[1].cost);  // keeping still is another plan
  for (const PlanScore& x : s) {
    EXPECT_NEAR(x.distance + x.reach, x.cost, 1e-5 * std::max(1.0, std::abs(x.cost)));
    EXPECT_TRUE(std::isnan(x.object_distance));  // this model cannot read an object
  }
  EXPECT_NEAR(c.ScorePlans(still, 1)[0].cost, s[1].cost, 1e-5 * std::max(1.0, std::abs(s[1].cost)));
  EXPECT_THROW(c.ScorePlans(std::vector<float>(both.begin(), both.end() - 1), 2), std::invalid_argument);
  EXPECT_THROW(c.ScorePlans(both, 0), std::invalid_argument);
  both[0] = 1.5f;
  EXPECT_THROW(c.ScorePlans(both, 2), std::invalid_argument);
}

TEST_F(ControllerTest, AnEnsembleOfTheSameRunsPredictorsPlansAndOthersAreRefused) {
  auto goal = Image(32, 1), obs = Image(32, 90);
  auto model = world_model::LoadCheckpoint(dir_ / "model.pt").model;
  {  // the same encoder with a predictor initialised afresh, as train --predictor-seed leaves it
    torch::manual_seed(7);
    WorldModel member(Meta());
    torch::NoGradGuard no_grad;
    auto from = model->encoder->parameters(), to = member->encoder->parameters();
    for (size_t i = 0; i < from.size(); ++i) to[i].copy_(from[i]);
    world_model::SaveCheckpoint(dir_ / "member.pt", member, nullptr, {});
    WorldModel stranger(Meta());  // another encoder
    world_model::SaveCheckpoint(dir_ / "stranger.pt", stranger, nullptr, {});
  }
  ControllerOptions o = Small("cem");
  o.seed = 3;
  Controller alone(dir_ / "model.pt", o);
  o.ensemble = {dir_ / "member.pt"};
  o.disagreement_weight = 1;
  Controller both(dir_ / "model.pt", o);
  alone.SetGoal({goal.data(), 32, 32});
  both.SetGoal({goal.data(), 32, 32});
  auto a = alone.Act({obs.data(), 32, 32}), b = both.Act({obs.data(), 32, 32});
  ASSERT_EQ(b.size(), 2u);
  for (float v : b) EXPECT_LE(std::abs(v), 1.0f);
  // The same candidates (same seed) scored by another cost: another plan.
  EXPECT_NE(a, b);
  EXPECT_NE(alone.last().planned_cost, both.last().planned_cost);
  o.ensemble = {dir_ / "stranger.pt"};
  try {
    Controller bad(dir_ / "model.pt", o);
    ADD_FAILURE() << "a member with another encoder was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("stranger.pt"), std::string::npos) << e.what();
  }
  o.ensemble = {dir_ / "missing.pt"};
  EXPECT_THROW(Controller(dir_ / "model.pt", o), std::runtime_error);
  o.ensemble.clear();  // a disagreement weight with nothing to disagree
  EXPECT_THROW(Controller(dir_ / "model.pt", o), std::invalid_argument);
  o.ensemble = {dir_ / "member.pt"};
  o.disagreement_weight = -1;
  EXPECT_THROW(Controller(dir_ / "model.pt", o), std::invalid_argument);
}

}  // namespace
}  // namespace jepa_mpc
