#pragma once

#include "planner/planner.h"

namespace jepa_mpc::planner {

// Gradient planner: Adam on the action sequences through a differentiable cost. The actions are
// tanh of free parameters, so they stay in (-1, 1) without clipping the gradient away. Several
// candidates descend in parallel (the first starts at the warm start, the others around it);
// PlannerOptions::iterations is the number of Adam steps. Returns the best sequence scored.
// The cost must be differentiable with respect to its input (a learned model's rollout is);
// Plan throws std::invalid_argument if it is not.
struct GradientOptions {
  int64_t candidates = 8;
  double learning_rate = 0.1;
  double init_std = 0.3;   // spread of the other candidates around the warm start
};

class GradientDescent : public Planner {
 public:
  GradientDescent(PlannerOptions options, GradientOptions gd = {});
  std::string name() const override { return "gd"; }

 protected:
  PlanResult DoPlan(const BatchCost& cost, const torch::Tensor& init) override;

 private:
  GradientOptions gd_;
};

}  // namespace jepa_mpc::planner
