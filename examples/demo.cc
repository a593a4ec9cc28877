// demo: the end-to-end showcase. For now: collect a small exploration dataset for a task, then
// write rendered frames and an mp4 of one exploration episode (the full-resolution view beside
// the 64x64 view the world model learns from) into one output folder.
//
//   demo --task reach2d --out out/demo
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>

#include "examples/common/cli.h"
#include "examples/common/collect_progress.h"
#include "examples/common/media.h"
#include "examples/common/progress.h"
#include "sim/collector.h"

using namespace jepa_mpc;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
  CLI::App app{"jepa-mpc demo: collect data and show an exploration episode."};
  std::string task_name = "reach2d", out = "out/demo";
  int episodes = 50, threads = 2, video_size = 256;
  uint64_t seed = 0;
  app.add_option("--task", task_name, "reach2d | reach3d | push | pick_place")->capture_default_str();
  app.add_option("--out", out, "output folder")->capture_default_str();
  app.add_option("--episodes", episodes, "episodes to collect")->capture_default_str();
  app.add_option("--threads", threads, "collection threads")->capture_default_str();
  app.add_option("--seed", seed, "seed")->capture_default_str();
  app.add_option("--video-size", video_size, "video view size (pixels, even)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  return tools::RunMain("demo", [&] {
    sim::RobotForTask(task_name);  // validates the task name
    if (video_size < 64 || video_size % 2) {
      throw std::invalid_argument("--video-size is " + std::to_string(video_size) +
                                  ", expected an even size of at least 64");
    }
    fs::create_directories(out);
    fs::create_directories(fs::path(out) / "frames");
    const auto* stop = tools::InstallStopFlag();

    // 1. Data: reuse a complete dataset from an earlier run, resume a partial one.
    sim::CollectOptions co;
    co.task = task_name;
    co.episodes = episodes;
    co.seed = seed;
    co.threads = threads;
    co.out = (fs::path(out) / (task_name + ".h5")).string();
    co.resume = fs::exists(co.out);
    int in_file = 0;
    if (co.resume) in_file = sim::DatasetReader(co.out).num_episodes();
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

    // 2. One exploration episode, replayed from its seed at video resolution beside the
    //    dataset's own frames (what the world model sees).
    sim::DatasetReader reader(co.out);
    const sim::EpisodeData e = reader.Read(0);
    auto task = sim::MakeTask(task_name, {std::max(256, video_size), ""});
    sim::RenderOptions ro;
    ro.width = ro.height = video_size;
    sim::Renderer renderer(task->sim().model(), ro);
    const sim::EpisodeData hires = sim::RunEpisode(*task, renderer, e.length, e.seed);
    for (size_t i = 0; i < e.actions.size(); ++i) {
      if (e.actions[i] != hires.actions[i]) {
        throw std::runtime_error("replay of episode 0 diverged from the dataset at value " +
                                 std::to_string(i));
      }
    }
    const int H = reader.info().image_height, W = reader.info().image_width;
    const int scale = std::max(1, video_size / H);
    const int VH = video_size, VW = video_size + W * scale;
    const std::string video = (fs::path(out) / "exploration_episode.mp4").string();
    tools::VideoWriter writer(video, VH, VW, 1.0 / reader.info().control_period);
    tools::ProgressBar bar("video", e.length, "frames");
    std::vector<uint8_t> frame(static_cast<size_t>(VH) * VW * 3, 0);
    int written_frames = 0;
    for (int t = 0; t < e.length; ++t) {
      const uint8_t* big = hires.images.data() + static_cast<size_t>(t) * VH * video_size * 3;
      const uint8_t* small = e.images.data() + static_cast<size_t>(t) * H * W * 3;
      const std::vector<uint8_t> up = tools::Upscale(small, H, W, scale);
      for (int r = 0; r < VH; ++r) {
        std::copy_n(big + r * video_size * 3, video_size * 3, frame.data() + r * VW * 3);
        if (r < H * scale) {
          std::copy_n(up.data() + r * W * scale * 3, W * scale * 3,
                      frame.data() + (r * VW + video_size) * 3);
        }
      }
      writer.Write(frame.data());
      if (t % std::max(1, e.length / 5) == 0) {
        char name[64];
        std::snprintf(name, sizeof(name), "frame_%03d.png", t);
        tools::WritePng((fs::path(out) / "frames" / name).string(), frame.data(), VH, VW);
        ++written_frames;
      }
      bar.Update(t + 1);
    }
    writer.Close();
    bar.Finish();
    const sim::Image goal = task->RenderGoal(renderer);
    const std::string goal_png = (fs::path(out) / "goal_episode0.png").string();
    tools::WritePng(goal_png, goal.rgb.data(), goal.height, goal.width);
    std::printf("dataset: %s (%d episodes, %s)\n", co.out.c_str(), reader.num_episodes(),
                reader.info().Describe().c_str());
    std::printf("video:   %s (%d frames, left: %dx%d view, right: the %dx%d dataset frames)\n",
                video.c_str(), e.length, video_size, video_size, H, W);
    std::printf("frames:  %d PNGs in %s; the episode's goal image: %s\n", written_frames,
                (fs::path(out) / "frames").c_str(), goal_png.c_str());
    return 0;
  });
}
