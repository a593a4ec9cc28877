#include "planner/planner.h"

#include <stdexcept>

namespace jepa_mpc::planner {

Clock SteadyClock() {
  return [] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  };
}

void Planner::Reseed(uint64_t seed) { generator_ = at::detail::createCPUGenerator(seed); }

Planner::Planner(PlannerOptions options)
    : options_(std::move(options)), generator_(at::detail::createCPUGenerator(options_.seed)) {
  if (options_.horizon <= 0 || options_.action_dim <= 0) {
    throw std::invalid_argument("planner horizon and action_dim must be positive, got " +
                                std::to_string(options_.horizon) + " and " +
                                std::to_string(options_.action_dim));
  }
  if (options_.iterations <= 0) {
    throw std::invalid_argument("planner iterations is " + std::to_string(options_.iterations) +
                                ", expected positive");
  }
  if (!(options_.time_budget >= 0)) {
    throw std::invalid_argument("planner time budget must be a non-negative number of seconds");
  }
  if (!options_.clock) options_.clock = SteadyClock();
}

PlanResult Planner::Plan(const BatchCost& cost, const torch::Tensor& warm_start) {
  const int64_t H = options_.horizon, A = options_.action_dim;
  torch::Tensor init = torch::zeros({H, A});
  if (warm_start.defined()) {
    if (warm_start.dim() != 2 || warm_start.size(0) != H || warm_start.size(1) != A) {
      throw std::invalid_argument("warm start must be [" + std::to_string(H) + ", " +
                                  std::to_string(A) + "]");
    }
    if (!torch::isfinite(warm_start).all().item<bool>()) {
      throw std::invalid_argument("warm start contains NaN or infinity");
    }
    init = warm_start.to(torch::kFloat32).clamp(-1, 1);
  }
  const double start = options_.clock();
  torch::NoGradGuard no_grad;
  PlanResult r = DoPlan(cost, init);
  r.seconds = options_.clock() - start;
  if (!r.actions.defined() || !std::isfinite(r.cost) ||
      !torch::isfinite(r.actions).all().item<bool>()) {
    r.actions = torch::zeros({H, A});
    r.all_nonfinite = true;
  }
  r.actions = r.actions.clamp(-1, 1);
  return r;
}

torch::Tensor Planner::Shift(const torch::Tensor& plan) {
  const int64_t H = plan.size(0);
  if (H == 1) return plan.clone();
  return torch::cat({plan.narrow(0, 1, H - 1), plan.narrow(0, H - 1, 1)});
}

bool Planner::HaveTime(double start, int64_t iteration, int64_t timed) const {
  if (iteration >= options_.iterations) return false;
  return iteration == 0 || TimeForAnother(start, timed);
}

bool Planner::TimeForAnother(double start, int64_t timed) const {
  if (timed <= 0 || options_.time_budget <= 0) return true;
  const double elapsed = options_.clock() - start;
  return elapsed * (timed + 1) / timed <= options_.time_budget * (1 + 1e-9);
}

torch::Tensor Planner::Evaluate(const BatchCost& cost, const torch::Tensor& actions,
                                PlanResult& result) const {
  torch::Tensor c = cost(actions);
  if (!c.defined() || c.dim() != 1 || c.size(0) != actions.size(0)) {
    throw std::invalid_argument("cost must return [" + std::to_string(actions.size(0)) +
                                "] values for [N, H, A] actions");
  }
  result.evaluations += actions.size(0);
  return c;
}

torch::Tensor Planner::FiniteOrInf(const torch::Tensor& costs) {
  torch::Tensor c = costs.detach().to(torch::kFloat64);
  return torch::where(torch::isfinite(c), c, torch::full_like(c, INFINITY));
}

torch::Tensor Planner::Score(const BatchCost& cost, const torch::Tensor& actions,
                             PlanResult& result) const {
  return FiniteOrInf(Evaluate(cost, actions, result));
}

}  // namespace jepa_mpc::planner
