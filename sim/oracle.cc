#include "sim/oracle.h"

#include <exception>
#include <stdexcept>
#include <thread>

namespace jepa_mpc::sim {

OracleCost::OracleCost(const std::string& task_name, int threads, const TaskOptions& options) {
  if (threads < 1) throw std::invalid_argument("oracle threads must be at least 1");
  for (int i = 0; i < threads; ++i) copies_.push_back(MakeTask(task_name, options));
}

std::vector<double> OracleCost::Evaluate(const Task& from, const float* actions, int n, int h,
                                         int a, const OracleScore& score) {
  if (a != from.action_dim()) {
    throw std::invalid_argument("oracle: actions have " + std::to_string(a) +
                                " dimensions, the task has " + std::to_string(from.action_dim()));
  }
  std::vector<double> costs(n, 0.0);
  const int workers = std::min<int>(static_cast<int>(copies_.size()), n);
  std::vector<std::exception_ptr> errors(workers);
  // Worker w rolls out candidates w, w + workers, ... in its own task copy.
  auto rollouts = [&](int w) {
    Task& task = *copies_[w];
    Eigen::VectorXd act(a);
    for (int i = w; i < n; i += workers) {
      task.CopyStateFrom(from);
      double total = 0;
      try {
        for (int t = 0; t < h; ++t) {
          const float* p = actions + (static_cast<size_t>(i) * h + t) * a;
          for (int k = 0; k < a; ++k) act[k] = p[k];
          task.Step(act);
          if (score.sum_over_horizon || t == h - 1) {
            total += task.Distance() + (score.reach_weight > 0 ? score.reach_weight * task.ReachDistance() : 0);
          }
        }
        costs[i] = total;
      } catch (const SimulationUnstable&) {
        costs[i] = INFINITY;  // a rollout whose physics diverged is never chosen
      }
    }
  };
  auto work = [&](int w) {
    try {
      rollouts(w);
    } catch (...) {
      errors[w] = std::current_exception();  // surfaces on the calling thread
    }
  };
  std::vector<std::thread> pool;
  for (int w = 1; w < workers; ++w) pool.emplace_back(work, w);
  if (workers > 0) work(0);
  for (auto& t : pool) t.join();
  for (const auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  return costs;
}

}  // namespace jepa_mpc::sim
