// demo: the one-command showcase. Collects exploration data for a task, trains the world model,
// evaluates the learned planner against the oracle and random actions on the same goals, and
// writes plots, videos and a self-contained report.html into one folder. A second run reuses the
// dataset, the model and the evaluation it finds there (and resumes any stage left unfinished).
//
//   demo                       # reach2d into out/demo/reach2d
//   demo --task reach3d --out out/demo
//   demo --robot my_arm.json     # your own arm (docs/own-arm.md) into out/demo/my_arm
#include <CLI/CLI.hpp>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "examples/common/cli.h"
#include "examples/common/collect_progress.h"
#include "examples/common/progress.h"
#include "examples/common/report.h"
#include "sim/collector.h"
#include "sim/robot_description.h"

extern char** environ;

using namespace jepa_mpc;
namespace fs = std::filesystem;

namespace {

// Runs a sibling binary (train, evaluate) with its progress on our stderr; returns its exit code.
int RunSibling(const fs::path& self_dir, const std::string& name, std::vector<std::string> args) {
  const std::string binary = (self_dir / name).string();
  if (!fs::exists(binary)) throw std::runtime_error("cannot find '" + binary + "' next to the demo binary");
  args.insert(args.begin(), binary);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid;
  if (posix_spawn(&pid, binary.c_str(), nullptr, nullptr, argv.data(), environ) != 0) {
    throw std::runtime_error("cannot start '" + binary + "'");
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : " ") + x;
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"jepa-mpc demo: collect, train, evaluate and report on one task."};
  std::string task_name, robot, out = "out/demo";
  int episodes = 0, train_steps = 0, eval_episodes = 50, videos = 2, failure_videos = 8, threads = 2, serve = -1;
  // Evaluation goals from a seed no default was chosen on (defaults: chosen on 0, checked on 1, 2).
  constexpr uint64_t kUntunedGoalSeed = 100;
  uint64_t seed = 0, goal_seed = kUntunedGoalSeed;
  bool fresh_eval = false;
  app.add_option("--task", task_name, "task: " + sim::TaskRegistry().Known() + " (default: reach2d, or the robot's)");
  app.add_option("--robot", robot,
                 "robot: a built-in one, or your arm's description (arm.json) or MJCF file (arm.xml) "
                 "(default: the task's)");
  app.add_option("--out", out, "output folder (a subfolder per task)")->capture_default_str();
  app.add_option("--episodes", episodes, "episodes to collect (0: the task's demo default)")->capture_default_str();
  app.add_option("--train-steps", train_steps, "training steps (0: the recipe's default)")->capture_default_str();
  app.add_option("--eval-episodes", eval_episodes, "goals per method in the evaluation")->capture_default_str();
  app.add_option("--videos", videos, "per method: videos of its first N successes")->capture_default_str();
  app.add_option("--failure-videos", failure_videos, "per method: videos of its first N failures")
      ->capture_default_str();
  app.add_option("--serve", serve, "live view of the evaluation on this port (evaluate --serve)");
  app.add_option("--threads", threads, "CPU threads")->capture_default_str();
  app.add_option("--seed", seed, "seed for collection and training")->capture_default_str();
  app.add_option("--goal-seed", goal_seed,
                 "evaluation goals (the default, 100, is a set no default was chosen on)")->capture_default_str();
  app.add_flag("--fresh-eval", fresh_eval, "evaluate again even if an evaluation is cached");
  CLI11_PARSE(app, argc, argv);

  return tools::RunMain("demo", [&] {
    if (task_name.empty()) task_name = robot.empty() ? "reach2d" : sim::DefaultTaskForRobot(robot);
    const sim::TaskEntry& entry = sim::TaskRegistry().Get(task_name);
    auto positive = [](const char* flag, int v, int min) {
      if (v < min) {
        throw std::invalid_argument(std::string(flag) + " is " + std::to_string(v) + ", expected at least " +
                                    std::to_string(min));
      }
    };
    positive("--episodes", episodes, 0);
    positive("--train-steps", train_steps, 0);
    positive("--eval-episodes", eval_episodes, 1);
    positive("--videos", videos, 0);
    positive("--failure-videos", failure_videos, 0);
    positive("--threads", threads, 1);
    if (episodes == 0) episodes = entry.demo.episodes;
    // One folder per task, or per arm for a described one.
    const std::string folder = sim::IsRobotFile(robot) ? fs::path(robot).stem().string() : task_name;
    const fs::path dir = fs::path(out) / folder, self = fs::canonical("/proc/self/exe").parent_path();
    fs::create_directories(dir);
    const auto* stop = tools::InstallStopFlag();
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::string> commands;

    // 1. Data: reuse a complete dataset, resume a partial one.
    std::fprintf(stderr, "== stage 1/4: collect exploration data (%s, %d episodes)\n", task_name.c_str(), episodes);
    sim::CollectOptions co;
    co.task = task_name;
    co.robot = robot;
    co.episodes = episodes;
    co.seed = seed;
    co.threads = threads;
    co.out = (dir / "data.h5").string();
    co.resume = fs::exists(co.out);
    sim::ValidateCollectOptions(co);
    commands.push_back("collect --task " + task_name + (robot.empty() ? "" : " --robot " + robot) + " --episodes " + std::to_string(episodes) + " --seed " +
                       std::to_string(seed) + " --out " + co.out);
    const int in_file = co.resume ? sim::DatasetReader(co.out).num_episodes() : 0;
    if (in_file >= episodes) {
      std::fprintf(stderr, "collect    reusing %s (%d episodes)\n", co.out.c_str(), in_file);
    } else {
      auto r = tools::CollectWithProgress(co, stop);
      if (r.interrupted) {
        std::fprintf(stderr, "\ninterrupted: %d episodes kept in %s; run again to continue\n",
                     r.episodes_in_file, co.out.c_str());
        return 130;
      }
    }

    // 2. Model: reuse a finished one (its quality report exists), resume an unfinished one.
    std::fprintf(stderr, "== stage 2/4: train the world model\n");
    const fs::path model = dir / "model";
    std::vector<std::string> train_args = {"--data", co.out, "--out", model.string(), "--seed",
                                           std::to_string(seed), "--threads", std::to_string(threads)};
    if (train_steps > 0) train_args.insert(train_args.end(), {"--steps", std::to_string(train_steps)});
    commands.push_back("train " + Join(train_args));
    if (fs::exists(model / "quality.json")) {
      std::fprintf(stderr, "train      reusing %s\n", (model / "checkpoint.pt").c_str());
    } else {
      if (fs::exists(model / "checkpoint.pt")) train_args.push_back("--resume");
      const int code = RunSibling(self, "train", train_args);
      if (code != 0) return code;
    }

    // 3. Evaluation on the same goals: learned planner, oracle, random.
    const std::string goals = "goal seed " + std::to_string(goal_seed) +
                              (goal_seed == kUntunedGoalSeed ? ", a set of goals no default was chosen on" : "");
    std::fprintf(stderr, "== stage 3/4: evaluate (%d goals: %s)\n", eval_episodes, goals.c_str());
    const fs::path eval = dir / "eval";
    std::vector<std::string> eval_args = {"--checkpoint", (model / "checkpoint.pt").string(), "--episodes",
                                          std::to_string(eval_episodes), "--seed", std::to_string(goal_seed),
                                          "--videos", std::to_string(videos), "--failure-videos",
                                          std::to_string(failure_videos), "--threads",
                                          std::to_string(threads), "--out", eval.string()};
    if (entry.demo.action_repeat != 1) {
      eval_args.insert(eval_args.end(), {"--action-repeat", std::to_string(entry.demo.action_repeat)});
    }
    if (entry.demo.horizon > 0) {
      eval_args.insert(eval_args.end(), {"--horizon", std::to_string(entry.demo.horizon)});
    }
    if (entry.demo.oracle_reach_weight > 0) {
      char w[32];
      std::snprintf(w, sizeof(w), "%g", entry.demo.oracle_reach_weight);
      eval_args.insert(eval_args.end(), {"--oracle-reach-weight", w});
    }
    if (entry.demo.oracle_episodes > 0 && entry.demo.oracle_episodes < eval_episodes) {
      eval_args.insert(eval_args.end(), {"--oracle-episodes", std::to_string(entry.demo.oracle_episodes)});
    }
    commands.push_back("evaluate " + Join(eval_args));
    if (serve >= 0) eval_args.insert(eval_args.end(), {"--serve", std::to_string(serve)});
    bool cached = false;
    if (!fresh_eval && fs::exists(eval / "results.json")) {
      const auto j = nlohmann::json::parse(std::ifstream(eval / "results.json"));
      cached = j.value("episodes", 0) == eval_episodes && j.value("seed", uint64_t{0}) == goal_seed &&
               !j.value("interrupted", true);
    }
    if (cached) {
      std::fprintf(stderr, "evaluate   reusing %s (--fresh-eval to run it again)\n", (eval / "results.json").c_str());
    } else {
      fs::remove_all(eval / "videos");
      fs::remove_all(eval / "contact");
      const int code = RunSibling(self, "evaluate", eval_args);
      if (code != 0) return code;
    }

    // 4. Report.
    std::fprintf(stderr, "== stage 4/4: report\n");
    std::string cmd_text = "# from the repository root, after scripts/build.sh (binaries in build/examples/)\n";
    for (const auto& c : commands) cmd_text += c + "\n";
    const std::string page =
        tools::WriteReport({task_name, model.string(), eval.string(), dir.string(), cmd_text, goals});
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::ifstream table(eval / "results.csv");
    std::printf("%s", std::string(std::istreambuf_iterator<char>(table), {}).c_str());
    std::printf("report: %s (plots in %s, videos in %s)\n", page.c_str(), (dir / "plots").c_str(),
                (eval / "videos").c_str());
    std::printf("demo finished in %s\n", tools::FormatDuration(seconds).c_str());
    return 0;
  });
}
