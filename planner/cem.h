#pragma once

#include "planner/planner.h"

namespace jepa_mpc::planner {

// Cross-entropy method: sample around a Gaussian, refit it to the elites, repeat. Returns the
// best sequence scored (the mean itself is always among the candidates, so a warm start is
// never lost), or with `mean_plan` the last refit mean, as DINO-WM and V-JEPA 2-AC plan.
struct CemOptions {
  // A general-purpose search; the registered "cem" (planner/factory.h) that controllers use
  // plans 64 samples x 2 iterations from 0.2, warm-started at every control step.
  int64_t samples = 256;
  int64_t elites = 16;
  double init_std = 0.5;
  double min_std = 0.05;
  double momentum = 0.1;   // weight of the old mean/std in each update
  // The plan is the mean refit to the last elites (scored once, so the reported cost is its
  // own) instead of the best sample: an average of many good sequences, which a learned
  // model's flattering errors sway less than its single best (registered as "cem-mean").
  bool mean_plan = false;
};

class Cem : public Planner {
 public:
  Cem(PlannerOptions options, CemOptions cem = {});
  std::string name() const override { return cem_.mean_plan ? "cem-mean" : "cem"; }
  const CemOptions& cem_options() const { return cem_; }

 protected:
  PlanResult DoPlan(const BatchCost& cost, const torch::Tensor& init) override;

 private:
  CemOptions cem_;
};

// Model predictive path integral (as TD-MPC2 uses it): sample around a Gaussian, weight the
// elites by exp(-cost / temperature), refit. Returns the weighted mean, scored once more so
// that the reported cost is its own.
struct MppiOptions {
  int64_t samples = 512;
  int64_t elites = 64;
  double temperature = 0.5;
  double noise_std = 0.5;     // initial std
  double min_std = 0.05;
  double momentum = 0.1;
};

class Mppi : public Planner {
 public:
  Mppi(PlannerOptions options, MppiOptions mppi = {});
  std::string name() const override { return "mppi"; }

 protected:
  PlanResult DoPlan(const BatchCost& cost, const torch::Tensor& init) override;

 private:
  MppiOptions mppi_;
};

}  // namespace jepa_mpc::planner
