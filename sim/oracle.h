#pragma once

// The oracle cost: candidate action sequences rolled out in copies of the true simulator from
// the task's current state, scored by the task's own distance to the goal. Planners run on it
// give the upper bound a learned world model is measured against.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sim/renderer.h"
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

  // The true future of each candidate as the task's cameras see it: after each of the h steps of
  // each of the n sequences, the image Renderer::Render(data, camera_ids) draws at render's size,
  // n * h images packed [n][h][height][width][3]. A rollout whose physics diverges repeats its
  // last good image and is flagged in *unstable (n values) when given. From `from`'s current
  // state, which is not changed. *hands, when given, receives the end effector's position after
  // each step, n * h * 3 values (m) in the images' order.
  std::vector<uint8_t> RenderRollouts(const Task& from, const float* actions, int n, int h, int a,
                                      const RenderOptions& render, std::vector<bool>* unstable = nullptr,
                                      std::vector<double>* hands = nullptr);

 private:
  // Runs body(worker, i) for every candidate i < n, worker w taking w, w + workers, ... in its
  // own task copy; the first exception surfaces on the calling thread.
  void ForEachCandidate(int n, const std::function<void(int, int)>& body);

  std::vector<std::unique_ptr<Task>> copies_;
  std::vector<std::unique_ptr<Renderer>> renderers_;  // one per copy, made on first use
  RenderOptions render_;
};

}  // namespace jepa_mpc::sim
