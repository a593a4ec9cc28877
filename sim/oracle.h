#pragma once

// The oracle cost: candidate action sequences rolled out in copies of the true simulator from
// the task's current state, scored by the task's own distance to the goal. Planners run on it
// give the upper bound a learned world model is measured against.

#include <memory>
#include <string>
#include <vector>

#include "sim/task.h"

namespace jepa_mpc::sim {

// How rolled-out candidates are scored.
struct OracleScore {
  bool sum_over_horizon = false;  // sum over the steps instead of the last step's value
  // Adds reach_weight * Task::ReachDistance() to each step's distance: a shaped cost for object
  // tasks, whose distance stays flat until the arm touches the object.
  double reach_weight = 0;
};

class OracleCost {
 public:
  // One task copy per thread, built like `task` (same name and options).
  OracleCost(const std::string& task_name, int threads, const TaskOptions& options = {});

  // actions: n * h * a floats, row-major [n][h][a], in [-1, 1]. Returns n costs: the task distance
  // (m) after the last action, or summed over the h steps (see OracleScore). Rolled out from
  // `from`'s current state, which is not changed.
  std::vector<double> Evaluate(const Task& from, const float* actions, int n, int h, int a,
                               const OracleScore& score = {});

 private:
  std::vector<std::unique_ptr<Task>> copies_;
};

}  // namespace jepa_mpc::sim
