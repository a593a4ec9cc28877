#pragma once

#include <memory>

#include "planner/planner.h"

namespace jepa_mpc::planner {

// Two planners in series: the second starts from the first one's plan (e.g. CEM finds the
// basin, then Adam through a differentiable model refines it), and its plan is taken when it
// costs no more. Each stage has its own budget. Throws std::invalid_argument for a null stage or
// stages whose horizon or action size differ.
class Chain : public Planner {
 public:
  Chain(std::unique_ptr<Planner> first, std::unique_ptr<Planner> second);
  std::string name() const override { return first_->name() + "-" + second_->name(); }

 protected:
  PlanResult DoPlan(const BatchCost& cost, const torch::Tensor& init) override;

 private:
  std::unique_ptr<Planner> first_, second_;
};

}  // namespace jepa_mpc::planner
