// The latent goal cost: rollouts in the model scored against the goal embedding.
#include "world_model/goal_cost.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/world_model/test_models.h"

namespace jepa_mpc::world_model {
namespace {

using testing::Meta;
using testing::ProprioMeta;

class GoalCostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::manual_seed(0);
    at::set_num_threads(1);
  }
};

TEST_F(GoalCostTest, ScoresRolloutsAgainstTheGoalEmbedding) {
  WorldModel model(Meta());
  auto goal = torch::rand({3, 32, 32}), now = torch::rand({1, 3, 32, 32});
  auto actions = torch::rand({6, 5, 2}) * 2 - 1;
  auto zg = model->Encode(goal.unsqueeze(0))[0];
  auto z0 = model->Encode(now);
  auto expected = (model->Rollout(z0.expand({6, 8}), actions) - zg).norm(2, 2);  // [N, H]

  LatentGoalCost summed(model);
  summed.SetGoal(goal);
  summed.SetContext(z0);
  EXPECT_TRUE(torch::allclose(summed(actions), expected.sum(1), 1e-4, 1e-5));

  world_model::GoalCostOptions o;
  o.sum_over_horizon = false;
  LatentGoalCost last(model, o);
  last.SetGoal(goal);
  last.SetContext(z0);
  EXPECT_TRUE(torch::allclose(last(actions), expected.select(1, 4), 1e-4, 1e-5));

  o.l1 = true;
  LatentGoalCost l1(model, o);
  l1.SetGoalEmbedding(zg);
  l1.SetContext(z0);
  auto l1_expected = (model->Rollout(z0.expand({6, 8}), actions) - zg).abs().sum(2).select(1, 4);
  EXPECT_TRUE(torch::allclose(l1(actions), l1_expected, 1e-4, 1e-5));
  // The goal itself is at distance zero.
  EXPECT_NEAR(last.Distance(zg).item<double>(), 0.0, 1e-5);
  // Score: given sequences of embeddings (observed, not predicted), the same costs.
  const auto rolled = summed.Predict(actions);
  EXPECT_TRUE(torch::allclose(summed.Score(rolled), expected.sum(1), 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(last.Score(rolled), expected.select(1, 4), 1e-4, 1e-5));
  EXPECT_THROW(summed.Score(rolled[0]), std::invalid_argument);  // not [N, H, D]
}

TEST_F(GoalCostTest, IsDifferentiableInTheActions) {
  WorldModel model(Meta());
  LatentGoalCost cost(model);
  cost.SetGoal(torch::rand({1, 3, 32, 32}));
  cost.SetContext(model->Encode(torch::rand({1, 3, 32, 32})));
  auto actions = torch::rand({4, 3, 2}) * 2 - 1;
  auto plain = cost(actions);
  EXPECT_FALSE(plain.requires_grad());
  auto a = actions.clone().requires_grad_(true);
  auto c = cost(a);
  EXPECT_TRUE(torch::allclose(c.detach(), plain, 1e-5, 1e-6));
  c.sum().backward();
  EXPECT_GT(a.grad().abs().sum().item<double>(), 0);
}

TEST_F(GoalCostTest, ContextUsesTheLastWEmbeddingsAndTheirActions) {
  WorldModel model(Meta(/*history=*/2));
  LatentGoalCost cost(model);
  cost.SetGoal(torch::rand({3, 32, 32}));
  auto z = torch::randn({3, 8});
  auto past = torch::rand({2, 2}) * 2 - 1;
  auto actions = torch::rand({5, 4, 2}) * 2 - 1;
  cost.SetContext(z, past);
  auto context = z.narrow(0, 1, 2).unsqueeze(0).expand({5, 2, 8});
  auto expected = cost.Distance(model->Rollout(context, actions, past.narrow(0, 1, 1))).sum(1);
  EXPECT_TRUE(torch::allclose(cost(actions), expected, 1e-4, 1e-5));
  // One frame only: it is repeated, with a zero action between the copies.
  cost.SetContext(z.narrow(0, 2, 1));
  auto repeated = cost.Distance(model->Rollout(z.narrow(0, 2, 1).expand({5, 8}), actions)).sum(1);
  EXPECT_TRUE(torch::allclose(cost(actions), repeated, 1e-4, 1e-5));
}

TEST_F(GoalCostTest, ProprioContextRollsTheJointStateForward) {
  WorldModel model(ProprioMeta());
  LatentGoalCost cost(model);
  cost.SetGoal(torch::rand({3, 32, 32}));
  auto z = torch::randn({1, 8}), q = torch::tensor({{0.4f, -1.2f}});
  auto actions = torch::rand({5, 4, 2}) * 2 - 1;
  cost.SetContext(z, {}, q);
  auto rolled = model->Rollout(model->State(z, q).expand({5, 12}), actions);  // [5, 4, 12]
  auto expected = (rolled.narrow(2, 0, 8) - cost.goal_embedding()).norm(2, 2).sum(1);
  EXPECT_TRUE(torch::allclose(cost(actions), expected, 1e-4, 1e-5));
  EXPECT_THROW(cost.SetContext(z), std::invalid_argument);  // no joint state
  EXPECT_THROW(cost.SetContext(z, {}, torch::zeros({1, 3})), std::invalid_argument);
  EXPECT_THROW(cost.SetContext(z, {}, torch::full({1, 2}, NAN)), std::invalid_argument);
}

TEST_F(GoalCostTest, RejectsBadShapes) {
  WorldModel model(Meta());
  LatentGoalCost cost(model);
  EXPECT_THROW(cost(torch::zeros({2, 3, 2})), std::logic_error);  // no goal yet
  EXPECT_THROW(cost.SetGoal(torch::rand({3, 64, 64})), std::invalid_argument);
  EXPECT_THROW(cost.SetGoal(torch::rand({1, 32, 32})), std::invalid_argument);
  EXPECT_THROW(cost.SetGoal(torch::full({3, 32, 32}, NAN)), std::invalid_argument);
  EXPECT_THROW(cost.SetGoalEmbedding(torch::zeros({5})), std::invalid_argument);
  EXPECT_THROW(cost.SetContext(torch::zeros({2, 7})), std::invalid_argument);
  EXPECT_THROW(cost.SetContext(torch::zeros({2, 8}), torch::zeros({2, 2})), std::invalid_argument);
}

TEST_F(GoalCostTest, WithAPredictorThatChangesNothingTheCostIsTheDistanceTimesTheHorizon) {
  // The predictor is residual (next = last + MLP): with every weight zero it predicts no change,
  // so each of the H predicted embeddings is the current one, whatever the actions.
  WorldModel model(Meta());
  {
    torch::NoGradGuard no_grad;
    for (auto& p : model->predictor->parameters()) p.zero_();
  }
  auto goal = torch::rand({3, 32, 32}), now = torch::rand({1, 3, 32, 32});
  const double distance = (model->Encode(now)[0] - model->Encode(goal.unsqueeze(0))[0]).norm().item<double>();
  ASSERT_GT(distance, 0.0);
  LatentGoalCost summed(model);
  summed.SetGoal(goal);
  summed.SetContext(model->Encode(now));
  auto costs = summed(torch::rand({4, 6, 2}) * 2 - 1);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(costs[i].item<double>(), 6 * distance, 1e-4) << i;
  GoalCostOptions o;
  o.sum_over_horizon = false;
  LatentGoalCost last(model, o);
  last.SetGoal(goal);
  last.SetContext(model->Encode(now));
  EXPECT_NEAR(last(torch::zeros({1, 6, 2}))[0].item<double>(), distance, 1e-5);
}

TEST_F(GoalCostTest, AWithdrawalIsPredictedAfterThePlanAndTheDistanceTakenAtItsEnd) {
  WorldModel model(Meta());
  auto goal = torch::rand({3, 32, 32}), now = torch::rand({1, 3, 32, 32});
  auto actions = torch::rand({5, 4, 2}) * 2 - 1;
  GoalCostOptions o;
  o.withdraw_steps = 3;
  o.withdraw_action = {0.f, 1.f};
  LatentGoalCost summed(model, o);
  summed.SetGoal(goal);
  summed.SetContext(model->Encode(now));
  auto lift = torch::tensor({0.f, 1.f}).reshape({1, 1, 2}).expand({5, 3, 2});
  auto rolled = summed.Predict(torch::cat({actions, lift}, 1));  // [5, 7, 8]
  auto at_end = summed.Distance(rolled.select(1, 6));
  // Summed: the withdrawn distance counts once for every planned step (the scale of the plain
  // summed cost); the plan's own steps are not scored (this model has no reaching term).
  EXPECT_TRUE(torch::allclose(summed(actions), 4 * at_end, 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(summed.Score(rolled), 4 * at_end, 1e-4, 1e-5));
  // Another withdrawal, another cost: the withdrawal is rolled out, not ignored.
  o.withdraw_action = {0.f, -1.f};
  LatentGoalCost other(model, o);
  other.SetGoal(goal);
  other.SetContext(model->Encode(now));
  EXPECT_FALSE(torch::allclose(other(actions), summed(actions), 1e-4, 1e-5));
  o.withdraw_action = {0.f, 1.f};
  o.sum_over_horizon = false;
  LatentGoalCost last(model, o);
  last.SetGoal(goal);
  last.SetContext(model->Encode(now));
  EXPECT_TRUE(torch::allclose(last(actions), at_end, 1e-4, 1e-5));
  // Sequences too short to hold a plan and the withdrawal are refused.
  EXPECT_THROW(last.Score(rolled.narrow(1, 0, 3)), std::invalid_argument);
  // Bad withdrawals are refused when the cost is made.
  o.withdraw_action = {0.f, 1.f, 0.f};
  EXPECT_THROW(LatentGoalCost(model, o), std::invalid_argument);
  o.withdraw_action = {0.f, 2.f};
  EXPECT_THROW(LatentGoalCost(model, o), std::invalid_argument);
  o.withdraw_steps = -1;
  EXPECT_THROW(LatentGoalCost(model, o), std::invalid_argument);
}

// D = 9: x0..x3, y0..y3 and keypoint 3's spread; keypoint 3 is the object group, weighed 1.
ModelMeta SpreadMeta() {
  ModelMeta m = Meta();
  m.config.object_keypoints = 1;
  m.config.object_spread = true;
  m.config.latent_dim = 9;
  m.energy.weights = {0, 0, 0, 1, 0, 0, 0, 1, 1};
  return m;
}

TEST_F(GoalCostTest, AnArmWeightAddsTheArmsKeypointsToTheDistance) {
  // Keypoint 3 is the object group (x at 3, y at 7); the object energy weighs it alone.
  ModelMeta m = Meta();
  m.config.object_keypoints = 1;
  m.energy.weights = {0, 0, 0, 1, 0, 0, 0, 1};
  WorldModel model(m);
  GoalCostOptions o;
  o.arm_weight = 0.25;
  LatentGoalCost cost(model, o), plain(model, GoalCostOptions{});
  const auto goal = torch::zeros({8});
  cost.SetGoalEmbedding(goal);
  plain.SetGoalEmbedding(goal);
  auto z = goal.clone();
  z[0] = 2;  // an arm keypoint 2 from where the goal image shows it
  z[3] = 1;  // the object 1 from its goal
  EXPECT_NEAR(plain.Distance(z).item<double>(), 1, 1e-5);
  EXPECT_NEAR(cost.Distance(z).item<double>(), std::sqrt(1 + 0.25 * 4), 1e-5);
  // Refused: a negative weight, a model without an object group.
  o.arm_weight = -1;
  EXPECT_THROW(LatentGoalCost(model, o), std::invalid_argument);
  o.arm_weight = 0.25;
  EXPECT_THROW(LatentGoalCost(WorldModel(Meta()), o), std::invalid_argument);
}

TEST_F(GoalCostTest, AHiddenObjectsDistanceIsHeldAtItsLastSeenValue) {
  ModelMeta m = SpreadMeta();
  WorldModel model(m);
  GoalCostOptions o;
  o.hidden_spread = 0.5;
  LatentGoalCost cost(model, o);
  auto goal = torch::zeros({9});
  goal[8] = 0.2;  // the goal image shows the object: a tight spread
  cost.SetGoalEmbedding(goal);
  auto now = goal.clone().unsqueeze(0);
  now[0][3] = 2;  // the current image: the object 2 from its goal, in sight
  cost.SetContext(now);
  // The object at distance 1 and seen, then at the goal but hidden (a keypoint with nothing to
  // follow), then at 3 and half hidden.
  auto z = goal.repeat({1, 3, 1});
  z[0][0][3] = 1;
  z[0][1][8] = 0.7;
  z[0][2][3] = 3;
  z[0][2][8] = 0.45;
  EXPECT_NEAR(cost.Score(z).item<double>(), 1 + 1 + (0.5 * 3 + 0.5 * 1), 1e-5);
  // Hidden from the first step: the current image's distance holds.
  auto hidden = goal.repeat({1, 2, 1});
  hidden.select(2, 8).fill_(0.9);
  EXPECT_NEAR(cost.Score(hidden).item<double>(), 2 + 2, 1e-5);
  // Without the hold the hidden step reads as nearly at the goal (its spread's 0.5 alone).
  LatentGoalCost plain(model, GoalCostOptions{});
  plain.SetGoalEmbedding(goal);
  plain.SetContext(now);
  EXPECT_NEAR(plain.Score(z.narrow(1, 1, 1)).item<double>(), 0.5, 1e-5);
  // Refused: a negative spread, a model without the spread, a withdrawal beside it.
  o.hidden_spread = -1;
  EXPECT_THROW(LatentGoalCost(model, o), std::invalid_argument);
  o.hidden_spread = 0.5;
  EXPECT_THROW(LatentGoalCost(WorldModel(Meta()), o), std::invalid_argument);
  o.withdraw_steps = 2;
  o.withdraw_action = {0.f, 1.f};
  EXPECT_THROW(LatentGoalCost(model, o), std::invalid_argument);
}

TEST_F(GoalCostTest, AHiddenObjectsPlaceIsHeldWhereItWasLastSeen) {
  // Keypoint 0 is the hand, keypoint 3 the object; the reaching term is the hand's offset from
  // the object, (x0 - x3, y0 - y3).
  ModelMeta m = SpreadMeta();
  m.energy.reach = {1, 0, 0, -1, 0, 0, 0, 0, 0, /**/ 0, 0, 0, 0, 1, 0, 0, -1, 0};
  m.energy.reach_weight = 1;
  WorldModel model(m);
  GoalCostOptions o;
  o.hidden_spread = 0.5;
  o.hold_place = true;
  LatentGoalCost cost(model, o);
  auto goal = torch::zeros({9});
  goal[8] = 0.2;
  cost.SetGoalEmbedding(goal);
  // Seen 2 from its goal, the hand 1 from the goal; then the hand hides it and its keypoint,
  // with nothing to follow, reads the goal.
  auto seen = goal.clone();
  seen[3] = 2;
  seen[0] = 1;
  auto hidden = goal.clone();
  hidden[0] = 1;
  hidden[8] = 0.9;
  cost.Observe(seen);
  cost.Observe(hidden);
  cost.SetContext(hidden.unsqueeze(0));
  // Two hidden steps: the object held at 2 (distance 2), the hand 1 from it: 3 each.
  auto still = hidden.repeat({1, 2, 1});
  EXPECT_NEAR(cost.Score(still).item<double>(), 6, 1e-5);
  // Holding the distance instead holds the current image's (0) and the reaching term reads the
  // hand 1 from the misread object.
  o.hold_place = false;
  LatentGoalCost distance(model, o);
  distance.SetGoalEmbedding(goal);
  distance.SetContext(hidden.unsqueeze(0));
  EXPECT_NEAR(distance.Score(still).item<double>(), 2, 1e-5);
  // The place is blended, not the distance: seen at (1, 0), then half hidden at (-1, 0) holds
  // (0, 0), the goal; the hand at (0, 0) throughout: 1 + 1, then 0 + 0.
  auto z = goal.repeat({1, 2, 1});
  z[0][0][3] = 1;
  z[0][1][3] = -1;
  z[0][1][8] = 0.45;
  EXPECT_NEAR(cost.Score(z).item<double>(), 2, 1e-5);
  // (holding the distance: 1 + 1, then 0.5 x 1 + 0.5 x 1 and the hand 1 from the read (-1, 0).)
  EXPECT_NEAR(distance.Score(z).item<double>(), 4, 1e-5);
  // A new goal forgets the object: nothing observed since, the current image's reading holds.
  cost.SetGoalEmbedding(goal);
  EXPECT_NEAR(cost.Score(still).item<double>(), 2, 1e-5);
  cost.Observe(seen);
  cost.ForgetObject();
  EXPECT_NEAR(cost.Score(still).item<double>(), 2, 1e-5);
  // The place needs the spread that tells the object hidden.
  o.hold_place = true;
  o.hidden_spread = 0;
  EXPECT_THROW(LatentGoalCost(model, o), std::invalid_argument);
}

TEST_F(GoalCostTest, AnEnsembleAveragesItsPredictorsAndChargesTheirDisagreement) {
  WorldModel model(Meta());
  WorldModel member(Meta());  // another predictor; the encoder made the same below
  WorldModel stranger(Meta());  // another encoder too
  {
    torch::NoGradGuard no_grad;
    auto from = model->encoder->parameters(), to = member->encoder->parameters();
    for (size_t i = 0; i < from.size(); ++i) to[i].copy_(from[i]);
  }
  auto goal = torch::rand({3, 32, 32}), now = torch::rand({1, 3, 32, 32});
  auto actions = torch::rand({5, 4, 2}) * 2 - 1;
  auto make = [&](WorldModel m, double weight, bool with_member) {
    GoalCostOptions o;
    o.disagreement_weight = weight;
    auto c = std::make_unique<LatentGoalCost>(m, o);
    if (with_member) c->AddMember(member);
    c->SetGoal(goal);
    c->SetContext(m->Encode(now));
    return c;
  };
  auto alone = make(model, 0, false), other = make(member, 0, false);
  auto mean = make(model, 0, true), charged = make(model, 2, true);
  EXPECT_EQ(mean->members(), 1);
  // The cost is the mean of the two predictors' costs...
  EXPECT_TRUE(torch::allclose((*mean)(actions), 0.5 * ((*alone)(actions) + (*other)(actions)), 1e-4, 1e-5));
  // ...plus the weight times the spread: for two, half the distance between their predictions at
  // each step, summed over the plan.
  auto za = alone->Predict(actions), zb = other->Predict(actions);
  auto spread = 0.5 * (za - zb).pow(2).sum(-1).sqrt().sum(1);
  EXPECT_GT(spread.min().item<double>(), 1e-3);
  EXPECT_TRUE(torch::allclose((*charged)(actions) - (*mean)(actions), 2 * spread, 1e-4, 1e-5));
  auto all = charged->PredictAll(actions);
  ASSERT_EQ(all.sizes(), (std::vector<int64_t>{2, 5, 4, 8}));
  EXPECT_TRUE(torch::allclose(all[1], zb, 1e-5, 1e-6));
  // A member with the model's own predictor adds nothing.
  {
    torch::NoGradGuard no_grad;
    auto from = model->predictor->parameters(), to = member->predictor->parameters();
    for (size_t i = 0; i < from.size(); ++i) to[i].copy_(from[i]);
  }
  EXPECT_TRUE(torch::allclose((*make(model, 2, true))(actions), (*alone)(actions), 1e-4, 1e-4));
  // A member with another encoder, or a negative weight, is refused.
  EXPECT_THROW(alone->AddMember(stranger), std::invalid_argument);
  EXPECT_THROW(make(model, -1, false), std::invalid_argument);
}

}  // namespace
}  // namespace jepa_mpc::world_model
