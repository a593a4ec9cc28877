#include "planner/gradient.h"

#include <stdexcept>

namespace jepa_mpc::planner {

GradientDescent::GradientDescent(PlannerOptions options, GradientOptions gd)
    : Planner(std::move(options)), gd_(gd) {
  if (gd.candidates < 1) throw std::invalid_argument("gradient planner candidates must be at least 1");
  if (!(gd.learning_rate > 0) || !std::isfinite(gd.learning_rate)) {
    throw std::invalid_argument("gradient planner learning rate must be a positive number");
  }
  if (!(gd.init_std >= 0) || !std::isfinite(gd.init_std)) {
    throw std::invalid_argument("gradient planner init_std must be a non-negative number");
  }
}

PlanResult GradientDescent::DoPlan(const BatchCost& cost, const torch::Tensor& init) {
  PlanResult r;
  r.cost = INFINITY;
  const double start = options_.clock();
  torch::AutoGradMode grad_on(true);
  const double edge = 0.995;  // keeps atanh finite for a warm start at the bounds
  auto noise = torch::randn({gd_.candidates, init.size(0), init.size(1)}, generator_) * gd_.init_std;
  noise[0].zero_();
  auto start_actions = (init.unsqueeze(0) + noise).clamp(-edge, edge);
  torch::Tensor u = torch::atanh(start_actions).detach().requires_grad_(true);
  torch::optim::Adam adam({u}, torch::optim::AdamOptions(gd_.learning_rate));
  // iterations counts Adam steps; one more evaluation scores the final parameters.
  for (int64_t it = 0;; ++it) {
    auto actions = torch::tanh(u);
    torch::Tensor c = Evaluate(cost, actions, r);
    if (!c.requires_grad()) {
      throw std::invalid_argument("the gradient planner needs a cost differentiable in the actions");
    }
    auto scored = FiniteOrInf(c);
    auto finite = torch::isfinite(scored);
    auto best = scored.argmin().item<int64_t>();
    if (scored[best].item<double>() < r.cost) {
      r.cost = scored[best].item<double>();
      r.actions = actions[best].detach().clone();
    }
    if (!HaveTime(start, it, it + 1) ||  // a step and an evaluation per iteration
        !finite.any().item<bool>()) break;
    ++r.iterations;
    adam.zero_grad();
    // Non-finite candidates contribute no gradient.
    torch::where(finite, c, torch::zeros_like(c)).sum().backward();
    {
      torch::NoGradGuard no_grad;
      u.grad().nan_to_num_(0, 0, 0);
    }
    adam.step();
  }
  return r;
}

}  // namespace jepa_mpc::planner
