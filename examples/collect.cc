// collect: exploration episodes of a task, rendered and written to one HDF5 file.
//
//   collect --task reach2d --episodes 200 --out data/reach2d.h5
//   collect --robot panda7 --episodes 100 --threads 2 --out data/panda.h5 --resume
//   collect --task push --episodes 400 --shard 1/4 --out push.1.h5   (then: merge --out push.h5 push.*.h5)
#include <CLI/CLI.hpp>
#include <cstdio>
#include <tuple>

#include "examples/common/cli.h"
#include "examples/common/collect_progress.h"
#include "sim/collector.h"

using namespace jepa_mpc;

int main(int argc, char** argv) {
  CLI::App app{"Collect exploration episodes (images, proprioception, actions) to HDF5."};
  sim::CollectOptions o;
  o.task = "";
  o.threads = 2;
  app.add_option("--robot", o.robot,
                 "robot: " + robots::RobotRegistry().Known() +
                     ", or your arm's description (arm.json) or MJCF file (arm.xml) (default: the task's)");
  app.add_option("--task", o.task, "task: " + sim::TaskRegistry().Known() + " (default: the robot's)");
  app.add_option("--episodes", o.episodes, "number of episodes")->capture_default_str();
  app.add_option("--steps", o.steps, "control steps per episode (0: the task's length)")
      ->capture_default_str();
  app.add_option("--image-size", o.image_size, "square image size in pixels")->capture_default_str();
  app.add_option("--seed", o.seed, "seed; episode k uses a seed derived from it")->capture_default_str();
  app.add_option("--threads", o.threads, "worker threads")->capture_default_str();
  app.add_option("--out", o.out, "output HDF5 file")->required();
  app.add_option("--mjcf", o.mjcf_file, "MJCF file replacing the robot's built-in model");
  app.add_option("--cameras", o.cameras,
                 "the observation's cameras side by side, joined by + (e.g. table+side; default: the task's)");
  app.add_option("--antialias", o.antialias,
                 "anti-aliasing samples per pixel of the images, 0-16 (default: the task's, push 4, else the robot "
                 "model's own, 0 for the built-in robots; 4 lets a block moved by less than a pixel change the image)")
      ->check(CLI::Range(0, 16));
  app.add_flag("--resume", o.resume, "continue an interrupted collection in --out");
  app.add_flag("--overwrite", o.overwrite, "replace --out if it exists");
  std::string shard;
  app.add_option("--shard", shard,
                 "i/n: collect only shard i of n of the --episodes (consecutive blocks), for n processes or "
                 "machines; merge joins the shards into the file one run writes");
  CLI11_PARSE(app, argc, argv);

  return tools::RunMain("collect", [&] {
    if (!shard.empty()) std::tie(o.shard_index, o.shard_count) = sim::ParseShard(shard, "--shard");
    if (o.task.empty()) o.task = o.robot.empty() ? "reach2d" : sim::DefaultTaskForRobot(o.robot);
    sim::ValidateCollectOptions(o);
    const auto* stop = tools::InstallStopFlag();
    auto result = tools::CollectWithProgress(o, stop);
    const double fps = result.frames / std::max(result.seconds, 1e-9);
    if (result.interrupted) {
      std::fprintf(stderr, "\ninterrupted: '%s' holds %d complete episodes; rerun with --resume\n",
                   o.out.c_str(), result.episodes_in_file);
      return 130;
    }
    std::printf("wrote %d episodes (%lld frames) to %s: %d in file, %.1f s, %.0f frames/s\n",
                result.episodes_written, static_cast<long long>(result.frames), o.out.c_str(),
                result.episodes_in_file, result.seconds, fps);
    return 0;
  });
}
