// evaluate: closed-loop goal reaching with a trained world model, against the same planner on the
// true simulator (oracle) and random actions, on the same seeded goals. Prints one table and
// writes it as JSON and CSV, with per-episode and per-step CSVs and sample videos.
//
//   evaluate --checkpoint runs/reach2d/checkpoint.pt --out out/eval
//   evaluate --checkpoint C --planner cem,mppi --episodes 50 --samples 256 --iterations 4
//   evaluate --checkpoint C --episodes 200 --shard 2/4 --out eval.2   (then: merge --out eval eval.*)
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <thread>
#include <tuple>

#include "examples/common/cli.h"
#include "examples/common/evaluation.h"
#include "examples/common/live_view.h"
#include "planner/factory.h"
#include "sim/collector.h"
#include "util/allocator.h"

using namespace jepa_mpc;

int main(int argc, char** argv) {
  util::KeepFreedMemory();  // large tensors are freed and allocated again every step
  CLI::App app{"jepa-mpc evaluate: plan to goal images with a trained world model."};
  tools::EvalOptions o;
  std::string planners = "cem", methods = "learned,oracle,random";
  bool last_step = false;
  app.add_option("--checkpoint", o.checkpoint, "trained model (checkpoint.pt)")->required();
  app.add_option("--task", o.task, "task (default: the checkpoint's)");
  app.add_option("--mjcf", o.mjcf_file, "MJCF file replacing the robot's built-in model (as given to collect)");
  app.add_option("--planner", planners, "learned-model planner(s), comma separated:\n" + planner::PlannerHelp())
      ->capture_default_str();
  app.add_option("--methods", methods,
                 "which of learned, oracle, random, perfect to run (perfect: the first --planner on the true "
                 "future frames, scored by the model's encoder and energy; on the oracle's goals)")->capture_default_str();
  app.add_option("--episodes", o.episodes, "goals per method")->capture_default_str();
  app.add_option("--seed", o.seed, "goal seed (same seed, same goals)")->capture_default_str();
  app.add_option("--steps", o.steps, "control steps per episode (0: the task's length)")->capture_default_str();
  app.add_option("--replay-offset", o.replay_offset,
                 "goals from exploration episodes: start at a state of a held-out episode, goal this many "
                 "steps later (0: the task's own goals)")->capture_default_str();
  app.add_option("--replay-min-move", o.replay_min_move,
                 "with --replay-offset: the least distance (m) the tracked point moves from start to goal")
      ->capture_default_str();
  app.add_option("--out", o.out, "output folder for tables and videos")->capture_default_str();
  app.add_option("--record", o.record,
                 "write the learned planners' episodes to this new HDF5 dataset (collect's format; for "
                 "train --extra-data)");
  app.add_option("--videos", o.videos, "per method: its first N successes written as mp4")->capture_default_str();
  app.add_option("--failure-videos", o.failure_videos, "per method: its first N failures written as mp4")
      ->capture_default_str();
  bool no_sheets = false;
  app.add_flag("--no-contact-sheets", no_sheets, "no contact sheets (start, middle, end beside the goal) in contact/");
  app.add_option("--trace-candidates", o.trace_candidates,
                 "sampled candidates drawn beside the learned plan in videos and the live view")->capture_default_str();
  app.add_option("--explain", o.explain,
                 "episodes (indices, comma separated) whose every learned step is explained in explain.csv: the chosen "
                 "plan, keeping still and a hand-written push, each scored by the model (cost, its distance and reach "
                 "parts, the object's predicted distance), by the encoder on its true future and by where it truly "
                 "leaves the object")
      ->delimiter(',');
  int serve = -1;
  double serve_wait = 0;
  std::string serve_host = "127.0.0.1";
  app.add_option("--serve", serve,
                 "live view: serve a page on this port that streams the episodes as they run (0: any free port)");
  app.add_option("--serve-host", serve_host, "live view: the address to listen on")->capture_default_str();
  double serve_fps = 10;
  app.add_option("--serve-fps", serve_fps, "live view: frames per second at most (each costs the control loop "
                 "a render, a model rollout of the plan and its candidates, and a JPEG)")->capture_default_str();
  app.add_option("--serve-wait", serve_wait, "live view: wait up to this many seconds for a page to open before "
                 "the first episode")->capture_default_str();
  app.add_option("--video-size", o.video_size, "video view size (pixels, even)")->capture_default_str();
  app.add_option("--threads", o.threads, "CPU threads (torch and oracle)")->capture_default_str();
  app.add_option("--horizon", o.controller.horizon, "planning horizon (steps)")->capture_default_str();
  app.add_option("--samples", o.controller.samples, "candidates per iteration (0: planner default)")
      ->capture_default_str();
  app.add_option("--elites", o.controller.elites, "elites (0: planner default)")->capture_default_str();
  app.add_option("--temperature", o.controller.temperature,
                 "mppi: elites weighted by exp(-cost / temperature) (0: its default, 0.5)")->capture_default_str();
  app.add_option("--iterations", o.controller.iterations, "planner iterations per step (0: the planner's default: cem and cem-mean 2, others 4)")->capture_default_str();
  app.add_option("--time-budget", o.controller.time_budget, "planning seconds per step, anytime: an iteration starts only when it should end within them (0: none)")
      ->capture_default_str();
  app.add_option("--planner-seed", o.controller.seed, "planner seed")->capture_default_str();
  app.add_flag("--last-step", last_step, "cost at the last predicted step only (default: summed)");
  app.add_flag("--l1", o.controller.l1, "L1 latent distance instead of L2");
  app.add_option("--withdraw-steps", o.controller.withdraw_steps,
                 "judge each plan's distance to the goal after this many steps of --withdraw-action, "
                 "predicted after the plan (0: along the plan)")->capture_default_str();
  app.add_option("--withdraw-action", o.controller.withdraw_action,
                 "the withdrawal's action, comma separated (push: 0,0,1 lifts the hand)")
      ->delimiter(',');
  app.add_option("--contact-height", o.controller.contact_height,
                 "push models: a predicted object moves only where the hand's path could touch it, the hand at most "
                 "this high above the object's height (metres; default: the object's height, push 0.025; 0: off)");
  app.add_option("--reach-fade", o.controller.reach_fade,
                 "push models: the reaching term's pull fades as d / sqrt(d^2 + this^2), d the object's distance "
                 "from its goal (metres)")
      ->capture_default_str();
  app.add_option("--arm-weight", o.controller.arm_weight,
                 "object models: the arm's keypoints join the goal distance, each weighed this much (0: off)")
      ->capture_default_str();
  app.add_flag("--table-energy", o.controller.table_energy,
               "object models: the goal distance read on the table in metres (the model's table map) instead of "
               "in the image, where the camera's slant shortens distances along its line of sight");
  app.add_option("--hidden-spread", o.controller.hidden_spread,
                 "a model trained with --object-spread: hold the object's distance while its keypoint's spread "
                 "exceeds the goal image's by this much (0: off)")->capture_default_str();
  app.add_flag("--hold-place", o.controller.hold_place,
               "with --hidden-spread: hold the hidden object's place (its keypoints) instead of its distance, so "
               "the reaching term still draws the hand to where it was last seen");
  app.add_flag("--bfloat16", o.controller.bfloat16,
               "the predictor's hidden layers multiplied in bfloat16 while planning (faster on CPUs with AVX-512 "
               "BF16; docs/performance.md)");
  app.add_option("--ensemble", o.controller.ensemble,
                 "more predictors of the same run (checkpoints from train --resume --predictor-seed on copies), "
                 "comma separated: each plan's cost is their mean")
      ->delimiter(',');
  app.add_option("--disagreement-weight", o.controller.disagreement_weight,
                 "with --ensemble: add this times the predictors' spread to each plan's cost")
      ->capture_default_str();
  app.add_option("--oracle-planner", o.oracle_planner, "oracle planner")->capture_default_str();
  app.add_option("--oracle-samples", o.oracle_samples,
                 "oracle candidates per iteration (0: the learned planner's; never a smaller budget)")
      ->capture_default_str();
  app.add_option("--oracle-iterations", o.oracle_iterations, "oracle iterations per step (0: the learned planner's)")
      ->capture_default_str();
  app.add_option("--oracle-episodes", o.oracle_episodes,
                 "the oracle runs on the first N goals (0: all; on the true simulator it is slow)")
      ->capture_default_str();
  app.add_option("--oracle-reach-weight", o.oracle_reach_weight,
                 "object tasks: oracle cost adds this x end effector to object distance (default: the task's, "
                 "push 1; 0: the object's distance alone)");
  app.add_option("--action-repeat", o.controller.action_repeat,
                 "control steps each planned action is held (frame skip)")->capture_default_str();
  std::string shard;
  app.add_option("--shard", shard,
                 "i/n: evaluate only shard i of n of the --episodes goals (consecutive blocks), for n processes or "
                 "machines; merge joins the --out folders into the tables of one run");
  CLI11_PARSE(app, argc, argv);

  return tools::RunMain("evaluate", [&] {
    o.controller.sum_over_horizon = !last_step;
    if (!shard.empty()) std::tie(o.shard_index, o.shard_count) = sim::ParseShard(shard, "--shard");
    o.planners.clear();
    std::stringstream ps(planners);
    for (std::string p; std::getline(ps, p, ',');) o.planners.push_back(p);
    bool learned = false, perfect = false;
    o.oracle = o.random = false;
    std::stringstream ms(methods);
    for (std::string m; std::getline(ms, m, ',');) {
      if (m == "learned") learned = true;
      else if (m == "oracle") o.oracle = true;
      else if (m == "random") o.random = true;
      else if (m == "perfect") perfect = true;
      else throw std::invalid_argument("--methods: unknown method '" + m + "', expected learned, oracle, random or perfect");
    }
    if (perfect && !o.planners.empty()) o.perfect_planner = o.planners.front();
    if (!learned) o.planners.clear();
    auto at_least = [](const char* flag, long long value, long long min) {
      if (value < min) {
        throw std::invalid_argument(std::string(flag) + " is " + std::to_string(value) +
                                    ", expected at least " + std::to_string(min));
      }
    };
    at_least("--episodes", o.episodes, 1);
    at_least("--steps", o.steps, 0);
    at_least("--replay-offset", o.replay_offset, 0);
    at_least("--horizon", o.controller.horizon, 1);
    at_least("--iterations", o.controller.iterations, 0);
    at_least("--action-repeat", o.controller.action_repeat, 1);
    at_least("--samples", o.controller.samples, 0);
    at_least("--elites", o.controller.elites, 0);
    at_least("--threads", o.threads, 1);
    at_least("--videos", o.videos, 0);
    at_least("--failure-videos", o.failure_videos, 0);
    at_least("--trace-candidates", o.trace_candidates, 0);
    o.contact_sheets = !no_sheets;
    if (serve > 65535) throw std::invalid_argument("--serve is " + std::to_string(serve) + ", expected a port 0-65535");
    if (!(serve_wait >= 0)) throw std::invalid_argument("--serve-wait must be a non-negative number of seconds");
    at_least("--oracle-samples", o.oracle_samples, 0);
    at_least("--oracle-iterations", o.oracle_iterations, 0);
    at_least("--oracle-episodes", o.oracle_episodes, 0);
    if (o.oracle_reach_weight < 0) {  // NaN, the default, is the task's own
      throw std::invalid_argument("--oracle-reach-weight must be a number >= 0");
    }
    if (!std::isfinite(o.controller.time_budget) || o.controller.time_budget < 0) {
      throw std::invalid_argument("--time-budget must be a non-negative number of seconds");
    }
    if (!std::isfinite(o.controller.temperature) || o.controller.temperature < 0) {
      throw std::invalid_argument("--temperature must be a number >= 0 (0: mppi's default)");
    }
    if (o.controller.temperature > 0 && std::none_of(o.planners.begin(), o.planners.end(), planner::TakesTemperature) &&
        !planner::TakesTemperature(o.oracle_planner)) {
      throw std::invalid_argument("--temperature is mppi's option, and no --planner or --oracle-planner is mppi");
    }
    const auto* stop = tools::InstallStopFlag();
    std::unique_ptr<tools::LiveView> live;
    if (serve >= 0) {
      if (!(serve_fps > 0)) throw std::invalid_argument("--serve-fps must be positive");
      live = std::make_unique<tools::LiveView>(serve_host, serve, serve_fps);
      std::fprintf(stderr, "live view: %s\n", live->url().c_str());
      const int cores = static_cast<int>(std::thread::hardware_concurrency());
      if (cores > 1 && o.threads >= cores) {
        // A browser preempting one of the planner's threads stalls the others at every parallel
        // step (docs/report.md: +1-46% per step on 2 cores, +3-5% with one thread left to it).
        std::fprintf(stderr, "live view: a browser on this machine would slow all %d planner threads; "
                             "--threads %d leaves it a core\n", o.threads, cores - 1);
      }
      if (serve_wait > 0) {
        const auto start = std::chrono::steady_clock::now();
        if (live->WaitForViewer(serve_wait)) {
          std::fprintf(stderr, "live view: a page opened the stream after %.2f s\n",
                       std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        } else {
          std::fprintf(stderr, "live view: no page opened within %g s, starting anyway\n", serve_wait);
        }
      }
    }
    tools::EvalReport report = tools::Evaluate(o, stop, live.get());
    if (live) {
      const tools::ViewerReport v = live->viewer();
      std::fprintf(stderr, "live view: %lld frames sent", static_cast<long long>(live->frames_sent()));
      if (v.reports > 0) {
        std::fprintf(stderr, "; the page received %lld, %.1f per second at its last report, first after %.0f ms",
                     static_cast<long long>(v.frames), v.fps, v.first_frame_ms);
      }
      std::fprintf(stderr, "\n");
    }
    std::printf("task %s (%s), %d episodes, goal seed %llu\n", report.task.c_str(),
                report.success_rule.c_str(), o.episodes, static_cast<unsigned long long>(o.seed));
    std::printf("%s", tools::FormatTable(report).c_str());
    if (!o.out.empty()) {
      tools::WriteReport(report, o.out);
      std::printf("wrote %s/results.json, results.csv, episodes.csv, steps.csv, episodes.json%s\n", o.out.c_str(),
                  o.videos + o.failure_videos > 0 ? " and videos/" : "");
    }
    if (report.interrupted) {
      std::fprintf(stderr, "interrupted: the table covers the episodes finished so far\n");
      return 130;
    }
    return 0;
  });
}
