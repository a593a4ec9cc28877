#include "control/controller.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <stdexcept>

#include "planner/factory.h"
#include "planner/mpc.h"
#include "world_model/checkpoint.h"
#include "world_model/goal_cost.h"

namespace jepa_mpc {

namespace {

void CheckOptions(const ControllerOptions& o) {
  auto positive = [](int v, const char* name) {
    if (v <= 0) {
      throw std::invalid_argument(std::string("controller option ") + name + " is " +
                                  std::to_string(v) + ", expected positive");
    }
  };
  positive(o.horizon, "horizon");
  if (o.iterations < 0) throw std::invalid_argument("controller option iterations must be >= 0 (0: the planner's default)");
  positive(o.action_repeat, "action_repeat");
  if (o.samples < 0) throw std::invalid_argument("controller option samples must be >= 0");
  if (o.elites < 0) throw std::invalid_argument("controller option elites must be >= 0");
  if (!(o.time_budget >= 0) || !std::isfinite(o.time_budget)) {
    throw std::invalid_argument("controller option time_budget must be a non-negative number of seconds");
  }
  if (!(o.disagreement_weight >= 0) || !std::isfinite(o.disagreement_weight)) {
    throw std::invalid_argument("controller option disagreement_weight must be a number >= 0");
  }
  if (o.disagreement_weight > 0 && o.ensemble.empty()) {
    throw std::invalid_argument("controller option disagreement_weight needs ensemble checkpoints to disagree");
  }
}

// One step of the controller's history: what was seen, and the action applied after it.
struct Frame {
  torch::Tensor z;       // [D] embedding
  torch::Tensor joints;  // [Q] joint state (models with proprioception), else undefined
  torch::Tensor action;  // [A] applied after this frame; undefined until Act returns
};

}  // namespace

struct Controller::Impl {
  ControllerOptions options;
  world_model::WorldModel model{nullptr};
  std::unique_ptr<world_model::LatentGoalCost> cost;
  std::unique_ptr<planner::RecedingHorizon> mpc;
  std::deque<Frame> history;  // the last W frames, oldest first (LatentGoalCost pads fewer)
  ActInfo last;

  // The context the model predicts from: embeddings [K, D], the K-1 actions between them and
  // the joint states [K, Q] (undefined without proprioception).
  void SetContext() {
    std::vector<torch::Tensor> z, a, q;
    for (const Frame& f : history) {
      z.push_back(f.z);
      if (f.joints.defined()) q.push_back(f.joints);
      if (&f != &history.back()) a.push_back(f.action);
    }
    const int64_t A = model->meta().action_dim;
    cost->SetContext(torch::stack(z), a.empty() ? torch::zeros({0, A}) : torch::stack(a),
                     q.empty() ? torch::Tensor() : torch::stack(q));
  }

  torch::Tensor ToTensor(const ImageView& image, const char* what) const {
    const int S = static_cast<int>(model->meta().image_size);
    if (image.rgb == nullptr) throw std::invalid_argument(std::string(what) + " image has no pixels");
    if (image.height != S || image.width != S) {
      throw std::invalid_argument(std::string(what) + " image is " + std::to_string(image.width) +
                                  "x" + std::to_string(image.height) + ", the model expects " +
                                  std::to_string(S) + "x" + std::to_string(S) + " RGB");
    }
    return world_model::ImagesFromRgb(image.rgb, 1, S, S);
  }
};

Controller::Controller(const std::string& checkpoint, ControllerOptions options)
    : impl_(std::make_unique<Impl>()) {
  CheckOptions(options);
  impl_->options = options;
  impl_->model = world_model::LoadCheckpoint(checkpoint).model;
  impl_->model->eval();
  impl_->model->predictor->set_bfloat16_hidden(options.bfloat16);
  world_model::GoalCostOptions co;
  co.l1 = options.l1;
  co.sum_over_horizon = options.sum_over_horizon;
  co.withdraw_steps = options.withdraw_steps;
  co.withdraw_action = options.withdraw_action;
  co.disagreement_weight = options.disagreement_weight;
  co.hidden_spread = options.hidden_spread;
  co.hold_place = options.hold_place;
  co.arm_weight = options.arm_weight;
  co.reach_fade = options.reach_fade;
  co.contact_height = options.contact_height;
  co.table_energy = options.table_energy;
  impl_->cost = std::make_unique<world_model::LatentGoalCost>(impl_->model, co);
  impl_->options.contact_height = impl_->cost->options().contact_height;  // the default resolved
  for (const std::string& path : options.ensemble) {
    try {
      world_model::WorldModel member = world_model::LoadCheckpoint(path).model;
      member->predictor->set_bfloat16_hidden(options.bfloat16);
      impl_->cost->AddMember(member);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("ensemble checkpoint '" + path + "': " + e.what());
    }
  }
  planner::PlannerOptions po;
  po.horizon = options.horizon;
  po.action_dim = impl_->model->meta().action_dim;
  po.iterations = planner::IterationsPerStep(options.planner, options.iterations);
  po.seed = options.seed;
  po.time_budget = options.time_budget;
  impl_->mpc = std::make_unique<planner::RecedingHorizon>(
      planner::MakePlanner({options.planner, options.samples, options.elites, options.temperature}, po),
      options.action_repeat);
}

Controller::~Controller() = default;
Controller::Controller(Controller&&) noexcept = default;
Controller& Controller::operator=(Controller&&) noexcept = default;

std::string Controller::robot() const { return impl_->model->meta().robot; }
std::string Controller::task() const { return impl_->model->meta().task; }
std::string Controller::camera() const { return impl_->model->meta().camera; }
int Controller::antialias() const { return static_cast<int>(impl_->model->meta().antialias); }
int Controller::image_size() const { return static_cast<int>(impl_->model->meta().image_size); }
int Controller::action_dim() const { return static_cast<int>(impl_->model->meta().action_dim); }
int Controller::proprio_dim() const { return static_cast<int>(impl_->model->proprio_dim()); }
int Controller::hand_dim() const { return impl_->cost->needs_hand() ? 3 : 0; }
const ControllerOptions& Controller::options() const { return impl_->options; }
const ActInfo& Controller::last() const { return impl_->last; }

void Controller::SetGoal(const ImageView& goal) {
  impl_->cost->SetGoal(impl_->ToTensor(goal, "goal"));
  Reset();
}

void Controller::Reseed(uint64_t seed) { impl_->mpc->planner().Reseed(seed); }

void Controller::Reset() {
  impl_->history.clear();
  impl_->cost->ForgetObject();
  impl_->mpc->Reset();
  impl_->last = ActInfo{};
}

double Controller::Energy(const ImageView& observation) {
  if (!impl_->cost->has_goal()) throw std::logic_error("Controller: SetGoal before Energy");
  auto z = impl_->model->Encode(impl_->ToTensor(observation, "observation"));
  return impl_->cost->Distance(z[0]).item<double>();
}

std::vector<double> Controller::FutureCosts(const std::vector<ImageView>& frames, int steps,
                                            const std::vector<double>& hands) {
  Impl& m = *impl_;
  if (!m.cost->has_goal()) throw std::logic_error("Controller: SetGoal before FutureCosts");
  if (steps <= 0 || frames.empty() || frames.size() % static_cast<size_t>(steps) != 0) {
    throw std::invalid_argument("future frames: " + std::to_string(frames.size()) + " images for " +
                                std::to_string(steps) + " steps, expected a positive multiple of the steps");
  }
  torch::NoGradGuard no_grad;
  const int64_t S = m.model->meta().image_size;
  constexpr size_t kBatch = 256;  // images encoded at once: bounds the activations' memory
  std::vector<torch::Tensor> z;
  for (size_t start = 0; start < frames.size(); start += kBatch) {
    const size_t count = std::min(kBatch, frames.size() - start);
    torch::Tensor images = torch::empty({static_cast<int64_t>(count), 3, S, S});
    for (size_t i = 0; i < count; ++i) images[i] = m.ToTensor(frames[start + i], "future frame")[0];
    z.push_back(m.model->Encode(images));
  }
  const int64_t n = static_cast<int64_t>(frames.size()) / steps;
  torch::Tensor hand;
  if (hand_dim() > 0) {
    if (hands.size() != frames.size() * 3) {
      throw std::invalid_argument("future hands: " + std::to_string(hands.size()) + " values for " +
                                  std::to_string(frames.size()) + " frames, expected 3 per frame (the end effector, m)");
    }
    hand = torch::tensor(hands, torch::kFloat64).to(torch::kFloat32).reshape({n, steps, 3});
    if (!torch::isfinite(hand).all().item<bool>()) throw std::invalid_argument("future hands contain NaN or infinity");
  }
  torch::Tensor costs = m.cost->Score(torch::cat(z).reshape({n, steps, -1}), hand).to(torch::kFloat64).contiguous();
  return std::vector<double>(costs.data_ptr<double>(), costs.data_ptr<double>() + n);
}

std::vector<float> Controller::Act(const ImageView& observation, const std::vector<double>& joint_state,
                                   const std::vector<double>& hand) {
  Impl& m = *impl_;
  if (!m.cost->has_goal()) throw std::logic_error("Controller: SetGoal before Act");
  const auto start = std::chrono::steady_clock::now();
  const size_t Q = static_cast<size_t>(m.model->proprio_dim());
  if (joint_state.size() != Q) {
    throw std::invalid_argument(
        "joint state has " + std::to_string(joint_state.size()) + " values, the model expects " +
        std::to_string(Q) + (Q > 0 ? " (joint angles, then the finger opening with a gripper)" : ""));
  }
  for (double v : joint_state) {
    if (!std::isfinite(v)) throw std::invalid_argument("joint state contains NaN or infinity");
  }
  if (hand.size() != static_cast<size_t>(hand_dim())) {
    throw std::invalid_argument("hand position has " + std::to_string(hand.size()) + " values, the model expects " +
                                std::to_string(hand_dim()) +
                                (hand_dim() > 0 ? " (the end effector's x, y, z in metres)" : ""));
  }
  if (!hand.empty()) m.cost->SetHand(torch::tensor(hand, torch::kFloat64));
  torch::Tensor image = m.ToTensor(observation, "observation");
  torch::Tensor z = m.model->Encode(image)[0];
  Frame frame;
  frame.z = z;
  if (Q > 0) frame.joints = torch::tensor(joint_state, torch::kFloat64).to(torch::kFloat32);
  if (!m.history.empty() && !m.history.back().action.defined()) {
    // Act threw after encoding last time: nothing was applied, that frame is not history.
    m.history.pop_back();
  }
  m.history.push_back(std::move(frame));
  while (m.history.size() > static_cast<size_t>(m.model->history())) m.history.pop_front();
  m.SetContext();
  m.cost->Observe(z);
  const int64_t A = m.model->meta().action_dim;

  auto& cost = *m.cost;
  torch::Tensor action = m.mpc->Step([&cost](const torch::Tensor& a) { return cost(a); });
  const planner::PlanResult& r = m.mpc->last();
  m.history.back().action = action.clone();

  m.last = ActInfo{};
  m.last.energy = cost.Distance(z).item<double>();
  if (cost.reads_object()) m.last.object_distance = cost.ObjectDistance(z).item<double>();
  m.last.planned_cost = r.cost;
  m.last.iterations = static_cast<int>(r.iterations);
  m.last.fallback = r.all_nonfinite;
  m.last.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return std::vector<float>(action.data_ptr<float>(), action.data_ptr<float>() + A);
}

PlanPreview Controller::Preview(int candidates, float spread, uint64_t seed) {
  Impl& m = *impl_;
  if (m.history.empty() || !m.history.back().action.defined() || !m.mpc->plan().defined()) {
    throw std::logic_error("Controller: Preview before Act");
  }
  if (candidates < 0 || !(spread >= 0)) {
    throw std::invalid_argument("preview needs candidates >= 0 and a spread >= 0");
  }
  torch::NoGradGuard no_grad;
  torch::Tensor plan = m.mpc->acted().unsqueeze(0);
  torch::Tensor actions = plan;
  if (candidates > 0) {
    torch::Generator gen = at::detail::createCPUGenerator(seed);
    auto noise = at::normal(0.0, spread, {candidates, plan.size(1), plan.size(2)}, gen);
    actions = torch::cat({plan, (plan + noise).clamp(-1, 1)});
  }
  actions = actions.to(torch::kFloat32).contiguous();
  const int64_t D = m.cost->goal_embedding().size(0);
  torch::Tensor z = m.cost->Predict(actions).narrow(2, 0, D).contiguous();
  PlanPreview p;
  p.sequences = static_cast<int>(actions.size(0));
  p.steps = static_cast<int>(actions.size(1));
  p.action_dim = static_cast<int>(actions.size(2));
  p.dim = static_cast<int>(D);
  p.actions.assign(actions.data_ptr<float>(), actions.data_ptr<float>() + actions.numel());
  p.embeddings.assign(z.data_ptr<float>(), z.data_ptr<float>() + z.numel());
  return p;
}

std::vector<PlanScore> Controller::ScorePlans(const std::vector<float>& actions, int count) {
  Impl& m = *impl_;
  if (m.history.empty() || !m.history.back().action.defined()) {
    throw std::logic_error("Controller: ScorePlans before Act");
  }
  const size_t A = static_cast<size_t>(m.model->meta().action_dim);
  if (count <= 0 || actions.empty() || actions.size() % (static_cast<size_t>(count) * A) != 0) {
    throw std::invalid_argument("plans to score: " + std::to_string(actions.size()) + " values for " +
                                std::to_string(count) + " sequences, expected a positive multiple of " +
                                std::to_string(count) + " x " + std::to_string(A) + " (sequences x action values)");
  }
  for (float v : actions) {
    if (!(v >= -1 && v <= 1)) throw std::invalid_argument("plans to score: action values must lie in [-1, 1]");
  }
  const int64_t T = static_cast<int64_t>(actions.size() / (static_cast<size_t>(count) * A));
  torch::Tensor a = torch::tensor(actions).reshape({count, T, static_cast<int64_t>(A)});
  const world_model::LatentGoalCost::Terms t = m.cost->Explain(a);
  auto values = [](const torch::Tensor& x) {
    auto c = x.to(torch::kFloat64).contiguous();
    return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
  };
  const std::vector<double> total = values(t.total), distance = values(t.distance), reach = values(t.reach);
  const std::vector<double> object = t.object.defined() ? values(t.object) : std::vector<double>();
  std::vector<PlanScore> scores(static_cast<size_t>(count));
  for (size_t i = 0; i < scores.size(); ++i) {
    scores[i].cost = total[i];
    scores[i].distance = distance[i];
    scores[i].reach = reach[i];
    if (!object.empty()) scores[i].object_distance = object[i];
  }
  return scores;
}

void Controller::SetAppliedAction(const std::vector<float>& action) {
  Impl& m = *impl_;
  if (m.history.empty() || !m.history.back().action.defined()) {
    throw std::logic_error("Controller: SetAppliedAction before Act");
  }
  const size_t A = static_cast<size_t>(m.model->meta().action_dim);
  if (action.size() != A) {
    throw std::invalid_argument("applied action has " + std::to_string(action.size()) +
                                " values, the model's actions have " + std::to_string(A));
  }
  for (float v : action) {
    if (!std::isfinite(v)) throw std::invalid_argument("applied action contains NaN or infinity");
  }
  m.history.back().action = torch::tensor(action).clamp(-1, 1);
}

}  // namespace jepa_mpc
