#include "planner/chain.h"

#include <stdexcept>

namespace jepa_mpc::planner {

namespace {
const PlannerOptions& OptionsOf(const std::unique_ptr<Planner>& p) {
  if (!p) throw std::invalid_argument("a planner chain needs two planners");
  return p->options();
}
}  // namespace

Chain::Chain(std::unique_ptr<Planner> first, std::unique_ptr<Planner> second)
    : Planner(OptionsOf(first)), first_(std::move(first)), second_(std::move(second)) {
  const PlannerOptions& b = OptionsOf(second_);
  if (b.horizon != options_.horizon || b.action_dim != options_.action_dim) {
    throw std::invalid_argument("the planners of a chain must share horizon and action size");
  }
}

PlanResult Chain::DoPlan(const BatchCost& cost, const torch::Tensor& init) {
  PlanResult r = first_->Plan(cost, init);
  if (r.all_nonfinite) return r;
  PlanResult refined = second_->Plan(cost, r.actions);
  refined.iterations += r.iterations;
  refined.evaluations += r.evaluations;
  if (refined.all_nonfinite || !(refined.cost <= r.cost)) {
    r.iterations = refined.iterations;
    r.evaluations = refined.evaluations;
    return r;
  }
  return refined;
}

}  // namespace jepa_mpc::planner
