#include "control/controller.h"

#include <torch/torch.h>

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
  positive(o.iterations, "iterations");
  positive(o.action_repeat, "action_repeat");
  if (o.samples < 0) throw std::invalid_argument("controller option samples must be >= 0");
  if (o.elites < 0) throw std::invalid_argument("controller option elites must be >= 0");
  if (o.threads < 0) throw std::invalid_argument("controller option threads must be >= 0");
  if (!(o.time_budget >= 0) || !std::isfinite(o.time_budget)) {
    throw std::invalid_argument("controller option time_budget must be a non-negative number of seconds");
  }
}

// The tensors of a history, oldest first, stacked along a new first dimension.
torch::Tensor Stack(const std::deque<torch::Tensor>& history) {
  return torch::stack(std::vector<torch::Tensor>(history.begin(), history.end()));
}

}  // namespace

struct Controller::Impl {
  ControllerOptions options;
  world_model::WorldModel model{nullptr};
  std::unique_ptr<world_model::LatentGoalCost> cost;
  std::unique_ptr<planner::RecedingHorizon> mpc;
  std::deque<torch::Tensor> embeddings;  // the last W, oldest first
  std::deque<torch::Tensor> actions;     // the actions applied between them
  std::deque<torch::Tensor> joints;      // the joint states seen with the embeddings (proprio)
  ActInfo last;

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
  if (options.threads > 0) at::set_num_threads(options.threads);
  impl_->options = options;
  impl_->model = world_model::LoadCheckpoint(checkpoint).model;
  impl_->model->eval();
  world_model::GoalCostOptions co;
  co.l1 = options.l1;
  co.sum_over_horizon = options.sum_over_horizon;
  impl_->cost = std::make_unique<world_model::LatentGoalCost>(impl_->model, co);
  planner::PlannerOptions po;
  po.horizon = options.horizon;
  po.action_dim = impl_->model->meta().action_dim;
  po.iterations = options.iterations;
  po.seed = options.seed;
  po.time_budget = options.time_budget;
  if (options.planner == "cem-gd") {
    // CEM finds the basin, then Adam through the differentiable rollout refines its plan.
    impl_->mpc = std::make_unique<planner::RecedingHorizon>(
        planner::MakePlanner({"cem", options.samples, options.elites}, po), options.action_repeat);
    impl_->mpc->SetRefiner(planner::MakePlanner({"gd", 0, 0}, po));
  } else {
    impl_->mpc = std::make_unique<planner::RecedingHorizon>(
        planner::MakePlanner({options.planner, options.samples, options.elites}, po),
        options.action_repeat);
  }
}

Controller::~Controller() = default;
Controller::Controller(Controller&&) noexcept = default;
Controller& Controller::operator=(Controller&&) noexcept = default;

std::string Controller::robot() const { return impl_->model->meta().robot; }
std::string Controller::task() const { return impl_->model->meta().task; }
std::string Controller::camera() const { return impl_->model->meta().camera; }
int Controller::image_size() const { return static_cast<int>(impl_->model->meta().image_size); }
int Controller::action_dim() const { return static_cast<int>(impl_->model->meta().action_dim); }
int Controller::proprio_dim() const { return static_cast<int>(impl_->model->proprio_dim()); }
const ControllerOptions& Controller::options() const { return impl_->options; }
const ActInfo& Controller::last() const { return impl_->last; }

void Controller::SetGoal(const ImageView& goal) {
  impl_->cost->SetGoal(impl_->ToTensor(goal, "goal"));
  Reset();
}

void Controller::Reset() {
  impl_->embeddings.clear();
  impl_->actions.clear();
  impl_->joints.clear();
  impl_->mpc->Reset();
  impl_->last = ActInfo{};
}

double Controller::Energy(const ImageView& observation) {
  if (!impl_->cost->has_goal()) throw std::logic_error("Controller: SetGoal before Energy");
  auto z = impl_->model->Encode(impl_->ToTensor(observation, "observation"));
  return impl_->cost->Distance(z[0]).item<double>();
}

std::vector<float> Controller::Act(const ImageView& observation, const std::vector<double>& joint_state) {
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
  torch::Tensor image = m.ToTensor(observation, "observation");
  torch::Tensor z = m.model->Encode(image)[0];
  const size_t W = static_cast<size_t>(m.model->history());
  m.embeddings.push_back(z);
  while (m.embeddings.size() > W) m.embeddings.pop_front();
  if (Q > 0) {
    m.joints.push_back(torch::tensor(joint_state, torch::kFloat64).to(torch::kFloat32));
    while (m.joints.size() > W) m.joints.pop_front();
  }
  while (m.actions.size() + 1 > m.embeddings.size()) m.actions.pop_front();
  const int64_t A = m.model->meta().action_dim;
  m.cost->SetContext(Stack(m.embeddings), m.actions.empty() ? torch::zeros({0, A}) : Stack(m.actions),
                     Q > 0 ? Stack(m.joints) : torch::Tensor());

  auto& cost = *m.cost;
  torch::Tensor action = m.mpc->Step([&cost](const torch::Tensor& a) { return cost(a); });
  const planner::PlanResult& r = m.mpc->last();
  m.actions.push_back(action.clone());

  m.last = ActInfo{};
  m.last.energy = cost.Distance(z).item<double>();
  m.last.planned_cost = r.cost;
  m.last.iterations = static_cast<int>(r.iterations);
  m.last.fallback = r.all_nonfinite;
  m.last.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return std::vector<float>(action.data_ptr<float>(), action.data_ptr<float>() + A);
}

}  // namespace jepa_mpc
