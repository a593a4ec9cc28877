#include "sim/oracle.h"

#include <algorithm>
#include <exception>
#include <stdexcept>
#include <thread>

#ifdef JEPA_MPC_OPENMP
#include <omp.h>
#endif

namespace jepa_mpc::sim {

OracleCost::OracleCost(const std::string& task_name, int threads, const TaskOptions& options) {
  if (threads < 1) throw std::invalid_argument("oracle threads must be at least 1");
  for (int i = 0; i < threads; ++i) copies_.push_back(MakeTask(task_name, options));
}

void OracleCost::ForEachCandidate(int n, const std::function<void(int, int)>& body) {
  const int workers = std::min<int>(static_cast<int>(copies_.size()), n);
  if (workers <= 0) return;
  std::vector<std::exception_ptr> errors(workers);
  auto work = [&](int w, int stride) {
    try {
      for (int i = w; i < n; i += stride) body(w, i);
    } catch (...) {
      errors[w] = std::current_exception();  // surfaces on the calling thread
    }
  };
#ifdef JEPA_MPC_OPENMP
  // On OpenMP's own threads: after a torch call (the controller's encoder, the planner's
  // sampling) its idle threads spin for milliseconds, and threads of our own would share the
  // cores with them (a third slower on 2 cores); this way the spinning threads take the work.
#pragma omp parallel num_threads(workers)
  work(omp_get_thread_num(), omp_get_num_threads());  // fewer threads when nested: same coverage
#else
  std::vector<std::thread> pool;
  for (int w = 1; w < workers; ++w) pool.emplace_back(work, w, workers);
  work(0, workers);
  for (auto& t : pool) t.join();
#endif
  for (const auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

namespace {

void CheckActionDim(const Task& from, int a) {
  if (a != from.action_dim()) {
    throw std::invalid_argument("oracle: actions have " + std::to_string(a) +
                                " dimensions, the task has " + std::to_string(from.action_dim()));
  }
}

}  // namespace

std::vector<double> OracleCost::Evaluate(const Task& from, const float* actions, int n, int h,
                                         int a, const OracleScore& score) {
  CheckActionDim(from, a);
  std::vector<double> costs(n, 0.0);
  ForEachCandidate(n, [&](int w, int i) {
    Task& task = *copies_[w];
    Eigen::VectorXd act(a);
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
  });
  return costs;
}

std::vector<uint8_t> OracleCost::RenderRollouts(const Task& from, const float* actions, int n, int h, int a,
                                                const RenderOptions& render, std::vector<bool>* unstable,
                                               std::vector<double>* hands) {
  CheckActionDim(from, a);
  if (n < 0 || h <= 0) throw std::invalid_argument("oracle: rollouts need n >= 0 sequences of h >= 1 steps");
  if (renderers_.empty() || render.width != render_.width || render.height != render_.height ||
      render.fast != render_.fast) {
    renderers_.clear();
    renderers_.resize(copies_.size());
    render_ = render;
  }
  const size_t image = static_cast<size_t>(render.width) * render.height * 3;
  std::vector<uint8_t> frames(static_cast<size_t>(n) * h * image);
  std::vector<char> diverged(n, 0);
  if (hands) hands->assign(static_cast<size_t>(n) * h * 3, 0.0);
  ForEachCandidate(n, [&](int w, int i) {
    Task& task = *copies_[w];
    if (!renderers_[w]) renderers_[w] = std::make_unique<Renderer>(task.sim().model(), render);
    // The next call's worker w may be another thread: unbind the context from this one.
    struct Unbind {
      Renderer& r;
      ~Unbind() { r.Release(); }
    } unbind{*renderers_[w]};
    Eigen::VectorXd act(a);
    task.CopyStateFrom(from);
    uint8_t* out = frames.data() + static_cast<size_t>(i) * h * image;
    for (int t = 0; t < h; ++t, out += image) {
      if (!diverged[i]) {
        const float* p = actions + (static_cast<size_t>(i) * h + t) * a;
        for (int k = 0; k < a; ++k) act[k] = p[k];
        try {
          task.Step(act);
        } catch (const SimulationUnstable&) {
          diverged[i] = 1;
        }
      }
      if (diverged[i] && t > 0) {
        std::copy(out - image, out, out);
      } else {
        if (diverged[i]) task.CopyStateFrom(from);  // diverged at once: the start is its last good image
        renderers_[w]->Render(task.sim().data(), task.sim().camera_ids(), out);
      }
      if (hands) {
        const Eigen::Vector3d p = task.sim().ee_pos();
        std::copy(p.data(), p.data() + 3, hands->begin() + (static_cast<size_t>(i) * h + t) * 3);
      }
    }
  });
  if (unstable) unstable->assign(diverged.begin(), diverged.end());
  return frames;
}

}  // namespace jepa_mpc::sim
