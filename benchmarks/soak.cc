// soak: one controller in a closed loop for a long time, the way it sits in a robot's loop for
// days. Episodes follow each other (a new goal every episode, Reset between them); every few
// episodes the goal is an image a broken camera or a confused operator could give (blank,
// saturated, noise, another robot's scene). It checks every action (finite, in [-1, 1]) and
// reports the resident memory's growth after warm-up and the Act() time percentiles.
//
//   soak --checkpoint runs/reach2d/checkpoint.pt [--calls 100000] [--samples 64 --iterations 1]
//
// Exit status 1 when an action was non-finite or out of range, or memory grew by more than
// --max-growth percent.
#include <CLI/CLI.hpp>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "control/controller.h"
#include "sim/task.h"

using namespace jepa_mpc;

namespace {

double ResidentMiB() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(q * (v.size() - 1) + 0.5));
  std::nth_element(v.begin(), v.begin() + k, v.end());
  return v[k];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Run a controller for many Act() calls; report memory growth, bad actions, time."};
  std::string checkpoint;
  long calls = 100000, warmup = 5000;
  int threads = 1, odd_every = 5;
  double max_growth = 1.0;
  ControllerOptions o;
  o.samples = 64;
  o.elites = 8;
  o.iterations = 1;
  o.horizon = 4;
  app.add_option("--checkpoint", checkpoint, "trained model")->required();
  app.add_option("--calls", calls, "Act() calls in all")->capture_default_str();
  app.add_option("--warmup", warmup, "calls before the memory baseline is taken")->capture_default_str();
  app.add_option("--planner", o.planner, "planner")->capture_default_str();
  app.add_option("--samples", o.samples, "planner samples")->capture_default_str();
  app.add_option("--elites", o.elites, "planner elites")->capture_default_str();
  app.add_option("--iterations", o.iterations, "planner iterations")->capture_default_str();
  app.add_option("--horizon", o.horizon, "planned steps")->capture_default_str();
  app.add_option("--threads", threads, "torch threads")->capture_default_str();
  app.add_option("--odd-goal-every", odd_every, "every n-th episode has an odd goal image")->capture_default_str();
  app.add_option("--max-growth", max_growth, "allowed memory growth after warm-up, percent")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    if (calls <= warmup) throw std::invalid_argument("--calls must exceed --warmup");
    at::set_num_threads(threads);
    Controller controller(checkpoint, o);
    const int S = controller.image_size();
    sim::TaskOptions to;
    to.robot = controller.robot();
    to.cameras = controller.camera();
    to.antialias = controller.antialias();
    auto task = sim::MakeTask(controller.task(), to);
    sim::RenderOptions ro;
    ro.width = ro.height = S;
    sim::Renderer renderer(task->sim().model(), ro);
    // Another robot's scene as a goal (the panda's when the model is not the panda's).
    const std::string other_task = controller.task() == "reach3d" ? "reach2d" : "reach3d";
    auto other = sim::MakeTask(other_task, {});
    sim::Renderer other_renderer(other->sim().model(), ro);
    other->Reset(1);
    const sim::Image foreign = other->RenderGoal(other_renderer);
    const size_t n = static_cast<size_t>(S) * S * 3;
    std::mt19937 rng(7);
    std::vector<uint8_t> noise(n);

    std::vector<double> ms;
    ms.reserve(calls);
    long bad = 0, fallbacks = 0, episodes = 0, odd = 0, successes = 0, done = 0;
    double baseline = 0;
    const int length = task->info().episode_steps;
    const auto t0 = std::chrono::steady_clock::now();
    while (done < calls) {
      task->Reset(1000 + episodes);
      sim::Image goal = task->RenderGoal(renderer);
      const bool odd_goal = odd_every > 0 && episodes % odd_every == odd_every - 1;
      if (odd_goal) {
        switch ((episodes / odd_every) % 4) {
          case 0: std::fill(goal.rgb.begin(), goal.rgb.end(), 0); break;
          case 1: std::fill(goal.rgb.begin(), goal.rgb.end(), 255); break;
          case 2:
            for (auto& v : noise) v = static_cast<uint8_t>(rng() >> 24);
            goal.rgb = noise;
            break;
          default: goal.rgb = foreign.rgb;
        }
        ++odd;
      }
      controller.SetGoal({goal.rgb.data(), S, S});
      for (int t = 0; t < length && done < calls; ++t, ++done) {
        const sim::Image image = renderer.Render(task->sim().data(), task->sim().camera_ids());
        const std::vector<double> joints =
            controller.proprio_dim() > 0 ? task->sim().joint_state() : std::vector<double>();
        const std::vector<float> a = controller.Act({image.rgb.data(), S, S}, joints);
        ms.push_back(1000 * controller.last().seconds);
        fallbacks += controller.last().fallback;
        Eigen::VectorXd step(a.size());
        for (size_t k = 0; k < a.size(); ++k) {
          if (!std::isfinite(a[k]) || std::abs(a[k]) > 1.0f) ++bad;
          step[k] = std::isfinite(a[k]) ? std::clamp(a[k], -1.0f, 1.0f) : 0.0f;
        }
        task->Step(step);
        if (done + 1 == warmup) baseline = ResidentMiB();
        if ((done + 1) % 10000 == 0) {
          const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          std::fprintf(stderr, "soak  %ld/%ld calls  %.0f s  RSS %.1f MiB  bad actions %ld\n", done + 1, calls, s,
                       ResidentMiB(), bad);
        }
      }
      successes += !odd_goal && task->Success();
      ++episodes;
    }
    const double end = ResidentMiB();
    const double growth = 100.0 * (end - baseline) / baseline;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("calls %ld (%ld episodes, %ld with an odd goal), %.0f s\n", done, episodes, odd, seconds);
    std::printf("bad actions (non-finite or outside [-1, 1]): %ld; zero-action fallbacks: %ld\n", bad, fallbacks);
    std::printf("RSS after %ld calls %.2f MiB, at the end %.2f MiB: growth %+.3f%% (limit %.1f%%)\n", warmup,
                baseline, end, growth, max_growth);
    std::printf("Act() ms: p50 %.2f  p99 %.2f  max %.2f\n", Percentile(ms, 0.5), Percentile(ms, 0.99),
                *std::max_element(ms.begin(), ms.end()));
    std::printf("episodes with a real goal reached at their end: %ld of %ld\n", successes, episodes - odd);
    return bad == 0 && growth <= max_growth ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "soak: error: %s\n", e.what());
    return 1;
  }
}
