#pragma once

// Model-agnostic planners over a batched cost. The planner never knows what a world model or a
// simulator is: it sees cost(actions) -> costs, so the same CEM/MPPI plans on a learned model,
// on the true simulator (the oracle) or on a controller's own cost.

#include <torch/torch.h>

#include <chrono>
#include <functional>
#include <string>

namespace jepa_mpc::planner {

// Scores candidate action sequences; lower is better.
// actions: [N, H, A] float in [-1, 1] -> costs [N] float (non-finite costs are skipped).
using BatchCost = std::function<torch::Tensor(const torch::Tensor& actions)>;

// Seconds since an arbitrary origin; injectable so tests control time.
using Clock = std::function<double()>;
Clock SteadyClock();

struct PlannerOptions {
  int64_t horizon = 10;       // H
  int64_t action_dim = 2;     // A
  int64_t iterations = 4;     // at most this many refinement iterations
  double time_budget = 0;     // seconds; 0: no budget. Anytime: an iteration starts only when it
                              // should end within the budget, at the mean time of those before
                              // it (the first always runs); the best plan so far is returned
  uint64_t seed = 0;
  Clock clock;                // default: SteadyClock()
};

struct PlanResult {
  torch::Tensor actions;      // [H, A] best plan found, in [-1, 1]
  double cost = 0;            // its cost (inf if no finite cost was seen)
  int64_t iterations = 0;     // refinement iterations run
  int64_t evaluations = 0;    // candidate sequences scored
  bool all_nonfinite = false; // every cost was NaN/inf: actions are zero (a safe no-op)
  double seconds = 0;
};

class Planner {
 public:
  virtual ~Planner() = default;
  // warm_start: [H, A] initial mean (e.g. the previous plan shifted), or an undefined tensor for
  // zeros. Throws std::invalid_argument on a wrong shape or a non-finite warm start.
  PlanResult Plan(const BatchCost& cost, const torch::Tensor& warm_start = {});
  const PlannerOptions& options() const { return options_; }
  virtual std::string name() const = 0;
  // Starts the random stream anew from seed (e.g. one seed per episode, so that an episode's
  // plans do not depend on the episodes planned before it).
  void Reseed(uint64_t seed);

  // The receding-horizon warm start: drop the first action, repeat the last.
  static torch::Tensor Shift(const torch::Tensor& plan);

 protected:
  explicit Planner(PlannerOptions options);
  virtual PlanResult DoPlan(const BatchCost& cost, const torch::Tensor& init) = 0;
  // True while another iteration may start: iteration < the cap and, with a time budget, another
  // of the `timed` units of work done since start (at their mean time) still ends within it.
  bool HaveTime(double start, int64_t iteration, int64_t timed) const;
  // The same when each iteration is one unit of work (timed = iteration).
  bool HaveTime(double start, int64_t iteration) const { return HaveTime(start, iteration, iteration); }
  // The time budget alone: no budget, or one more of the `timed` units still ends within it.
  bool TimeForAnother(double start, int64_t timed) const;
  // Calls cost on candidates [N, H, A], checks that it returns [N] values and counts the
  // evaluations. The costs keep their autograd graph (for gradient planners).
  torch::Tensor Evaluate(const BatchCost& cost, const torch::Tensor& actions, PlanResult& result) const;
  // Evaluate, then non-finite costs become +inf. Returns costs [N] as double, no graph.
  torch::Tensor Score(const BatchCost& cost, const torch::Tensor& actions, PlanResult& result) const;
  // Costs [N] -> double, non-finite ones +inf.
  static torch::Tensor FiniteOrInf(const torch::Tensor& costs);

  PlannerOptions options_;
  torch::Generator generator_;
};

}  // namespace jepa_mpc::planner
