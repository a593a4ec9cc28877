#pragma once

// The latent goal cost: encode the goal image once, roll candidate action sequences out in the
// world model from the current context, and score each by its distance to the goal embedding.
// A LatentGoalCost is callable as actions [N, H, A] -> costs [N], the shape planners expect.

#include <torch/torch.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "world_model/world_model.h"

namespace jepa_mpc::world_model {

struct GoalCostOptions {
  bool l1 = false;               // L1 distance instead of L2 (the JEPA-WM study found L2 better)
  bool sum_over_horizon = true;  // sum the distance over the H predicted steps, not only the last
  // The goal judged after a withdrawal: when withdraw_steps > 0, every candidate is followed in
  // the model by withdraw_steps of withdraw_action (e.g. the hand lifted off the table), and the
  // distance to the goal is taken at the end of that withdrawal instead of along the plan (H
  // times it when summing over the horizon); the reaching term still runs along the plan. For a
  // goal image that shows the arm away from the object it moves: near the object the arm
  // changes how the object is seen, so the object's place is judged with the arm withdrawn.
  int withdraw_steps = 0;
  std::vector<float> withdraw_action;  // [A]
  // With ensemble members (LatentGoalCost::AddMember), every predictor rolls each candidate out;
  // its cost is the mean of their costs plus disagreement_weight x how far apart they predict it
  // (the weighted standard deviation across the predictors at each step the distance is taken,
  // summed as the distance is): a plan whose outcome only some predictors believe in is one the
  // planner would be exploiting an error with.
  double disagreement_weight = 0;
  // For a model whose embedding carries the object keypoints' spread (model option
  // object_spread): > 0 holds the distance to the goal at its last seen value while the object
  // is hidden, instead of reading it from a keypoint that has nothing to follow. The object is
  // seen to the degree v = clamp(1 - (s - s_goal) / hidden_spread, 0, 1), s the spread of the
  // object group's keypoint that weighs most in the energy (s_goal: the goal image's), and the
  // distance at step h is v d_h + (1 - v) times the step before's (before the first: the current
  // image's). The spread itself then adds nothing to the distance. 0: off.
  double hidden_spread = 0;
  // What the hidden object's hold keeps (with hidden_spread > 0): false, its distance to the goal;
  // true, its place: the object group's coordinates are held at their last seen values (the
  // belief v z_h + (1 - v) x the step before's), across control steps too (Observe), and both the
  // distance and the reaching term read the held place. Holding the place keeps the reaching
  // term drawing the hand to where the object was last seen, which the held distance cannot.
  bool hold_place = false;
  // A model with an object group: the arm's keypoints join the distance to the goal, each weighed
  // arm_weight (the object energy weighs them 0), so that a plan also ends with the arm where
  // the goal image shows it. For goal images whose arm is where a push leaves it. 0: off.
  double arm_weight = 0;
  // A model with the object's table map (GoalEnergy::table): the distance to the goal is the
  // object's distance from its place in the goal image read on the table, in metres times the
  // views' mean units (ObjectDistance), instead of the object keypoints' distance in the image.
  // The camera sees the table at a slant, so in the image a centimetre along its line of sight
  // is shorter than one across it; on the table both weigh alike. Not with arm_weight or
  // hidden_spread.
  bool table_energy = false;
  // The reaching term's fade near the goal (with a push offset): the pull to the point behind
  // the object is scaled by d / sqrt(d^2 + reach_fade^2), d the object's distance from its goal
  // (metres). Near the goal "behind" turns with every error in the object's reading, and a hand
  // drawn round it moves the object; a larger fade lets the hand go sooner.
  double reach_fade = 0.01;
  // A model with the hand read from the robot and the object's table map: > 0 lets a predicted
  // object move only where the hand's path could touch it, and holds it where it was believed
  // to be at every other step. Without it the planner finds plans whose hand passes over the
  // object while the predicted object slides to its goal (the predictor's error, which the true
  // scene does not repeat: docs/experiments/push.md, "The block moves only where the hand can
  // touch it"). At step h the object's coordinates are v x the predicted ones + (1 - v) x the
  // step before's held ones (before the first: the current image's, or without a context the
  // sequence's first step's), v the product of two
  // ramps: 1 with the hand at most contact_height above the object's height, 0 from 2 cm higher;
  // 1 with the hand within the push offset + 1.5 cm of the held object across the table, 0 from
  // 2 cm farther. The distance and the reaching term then read the held object. NaN (the
  // default): the object's height (GoalEnergy::object_height, a block's half height: the fingers
  // touch it up to its top) for such a model, off for others. 0: off.
  double contact_height = std::nan("");
};

class LatentGoalCost {
 public:
  explicit LatentGoalCost(WorldModel model, GoalCostOptions options = {});
  // The options as resolved for this model (contact_height's NaN default made a number).
  const GoalCostOptions& options() const { return options_; }

  // goal: [3, S, S] or [1, 3, S, S] float in [0, 1], S the model's image size.
  // Throws std::invalid_argument on another shape or non-finite pixels.
  void SetGoal(const torch::Tensor& goal_image);
  void SetGoalEmbedding(const torch::Tensor& z);  // [D] or [1, D]
  bool has_goal() const { return goal_.defined(); }
  const torch::Tensor& goal_embedding() const { return goal_; }

  // The current context: embeddings [K, D] (oldest first, the last is now; K >= 1), the K-1
  // actions taken between them and, for a model with proprioception, the joint states [K, Q]
  // seen with them. Only the last W are used; with fewer than W the earliest is repeated with
  // zero actions, as in training's start-of-episode padding.
  void SetContext(const torch::Tensor& embeddings, const torch::Tensor& past_actions = {},
                  const torch::Tensor& qpos = {});
  // With the place held (GoalCostOptions::hold_place): the embedding [D] seen now updates where
  // the object is believed to be, held where it is hidden. A controller calls it once per image;
  // SetGoal and ForgetObject start afresh (the first image's reading, whatever its spread).
  void Observe(const torch::Tensor& z);
  void ForgetObject() { belief_ = torch::Tensor(); }

  // With a hand read from the robot (GoalEnergy::hand_from_state): the end effector's position
  // now, [3] metres, before each plan. Throws std::invalid_argument for another shape or
  // non-finite values.
  bool needs_hand() const { return hand_step_.defined(); }
  void SetHand(const torch::Tensor& position);
  // Where the hand goes under actions [N, T, A]: [N, T, 3], each step clamp(p + a * hand_step, box)
  // from the position SetHand gave. Throws std::logic_error before SetHand.
  torch::Tensor HandPath(const torch::Tensor& actions) const;

  // actions [N, H, A] -> costs [N]. Differentiable in the actions when they require gradient.
  torch::Tensor operator()(const torch::Tensor& actions);
  // Costs [N] of embedding sequences [N, H, D] (or states [N, H, S]) as operator() scores the
  // predicted ones: the distance to the goal plus the reaching term, summed over the H steps or
  // the last step's alone. With a withdrawal (GoalCostOptions::withdraw_steps W > 0) the
  // sequences are [N, H + W, D]: the plan's H steps, then the withdrawal's W. With a hand read
  // from the robot, hand [N, H(+W), 3] is where the hand is at each step (HandPath); without it
  // (undefined) such a model's reaching term throws std::logic_error.
  // reach_part, when given, receives the reaching term's share of each cost, [N], summed or taken
  // as the cost takes it.
  torch::Tensor Score(const torch::Tensor& z, const torch::Tensor& hand = {}, torch::Tensor* reach_part = nullptr) const;
  // What operator() would charge actions [N, T, A], in parts, as the first predictor predicts
  // them (no ensemble mean, no disagreement): total = distance + reach, each [N]; object: the
  // object's predicted distance from its place in the goal image after the last action (m, read
  // on the table as ObjectDistance), undefined for a model without the table map. For explaining
  // a plan: why the planner preferred one sequence to another.
  struct Terms {
    torch::Tensor total, distance, reach, object;
  };
  Terms Explain(const torch::Tensor& actions);
  // The states the model predicts after each action from the current context: [N, H, S] (their
  // first D values are the embedding, D = goal_embedding().size(0)).
  torch::Tensor Predict(const torch::Tensor& actions);
  // Distance of embeddings [..., D] (or states [..., S], whose first D values are compared) to
  // the goal, weighted by the model's goal-energy weights when it has them: [...].
  torch::Tensor Distance(const torch::Tensor& z) const;
  // The model's reaching term (GoalEnergy): reach_weight * ||R z||, [...]; zeros without one.
  // With a push offset p (GoalEnergy::push_offset > 0), per view: the hand's distance to the point
  // p behind the object on its far side from the goal, times f = d / sqrt(d^2 + (1 cm)^2), d the
  // object's distance from its place in the goal image (both in that view's keypoint units).
  // With a hand read from the robot, hand [..., 3] (metres) is the hand: its distance to that
  // point read on the table (GoalEnergy::table), at the object's height, in metres times the
  // view's units, faded alike (d in metres).
  torch::Tensor Reach(const torch::Tensor& z, const torch::Tensor& hand = {}) const;

  // With the object's table map (GoalEnergy::table, models trained on data with the object's
  // positions): the object's distance from its place in the goal image, read on the table from
  // embeddings [..., D] (or states), metres, the mean over the views: [...]. Throws
  // std::logic_error for a model without the map or before a goal.
  bool reads_object() const { return table_inverse_.defined(); }
  torch::Tensor ObjectDistance(const torch::Tensor& z) const;

  // Adds a predictor to the ensemble: `member` must be the same trained run's encoder with
  // another predictor (train --predictor-seed), or std::invalid_argument names what differs.
  void AddMember(WorldModel member);
  int64_t members() const { return static_cast<int64_t>(members_.size()); }
  // Predicted states of every predictor, the model's first then the members': [1 + members, N, H, S].
  torch::Tensor PredictAll(const torch::Tensor& actions);
  // How far apart the predictors are for states [K, N, H, S]: at each step, the standard deviation
  // across the K of each embedding value, weighted as the distance weighs it: [N, H].
  torch::Tensor Spread(const torch::Tensor& z) const;

  WorldModel& model() { return model_; }

 private:
  torch::Tensor Rollout(WorldModel& model, const torch::Tensor& actions);
  // Actions [N, T, A] followed by the withdrawal's W steps, [N, T + W, A] (unchanged without one).
  torch::Tensor WithWithdrawal(const torch::Tensor& actions) const;
  // Per-step values [N, H(+W)] summed as the distance is: over the plan, at its last step or H
  // times at the withdrawal's end.
  torch::Tensor Judged(const torch::Tensor& per_step) const;
  // Distance [N, H] of embedding sequences [N, H, S] with the object's held while it is hidden
  // (GoalCostOptions::hidden_spread).
  torch::Tensor HeldDistance(const torch::Tensor& z) const;
  // States [N, H, S] with the object group's coordinates held while it is hidden, from the
  // belief (GoalCostOptions::hold_place).
  torch::Tensor HeldPlace(const torch::Tensor& z) const;
  // States [N, H, S] with the object group's coordinates held where the hand's path [N, H, 3]
  // could not touch it (GoalCostOptions::contact_height).
  torch::Tensor HeldUntouched(const torch::Tensor& z, const torch::Tensor& hand) const;
  // How far the object is seen in states [..., S]: 1 in sight, 0 hidden (hidden_spread).
  torch::Tensor Visible(const torch::Tensor& z) const;
  // Distance of z [..., S] to the goal under per-feature weights [D] (undefined: all 1).
  torch::Tensor Weighted(const torch::Tensor& z, const torch::Tensor& weights) const;
  // Values [..., 2V] of the per-view rows (each view's x, then its y) -> [..., V, 2].
  torch::Tensor PerView(const torch::Tensor& x) const;
  // The object's place on the table read from embeddings [..., D]: [..., V, 2] metres.
  torch::Tensor TablePlace(const torch::Tensor& e) const;

  WorldModel model_;
  std::vector<WorldModel> members_;
  GoalCostOptions options_;
  torch::Tensor goal_;     // [D]
  torch::Tensor weights_;  // [D] goal-energy weights; undefined: all 1
  torch::Tensor reach_;    // [M, D] reaching rows times reach_weight; undefined: none
  torch::Tensor bias_;     // [M] the hand's constant (GoalEnergy::reach_bias)
  // With the object's positions in the data: the object's rows [M, D] (M = 2V) and keypoint units
  // per metre [V]; with a push offset and the image's hand, the hand's rows [M, D].
  torch::Tensor object_, hand_, units_;
  double reach_weight_ = 0, push_offset_ = 0;
  double table_units_ = 0;  // table_energy: the views' mean units per metre
  // The table map's inverse per view ([V, 2, 2] and the constant [V, 2]: table xy = (keypoints -
  // c) B^-1); undefined without GoalEnergy::table.
  torch::Tensor table_inverse_, table_constant_;
  // A hand read from the robot: its move per action unit [3], box [3] low and high, the object's
  // height, and the hand now [3] (undefined until SetHand).
  torch::Tensor hand_step_, hand_low_, hand_high_, hand_now_;
  double object_height_ = 0, approach_height_ = 0;
  // With hidden_spread: the weights without the spread's, and the spread value that gates.
  torch::Tensor coordinate_weights_;  // [D]
  int64_t spread_index_ = -1;
  torch::Tensor object_index_;  // [G] the object group's coordinates (hold_place)
  torch::Tensor contact_index_;  // [G] the object group's coordinates (contact_height)
  torch::Tensor belief_;        // [G] where they are believed to be; undefined: nothing seen yet
  torch::Tensor withdraw_;  // [1, withdraw_steps, A]; undefined: no withdrawal
  torch::Tensor context_;  // [1, W, S]
  torch::Tensor past_;     // [1, W-1, A]
};

// Packed RGB bytes (count x height x width x 3, rows top to bottom) -> [count, 3, height, width]
// float in [0, 1].
torch::Tensor ImagesFromRgb(const uint8_t* rgb, int64_t count, int64_t height, int64_t width);

}  // namespace jepa_mpc::world_model
