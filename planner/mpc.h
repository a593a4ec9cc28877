#pragma once

// Receding-horizon control over any planner: each Step plans from the current state, returns
// the action to apply now, and warm starts the next plan from this one, shifted by what was
// executed. With action_repeat r each planned action is held for r control steps (frame skip),
// so a plan of H actions looks H * r steps ahead at the search cost of H.

#include <memory>

#include "planner/planner.h"

namespace jepa_mpc::planner {

class RecedingHorizon {
 public:
  // Throws std::invalid_argument for a null planner or action_repeat < 1.
  explicit RecedingHorizon(std::unique_ptr<Planner> planner, int action_repeat = 1);

  // cost scores control-step sequences: [N, L, A] -> [N], where L = H * r - k and k is how many
  // steps of the first planned action have already been applied. Returns the action to apply now
  // [A] (float, in [-1, 1]).
  torch::Tensor Step(const BatchCost& cost);
  // Forgets the plan (call between episodes).
  void Reset();

  const PlanResult& last() const { return last_; }
  const torch::Tensor& plan() const { return plan_; }  // [H, A], undefined before the first Step
  // The last Step's plan in control steps as it stood when its action was taken: [H * r - k, A],
  // its first action held for what remained of it (Expand). Undefined before the first Step.
  torch::Tensor acted() const;
  int action_repeat() const { return repeat_; }
  Planner& planner() { return *planner_; }

  // Planned actions [N, H, A] -> control-step actions [N, H * r - k, A]: the first held for r - k
  // steps, the others for r.
  static torch::Tensor Expand(const torch::Tensor& actions, int repeat, int spent);

 private:
  std::unique_ptr<Planner> planner_;
  int repeat_;
  int spent_ = 0;  // steps of plan_[0] already applied
  torch::Tensor plan_;
  PlanResult last_;
};

}  // namespace jepa_mpc::planner
