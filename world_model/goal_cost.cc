#include "world_model/goal_cost.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace jepa_mpc::world_model {

namespace {
std::string Shape(const torch::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}

// values [N, H, G] read where seen (visible [N, H] in [0, 1]), held from `held` [N, G] where not:
// step h is v_h x_h + (1 - v_h) x the step before's.
torch::Tensor HoldWhileHidden(const torch::Tensor& values, const torch::Tensor& visible, torch::Tensor held) {
  std::vector<torch::Tensor> steps;
  for (int64_t h = 0; h < values.size(1); ++h) {
    auto v = visible.select(1, h).unsqueeze(1);
    held = v * values.select(1, h) + (1 - v) * held;
    steps.push_back(held);
  }
  return torch::stack(steps, 1);
}
}  // namespace

LatentGoalCost::LatentGoalCost(WorldModel model, GoalCostOptions options)
    : model_(std::move(model)), options_(options) {
  if (!model_) throw std::invalid_argument("LatentGoalCost needs a world model");
  const GoalEnergy& e = model_->meta().energy;
  const int64_t D = model_->latent_dim();
  if (!e.weights.empty()) weights_ = torch::tensor(e.weights, torch::kDouble).to(torch::kFloat32);
  auto rows = [&](const std::vector<double>& v) {  // [M * D] -> [M, D]
    return torch::tensor(v, torch::kDouble).to(torch::kFloat32).reshape({-1, D});
  };
  if (!e.object.empty()) {
    object_ = rows(e.object);
    units_ = torch::tensor(e.units_per_metre, torch::kDouble).to(torch::kFloat32);
  }
  if (!e.reach.empty() && e.reach_weight > 0) {
    const torch::Tensor reach = rows(e.reach);
    reach_ = reach * e.reach_weight;
    bias_ = e.reach_bias.empty() ? torch::zeros({reach.size(0)})
                                 : torch::tensor(e.reach_bias, torch::kDouble).to(torch::kFloat32);
    reach_weight_ = e.reach_weight;
    push_offset_ = e.push_offset;  // > 0 only with the object's rows (set_energy)
    if (e.push_offset > 0 && !e.hand_from_state()) hand_ = reach + object_;
    if (e.hand_from_state()) {
      auto box = torch::tensor(e.hand_box, torch::kDouble).to(torch::kFloat32).view({3, 2});
      hand_low_ = box.select(1, 0).contiguous();
      hand_high_ = box.select(1, 1).contiguous();
      hand_step_ = torch::tensor(e.hand_step, torch::kDouble).to(torch::kFloat32);
      object_height_ = e.object_height;
      approach_height_ = e.approach_height;
    }
  }
  if (!e.table.empty() && object_.defined()) {
    auto beta = torch::tensor(e.table, torch::kDouble).view({-1, 3, 2});
    table_inverse_ = torch::inverse(beta.narrow(1, 0, 2)).to(torch::kFloat32);
    table_constant_ = beta.select(1, 2).to(torch::kFloat32);
  }
  const int64_t A = model_->meta().action_dim;
  if (needs_hand() && A < 3) {
    throw std::invalid_argument("a hand read from the robot moves by the first 3 action values (x, y, z); the model's "
                                "actions have " + std::to_string(A));
  }
  if (!(options_.disagreement_weight >= 0) || !std::isfinite(options_.disagreement_weight)) {
    throw std::invalid_argument("disagreement weight must be a number >= 0");
  }
  if (!(options_.reach_fade > 0) || !std::isfinite(options_.reach_fade)) {
    throw std::invalid_argument("reach fade must be a positive number of metres");
  }
  if (!(options_.arm_weight >= 0) || !std::isfinite(options_.arm_weight)) {
    throw std::invalid_argument("arm weight must be a number >= 0");
  }
  if (options_.arm_weight > 0) {
    const ModelConfig& c = model_->meta().config;
    if (c.object_keypoints == 0 || !weights_.defined()) {
      throw std::invalid_argument("arm weight needs a model with an object group and its object energy");
    }
    auto arm = torch::zeros({D});
    arm.narrow(0, 0, c.CoordinateDims()).fill_(options_.arm_weight);
    arm.index_fill_(0, ObjectGroupIndices(c), 0.0);
    weights_ = weights_ + arm;
  }
  if (options_.table_energy) {
    if (!table_inverse_.defined()) {
      throw std::invalid_argument("table energy needs a model with the object's table map (an object task trained "
                                  "on data with the object's positions)");
    }
    if (options_.arm_weight > 0 || options_.hidden_spread > 0) {
      throw std::invalid_argument("table energy reads the object alone from its table map: it takes neither an arm "
                                  "weight nor a hidden spread");
    }
    table_units_ = units_.mean().item<double>();
  }
  if (!(options_.hidden_spread >= 0) || !std::isfinite(options_.hidden_spread)) {
    throw std::invalid_argument("hidden spread must be a number >= 0");
  }
  if (options_.hidden_spread > 0) {
    const ModelConfig& c = model_->meta().config;
    if (c.SpreadDims() == 0 || !weights_.defined()) {
      throw std::invalid_argument("hidden spread needs a model trained with the object keypoints' spread "
                                  "(train --object-spread true) and its object energy");
    }
    if (options_.withdraw_steps > 0) {
      throw std::invalid_argument("hidden spread and a withdrawal are two answers to one problem: choose one");
    }
    const int64_t C = c.CoordinateDims();
    spread_index_ = C + weights_.narrow(0, C, c.SpreadDims()).argmax().item<int64_t>();
    coordinate_weights_ = weights_.clone();
    coordinate_weights_.narrow(0, C, c.SpreadDims()).zero_();
    if (options_.hold_place) object_index_ = ObjectGroupIndices(c);
  } else if (options_.hold_place) {
    throw std::invalid_argument("holding the hidden object's place needs the hidden spread that tells it hidden");
  }
  const bool touches = needs_hand() && table_inverse_.defined() && push_offset_ > 0 &&
                       model_->meta().config.object_keypoints > 0;
  if (std::isnan(options_.contact_height)) {
    // The default: on for a push model that can tell where the hand is, unless another hold is asked for.
    const bool other_hold = options_.hidden_spread > 0 || options_.withdraw_steps > 0;
    options_.contact_height = touches && !other_hold ? object_height_ : 0;
  }
  if (!(options_.contact_height >= 0) || !std::isfinite(options_.contact_height)) {
    throw std::invalid_argument("contact height must be a number of metres >= 0");
  }
  if (options_.contact_height > 0) {
    if (!touches) {
      throw std::invalid_argument("contact height needs a push model whose reaching term reads the hand from the "
                                  "robot (train --reach-hand state, a push offset, an object group and the object's table map)");
    }
    if (options_.hidden_spread > 0 || options_.withdraw_steps > 0) {
      throw std::invalid_argument("contact height holds the untouched object itself: it takes neither a hidden "
                                  "spread nor a withdrawal");
    }
    contact_index_ = ObjectGroupIndices(model_->meta().config);
  }
  if (options_.withdraw_steps < 0) {
    throw std::invalid_argument("withdraw steps is " + std::to_string(options_.withdraw_steps) +
                                ", expected 0 (none) or more");
  }
  if (options_.withdraw_steps > 0) {
    if (static_cast<int64_t>(options_.withdraw_action.size()) != A) {
      throw std::invalid_argument("withdraw action has " + std::to_string(options_.withdraw_action.size()) +
                                  " values, expected the model's " + std::to_string(A) + " action values");
    }
    for (float v : options_.withdraw_action) {
      if (!(v >= -1 && v <= 1)) throw std::invalid_argument("withdraw action values must lie in [-1, 1]");
    }
    withdraw_ = torch::tensor(options_.withdraw_action, torch::kFloat32)
                    .reshape({1, 1, A})
                    .expand({1, options_.withdraw_steps, A})
                    .contiguous();
  }
}

void LatentGoalCost::SetGoal(const torch::Tensor& goal_image) {
  const int64_t S = model_->meta().image_size;
  torch::Tensor g = goal_image.dim() == 3 ? goal_image.unsqueeze(0) : goal_image;
  if (g.dim() != 4 || g.size(0) != 1 || g.size(1) != 3 || g.size(2) != S || g.size(3) != S) {
    throw std::invalid_argument("goal image is " + Shape(goal_image) + ", expected [3, " +
                                std::to_string(S) + ", " + std::to_string(S) + "] (RGB, the model's size)");
  }
  if (!torch::isfinite(g).all().item<bool>()) {
    throw std::invalid_argument("goal image contains NaN or infinity");
  }
  goal_ = model_->Encode(g.to(torch::kFloat32))[0];
  belief_ = torch::Tensor();
}

void LatentGoalCost::SetGoalEmbedding(const torch::Tensor& z) {
  const int64_t D = model_->latent_dim();
  torch::Tensor g = z.reshape({-1});
  if (g.size(0) != D) {
    throw std::invalid_argument("goal embedding is " + Shape(z) + ", expected [" + std::to_string(D) + "]");
  }
  goal_ = g.to(torch::kFloat32).detach().clone();
  belief_ = torch::Tensor();
}

void LatentGoalCost::SetHand(const torch::Tensor& position) {
  if (!needs_hand()) return;
  if (position.numel() != 3 || !torch::isfinite(position).all().item<bool>()) {
    throw std::invalid_argument("hand position is " + Shape(position) + ", expected 3 finite values (metres)");
  }
  hand_now_ = position.reshape({3}).to(torch::kFloat32).detach().clone();
}

torch::Tensor LatentGoalCost::HandPath(const torch::Tensor& actions) const {
  if (!hand_now_.defined()) throw std::logic_error("LatentGoalCost: the hand's position was not given (SetHand)");
  auto moves = actions.narrow(-1, 0, 3) * hand_step_;  // [N, T, 3]
  auto p = hand_now_.expand({actions.size(0), 3});
  std::vector<torch::Tensor> path;
  for (int64_t t = 0; t < actions.size(1); ++t) {
    p = torch::max(torch::min(p + moves.select(1, t), hand_high_), hand_low_);
    path.push_back(p);
  }
  return torch::stack(path, 1);
}

void LatentGoalCost::Observe(const torch::Tensor& z) {
  if (!object_index_.defined()) return;
  if (!goal_.defined()) throw std::logic_error("LatentGoalCost: no goal set");
  auto now = z.reshape({-1}).narrow(0, 0, goal_.size(0)).to(torch::kFloat32).detach();
  auto place = now.index_select(0, object_index_);
  if (!belief_.defined()) {
    belief_ = place;
    return;
  }
  auto v = Visible(now);
  belief_ = v * place + (1 - v) * belief_;
}

void LatentGoalCost::SetContext(const torch::Tensor& embeddings, const torch::Tensor& past_actions,
                                const torch::Tensor& qpos) {
  const int64_t D = model_->latent_dim(), W = model_->history(), A = model_->meta().action_dim;
  const int64_t Q = model_->proprio_dim();
  if (embeddings.dim() != 2 || embeddings.size(0) < 1 || embeddings.size(1) != D) {
    throw std::invalid_argument("context embeddings are " + Shape(embeddings) + ", expected [K, " +
                                std::to_string(D) + "] with K >= 1");
  }
  const int64_t K = embeddings.size(0);
  torch::Tensor acts = past_actions.defined() ? past_actions : torch::zeros({0, A});
  if (acts.dim() != 2 || acts.size(0) != K - 1 || acts.size(1) != A) {
    throw std::invalid_argument("context actions are " + Shape(acts) + ", expected [" +
                                std::to_string(K - 1) + ", " + std::to_string(A) + "]");
  }
  if (Q > 0 && (!qpos.defined() || qpos.dim() != 2 || qpos.size(0) != K || qpos.size(1) != Q)) {
    throw std::invalid_argument("context joint states are " +
                                (qpos.defined() ? Shape(qpos) : std::string("missing")) +
                                ", expected [" + std::to_string(K) + ", " + std::to_string(Q) +
                                "] (this model needs the robot's joint state with each image)");
  }
  if (Q > 0 && !torch::isfinite(qpos).all().item<bool>()) {
    throw std::invalid_argument("context joint states contain NaN or infinity");
  }
  torch::Tensor z = model_->State(embeddings.to(torch::kFloat32),
                                  Q > 0 ? qpos.to(torch::kFloat32) : torch::Tensor());
  torch::Tensor a = acts.to(torch::kFloat32);
  const int64_t S = z.size(1);
  if (K >= W) {
    z = z.narrow(0, K - W, W);
    a = a.narrow(0, K - W, W - 1);
  } else {
    z = torch::cat({z.narrow(0, 0, 1).expand({W - K, S}), z});
    a = torch::cat({torch::zeros({W - K, A}), a});
  }
  context_ = z.unsqueeze(0).contiguous();
  past_ = a.unsqueeze(0).contiguous();
}

torch::Tensor LatentGoalCost::Distance(const torch::Tensor& z) const {
  if (options_.table_energy) return ObjectDistance(z) * table_units_;
  return Weighted(z, weights_);
}

torch::Tensor LatentGoalCost::Weighted(const torch::Tensor& z, const torch::Tensor& weights) const {
  if (!goal_.defined()) throw std::logic_error("LatentGoalCost: no goal set");
  auto diff = z.narrow(-1, 0, goal_.size(0)) - goal_;
  if (options_.l1) return (weights.defined() ? diff.abs() * weights : diff.abs()).sum(-1);
  auto squared = diff.pow(2);
  if (weights.defined()) squared = squared * weights;
  return squared.sum(-1).add(1e-12).sqrt();
}

torch::Tensor LatentGoalCost::Visible(const torch::Tensor& z) const {
  const double seen = goal_[spread_index_].item<double>();
  return (1 - (z.select(-1, spread_index_) - seen) / options_.hidden_spread).clamp(0, 1);
}

torch::Tensor LatentGoalCost::HeldPlace(const torch::Tensor& z) const {
  if (!context_.defined()) throw std::logic_error("LatentGoalCost: no context set");
  // Nothing observed yet: the current image's reading.
  auto before = belief_.defined() ? belief_ : context_[0][context_.size(1) - 1].index_select(0, object_index_);
  auto held = HoldWhileHidden(z.index_select(-1, object_index_), Visible(z),
                              before.expand({z.size(0), object_index_.size(0)}));
  return z.index_copy(-1, object_index_, held);
}

torch::Tensor LatentGoalCost::HeldUntouched(const torch::Tensor& z, const torch::Tensor& hand) const {
  if (!hand.defined()) throw std::logic_error("LatentGoalCost: holding the untouched object needs the hand's path");
  const int64_t N = z.size(0), H = z.size(1), G = contact_index_.size(0), D = model_->latent_dim();
  constexpr double kRamp = 0.02;  // metres over which each ramp falls from 1 to 0
  const auto predicted = z.index_select(-1, contact_index_);  // [N, H, G]
  // Before the first step: the current image's place; sequences scored without a context (seen
  // ones: energy maps, the perfect predictor's frames) start where their first step shows it.
  auto held = context_.defined() ? context_[0][context_.size(1) - 1].index_select(0, contact_index_).expand({N, G})
                                 : predicted.select(1, 0);
  const double near = push_offset_ + 0.015, low = object_height_ + options_.contact_height;
  std::vector<torch::Tensor> steps;
  for (int64_t h = 0; h < H; ++h) {
    const auto now = z.select(1, h).narrow(-1, 0, D).index_copy(-1, contact_index_, held);  // [N, D]
    const auto place = TablePlace(now).mean(-2);                                           // [N, 2] metres
    const auto at = hand.select(1, h);                                                      // [N, 3]
    const auto across = (at.narrow(-1, 0, 2) - place).pow(2).sum(-1).add(1e-12).sqrt();
    const auto v = ((near + kRamp - across) / kRamp).clamp(0, 1) *
                   ((low + kRamp - at.select(-1, 2)) / kRamp).clamp(0, 1);  // [N]
    held = v.unsqueeze(1) * predicted.select(1, h) + (1 - v.unsqueeze(1)) * held;
    steps.push_back(held);
  }
  return z.index_copy(-1, contact_index_, torch::stack(steps, 1));
}

torch::Tensor LatentGoalCost::HeldDistance(const torch::Tensor& z) const {
  if (!context_.defined()) throw std::logic_error("LatentGoalCost: no context set");
  auto coordinates = [&](const torch::Tensor& x) { return Weighted(x, coordinate_weights_); };
  auto before = coordinates(context_.select(1, context_.size(1) - 1)).expand({z.size(0)}).unsqueeze(1);  // [N, 1]
  return HoldWhileHidden(coordinates(z).unsqueeze(2), Visible(z), before).squeeze(2);
}

torch::Tensor LatentGoalCost::Reach(const torch::Tensor& z, const torch::Tensor& hand) const {
  const int64_t D = model_->latent_dim();
  auto e = z.narrow(-1, 0, D);
  if (!reach_.defined()) return torch::zeros(e.sizes().slice(0, e.dim() - 1), e.options());
  if (needs_hand()) {
    if (!hand.defined()) throw std::logic_error("LatentGoalCost: this model's reaching term needs the hand's path");
    if (!goal_.defined()) throw std::logic_error("LatentGoalCost: no goal set");
    const int64_t V = units_.size(0);
    auto object = TablePlace(e);
    auto away = object - TablePlace(goal_);
    auto d = away.pow(2).sum(-1, true).add(1e-12).sqrt();  // [..., V, 1] metres
    auto fade = d / (d.pow(2) + options_.reach_fade * options_.reach_fade).sqrt();
    auto behind = object + away / d * push_offset_;
    auto hand_xy = hand.narrow(-1, 0, 2).unsqueeze(-2);  // [..., 1, 2]
    auto height = torch::full_like(d, object_height_);
    if (approach_height_ > 0) {
      // Away from the point, the hand is drawn above the object's height: it comes down from above.
      auto across = (hand_xy - behind).pow(2).sum(-1, true).add(1e-12).sqrt();
      height = height + approach_height_ * (across / std::max(push_offset_, 1e-3)).clamp_max(1);
    }
    auto target = torch::cat({behind, height}, -1);  // [..., V, 3]
    auto gap = (hand.unsqueeze(-2) - target) * (fade * units_.view({V, 1}));
    return gap.pow(2).sum({-2, -1}).add(1e-12).sqrt() * reach_weight_;
  }
  if (!hand_.defined()) {  // no push offset: the hand drawn onto the object
    return (torch::matmul(e, reach_.t()) + bias_ * reach_weight_).pow(2).sum(-1).add(1e-12).sqrt();
  }
  if (!goal_.defined()) throw std::logic_error("LatentGoalCost: no goal set");
  const int64_t V = units_.size(0);
  auto object = PerView(torch::matmul(e, object_.t()));
  auto seen_hand = PerView(torch::matmul(e, hand_.t()) + bias_);
  auto away = object - PerView(torch::matmul(goal_, object_.t()));  // from the goal's object
  auto d = away.pow(2).sum(-1, true).add(1e-12).sqrt();               // [..., V, 1]
  auto unit = units_.view({V, 1});
  auto fade = d / (d.pow(2) + (options_.reach_fade * unit).pow(2)).sqrt();
  auto behind = object + away / d * (push_offset_ * unit);
  return (fade * (seen_hand - behind)).pow(2).sum({-2, -1}).add(1e-12).sqrt() * reach_weight_;
}

torch::Tensor LatentGoalCost::PerView(const torch::Tensor& x) const {
  auto sizes = x.sizes().vec();
  sizes.back() = units_.size(0);
  sizes.push_back(2);
  return x.reshape(sizes);
}

torch::Tensor LatentGoalCost::TablePlace(const torch::Tensor& e) const {
  auto keypoints = PerView(torch::matmul(e.narrow(-1, 0, object_.size(1)), object_.t())) - table_constant_;
  return torch::matmul(keypoints.unsqueeze(-2), table_inverse_).squeeze(-2);  // [..., V, 1, 2] x [V, 2, 2]
}

torch::Tensor LatentGoalCost::ObjectDistance(const torch::Tensor& z) const {
  if (!reads_object()) throw std::logic_error("LatentGoalCost: this model has no table map to read the object by");
  if (!goal_.defined()) throw std::logic_error("LatentGoalCost: no goal set");
  return (TablePlace(z) - TablePlace(goal_)).pow(2).sum(-1).add(1e-12).sqrt().mean(-1);
}

void LatentGoalCost::AddMember(WorldModel member) {
  if (!member) throw std::invalid_argument("ensemble member: no model");
  const ModelMeta &a = model_->meta(), &b = member->meta();
  if (member->state_dim() != model_->state_dim() || member->history() != model_->history() ||
      b.action_dim != a.action_dim || b.image_size != a.image_size || b.robot != a.robot) {
    throw std::invalid_argument("ensemble member is a model of another shape (robot, image, action, embedding or "
                                "history), expected another predictor of the same trained run");
  }
  auto mine = model_->encoder->parameters(), theirs = member->encoder->parameters();
  bool same = mine.size() == theirs.size();
  for (size_t i = 0; same && i < mine.size(); ++i) {
    same = mine[i].sizes() == theirs[i].sizes() && torch::equal(mine[i], theirs[i]);
  }
  if (!same) {
    throw std::invalid_argument("ensemble member has another encoder, expected the same trained run's encoder "
                                "with another predictor (train --resume --predictor-seed on a copy of the run)");
  }
  member->eval();
  members_.push_back(std::move(member));
}

torch::Tensor LatentGoalCost::Rollout(WorldModel& model, const torch::Tensor& actions) {
  if (!context_.defined()) throw std::logic_error("LatentGoalCost: no context set");
  const int64_t N = actions.size(0);
  auto context = context_.expand({N, context_.size(1), context_.size(2)});
  return actions.requires_grad() ? model->RolloutDifferentiable(context, actions, past_)
                                 : model->Rollout(context, actions, past_);
}

torch::Tensor LatentGoalCost::Predict(const torch::Tensor& actions) { return Rollout(model_, actions); }

torch::Tensor LatentGoalCost::PredictAll(const torch::Tensor& actions) {
  std::vector<torch::Tensor> z{Rollout(model_, actions)};
  for (auto& m : members_) z.push_back(Rollout(m, actions));
  return torch::stack(z);
}

torch::Tensor LatentGoalCost::Spread(const torch::Tensor& z) const {
  auto e = z.narrow(-1, 0, model_->latent_dim());
  auto var = e.var(0, /*unbiased=*/false);  // [N, H, D]
  if (weights_.defined()) var = var * weights_;
  return var.sum(-1).add(1e-12).sqrt();
}

torch::Tensor LatentGoalCost::WithWithdrawal(const torch::Tensor& actions) const {
  if (!withdraw_.defined()) return actions;
  return torch::cat({actions, withdraw_.expand({actions.size(0), withdraw_.size(1), withdraw_.size(2)})}, 1);
}

torch::Tensor LatentGoalCost::operator()(const torch::Tensor& actions) {
  if (!goal_.defined()) throw std::logic_error("LatentGoalCost: no goal set");
  const int64_t N = actions.size(0);
  const torch::Tensor full = WithWithdrawal(actions);
  const torch::Tensor hand = needs_hand() ? HandPath(full) : torch::Tensor();
  if (members_.empty()) return Score(Predict(full), hand);
  const torch::Tensor z = PredictAll(full);  // [K, N, T, S]
  const int64_t K = z.size(0);
  const torch::Tensor hands = hand.defined() ? hand.unsqueeze(0).expand({K, -1, -1, -1}).flatten(0, 1) : hand;
  torch::Tensor cost = Score(z.flatten(0, 1), hands).view({K, N}).mean(0);
  if (options_.disagreement_weight > 0) cost = cost + options_.disagreement_weight * Judged(Spread(z));
  return cost;
}

torch::Tensor LatentGoalCost::Judged(const torch::Tensor& per_step) const {
  const int64_t W = options_.withdraw_steps;
  if (W > 0) {
    const int64_t H = per_step.size(1) - W;
    auto end = per_step.select(1, per_step.size(1) - 1);
    return options_.sum_over_horizon ? end * static_cast<double>(H) : end;
  }
  return options_.sum_over_horizon ? per_step.sum(1) : per_step.select(1, per_step.size(1) - 1);
}

torch::Tensor LatentGoalCost::Score(const torch::Tensor& z, const torch::Tensor& hand, torch::Tensor* reach_part) const {
  if (!goal_.defined()) throw std::logic_error("LatentGoalCost: no goal set");
  if (z.dim() != 3) throw std::invalid_argument("LatentGoalCost: sequences to score must be [N, H, D]");
  auto reached = [&](torch::Tensor r) {  // records the reaching term's share as it is added
    if (reach_part) *reach_part = r;
    return r;
  };
  const int64_t W = options_.withdraw_steps;
  if (W > 0) {
    if (z.size(1) <= W) {
      throw std::invalid_argument("LatentGoalCost: sequences of " + std::to_string(z.size(1)) +
                                  " steps to score with a withdrawal of " + std::to_string(W) +
                                  ", expected the plan's steps and then the withdrawal's");
    }
    const int64_t H = z.size(1) - W;
    auto plan = z.narrow(1, 0, H);
    auto withdrawn = Judged(Distance(z));  // [N]
    const torch::Tensor plan_hand = hand.defined() ? hand.narrow(1, 0, H) : hand;
    if (options_.sum_over_horizon) return withdrawn + reached(Reach(plan, plan_hand).sum(1));
    return withdrawn +
           reached(Reach(plan.select(1, H - 1), plan_hand.defined() ? plan_hand.select(1, H - 1) : plan_hand));
  }
  const torch::Tensor& scored =
      object_index_.defined() ? HeldPlace(z) : (contact_index_.defined() ? HeldUntouched(z, hand) : z);
  auto d = object_index_.defined() ? Weighted(scored, coordinate_weights_)
                                   : (spread_index_ >= 0 ? HeldDistance(z) : Distance(scored));  // [N, H]
  if (!reach_.defined()) {
    if (reach_part) *reach_part = torch::zeros({z.size(0)}, d.options());
    return Judged(d);
  }
  auto r = Reach(scored, hand);
  if (reach_part) *reach_part = Judged(r);
  return Judged(d + r);  // summed per step first, as planning has always added them
}

LatentGoalCost::Terms LatentGoalCost::Explain(const torch::Tensor& actions) {
  if (!goal_.defined()) throw std::logic_error("LatentGoalCost: no goal set");
  torch::NoGradGuard no_grad;
  const torch::Tensor full = WithWithdrawal(actions);
  const torch::Tensor hand = needs_hand() ? HandPath(full) : torch::Tensor();
  const torch::Tensor z = Predict(full);
  Terms t;
  t.total = Score(z, hand, &t.reach);
  t.distance = t.total - t.reach;
  if (reads_object()) t.object = ObjectDistance(z.select(1, actions.size(1) - 1));
  return t;
}

torch::Tensor ImagesFromRgb(const uint8_t* rgb, int64_t count, int64_t height, int64_t width) {
  return torch::from_blob(const_cast<uint8_t*>(rgb), {count, height, width, 3}, torch::kUInt8)
      .permute({0, 3, 1, 2})
      .to(torch::kFloat32)
      .div_(255.0);
}

}  // namespace jepa_mpc::world_model
