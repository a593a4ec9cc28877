#include "planner/mpc.h"

#include <stdexcept>

namespace jepa_mpc::planner {

RecedingHorizon::RecedingHorizon(std::unique_ptr<Planner> planner, int action_repeat)
    : planner_(std::move(planner)), repeat_(action_repeat) {
  if (!planner_) throw std::invalid_argument("receding horizon needs a planner");
  if (action_repeat < 1) {
    throw std::invalid_argument("action repeat is " + std::to_string(action_repeat) +
                                ", expected at least 1");
  }
}

void RecedingHorizon::Reset() {
  plan_ = torch::Tensor();
  spent_ = 0;
  last_ = PlanResult{};
}

torch::Tensor RecedingHorizon::Expand(const torch::Tensor& actions, int repeat, int spent) {
  if (repeat == 1) return actions;
  const int64_t H = actions.size(1);
  auto index = torch::arange(H * repeat - spent, torch::kLong).add_(spent).div_(repeat, "floor");
  return actions.index_select(1, index);
}

torch::Tensor RecedingHorizon::acted() const {
  if (!plan_.defined()) return {};
  return Expand(plan_.unsqueeze(0), repeat_, spent_ - 1)[0];
}

torch::Tensor RecedingHorizon::Step(const BatchCost& cost) {
  torch::Tensor warm;
  if (plan_.defined()) {
    if (spent_ >= repeat_) {
      plan_ = Planner::Shift(plan_);
      spent_ = 0;
    }
    warm = plan_;
  }
  const int repeat = repeat_, spent = spent_;
  const BatchCost planned = [&cost, repeat, spent](const torch::Tensor& a) {
    return cost(Expand(a, repeat, spent));
  };
  PlanResult r = planner_->Plan(planned, warm);
  plan_ = r.actions;
  last_ = r;
  ++spent_;
  return plan_[0].contiguous();
}

}  // namespace jepa_mpc::planner
