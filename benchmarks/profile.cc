// Where the time of a training step and of a control step goes, beside the machine's ceiling.
//
//   build/benchmarks/jepa_mpc_profile                       # reach2d defaults, both paths
//   build/benchmarks/jepa_mpc_profile --robot panda7 --what control --samples 64 --iterations 1
//   build/benchmarks/jepa_mpc_profile --image-size 128 --what train --json train128.json
//
// For each path it prints the wall time of each phase (measured without the profiler) and the
// operators that take the most time (self time, from LibTorch's profiler), and counts the
// floating-point operations of the convolutions and matrix multiplies to report achieved GFLOP/s
// against a 1024 x 1024 matrix multiply timed in the same run. Weights are untrained (they time the
// same); images, actions and joint states are random.
#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "benchmarks/op_profile.h"
#include "control/controller.h"
#include "planner/factory.h"
#include "util/allocator.h"
#include "world_model/checkpoint.h"
#include "world_model/data.h"
#include "world_model/goal_cost.h"
#include "world_model/trainer.h"

using namespace jepa_mpc;

namespace {

using bench::OpTime;
using bench::ProfileOps;
using bench::TrainingStepFlops;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

double Median(std::vector<double> v) {
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

// Median of the timings of fn over `reps` calls after `warmup` calls.
double MedianSeconds(const std::function<void()>& fn, int reps, int warmup = 2) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    const auto a = Clock::now();
    fn();
    t.push_back(Seconds(a, Clock::now()));
  }
  return Median(std::move(t));
}

double CeilingGflops() {
  auto a = torch::randn({1024, 1024}), b = torch::randn({1024, 1024});
  const double s = MedianSeconds([&] { torch::mm(a, b); }, 15, 3);
  return 2.0 * 1024 * 1024 * 1024 / s / 1e9;
}

void PrintOps(const std::map<std::string, OpTime>& ops, double step_us, int top, nlohmann::json& out) {
  std::vector<std::pair<std::string, OpTime>> v(ops.begin(), ops.end());
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.second.self_us > b.second.self_us; });
  double sum = 0;
  for (const auto& [n, o] : v) sum += o.self_us;
  std::printf("  %-58s %9s %7s %6s\n", "operator (by self time, profiled)", "us/step", "share", "calls");
  for (int i = 0; i < top && i < static_cast<int>(v.size()); ++i) {
    std::printf("  %-58s %9.0f %6.1f%% %6lld\n", v[i].first.substr(0, 58).c_str(), v[i].second.self_us,
                100.0 * v[i].second.self_us / sum, static_cast<long long>(v[i].second.calls));
    out["operators"].push_back({{"name", v[i].first},
                                {"self_us", v[i].second.self_us},
                                {"share", v[i].second.self_us / sum},
                                {"calls", v[i].second.calls}});
  }
  int64_t calls = 0;
  for (const auto& [n, o] : v) calls += o.calls;
  std::printf("  all operators: %.0f us self time per step under the profiler (%.0f us unprofiled), %lld "
              "operator calls\n",
              sum, step_us, static_cast<long long>(calls));
  out["profiled_us"] = sum;
  out["operator_calls"] = calls;
}

void PrintPhases(const std::vector<std::pair<std::string, double>>& phases, double total, nlohmann::json& out) {
  std::printf("  %-58s %9s %7s\n", "phase (median wall time)", "ms", "share");
  for (const auto& [name, s] : phases) {
    std::printf("  %-58s %9.3f %6.1f%%\n", name.c_str(), 1e3 * s, 100.0 * s / total);
    out["phases"].push_back({{"name", name}, {"ms", 1e3 * s}, {"share", s / total}});
  }
}

struct Options {
  std::string what = "both", robot = "reacher2d", task;
  int64_t image_size = 64, keypoints = 0, hidden = 0, batch = 0;
  int horizon = ControllerOptions{}.horizon, samples = 0, iterations = ControllerOptions{}.iterations;
  int reps = 20, top = 14, threads = 2;
  std::string planner = "cem", json;
  std::string checkpoint;  // control: a trained model (its own cost: goal energy, reaching term)
  bool bfloat16 = false;   // control: the predictor's hidden layers in bfloat16
  double contact_height = ControllerOptions{}.contact_height;  // control: a push model's hold (NaN: its default)
};

world_model::TrainConfig Config(const Options& o) {
  world_model::TrainConfig c = world_model::DefaultTrainConfig(o.robot, o.task);
  if (o.keypoints > 0) {
    c.model.keypoints = o.keypoints;
    if (!c.model.projector) c.model.latent_dim = 2 * o.keypoints * c.model.views;
  }
  if (o.hidden > 0) c.model.hidden = o.hidden;
  if (o.batch > 0) c.batch_size = o.batch;
  return c;
}

world_model::ModelMeta Meta(const Options& o, const world_model::TrainConfig& c) {
  world_model::ModelMeta m;
  m.robot = o.robot;
  m.task = o.task.empty() ? (o.robot == "reacher2d" ? "reach2d" : "reach3d") : o.task;
  const bool planar = o.robot == "reacher2d";
  m.action_mode = planar ? "joint_position_delta" : "ee_delta";
  m.camera = planar ? "top" : (c.model.views == 2 ? "front+side" : "table");
  m.image_size = o.image_size;
  m.action_dim = planar ? 2 : 4;
  m.config = c.model;
  if (c.model.proprio) {
    m.proprio_dim = planar ? 2 : 8;
    m.proprio_mean.assign(2 * m.proprio_dim, 0.0);
    m.proprio_std.assign(2 * m.proprio_dim, 1.0);
  }
  return m;
}

void ProfileTraining(const Options& o, double ceiling, nlohmann::json& out) {
  world_model::TrainConfig c = Config(o);
  const world_model::ModelMeta meta = Meta(o, c);
  torch::manual_seed(0);
  world_model::WorldModel model(meta);
  model->train();
  auto optimizer = std::make_unique<torch::optim::AdamW>(
      model->parameters(), torch::optim::AdamWOptions(c.learning_rate).weight_decay(c.weight_decay));
  // A dataset in memory: 40 episodes of 50 frames.
  const int64_t E = 40, T = 50, S = o.image_size, A = meta.action_dim, Q = std::max<int64_t>(meta.proprio_dim, 1);
  world_model::Trajectories data;
  data.images = torch::randint(0, 256, {E, T, 3, S, S}, torch::kUInt8);
  data.actions = torch::rand({E, T, A}) * 2 - 1;
  data.qpos = torch::rand({E, T, Q});
  data.ee_pos = torch::rand({E, T, 3});
  data.object_pos = torch::zeros({E, T, 0});
  std::mt19937_64 rng(0);
  const int64_t gap = c.object_weight > 0 ? c.object_pair_gap : 0;
  int64_t step = 0;
  world_model::Batch batch;
  world_model::TrainingLosses l;
  auto sample = [&] { batch = world_model::SampleBatch(data, c.batch_size, c.sequence_length, rng, gap); };
  auto forward = [&] { l = world_model::ComputeLosses(model, c, batch, step); };
  auto backward = [&] {
    optimizer->zero_grad();
    l.total.backward();
  };
  auto clip = [&] { torch::nn::utils::clip_grad_norm_(model->parameters(), c.grad_clip); };
  auto update = [&] {
    optimizer->step();
    ++step;
  };
  auto whole = [&] {
    sample();
    forward();
    backward();
    clip();
    update();
  };
  const double total = MedianSeconds(whole, o.reps, 3);
  // Each phase alone, its inputs made by the phases before it (outside the timing).
  const double t_sample = MedianSeconds(sample, o.reps);
  auto u8 = torch::randint(0, 256, {c.batch_size, c.sequence_length, 3, S, S}, torch::kUInt8);
  const double t_convert = MedianSeconds([&] { world_model::ToFloatImages(u8); }, o.reps);
  std::vector<double> f, b, k, u;
  for (int i = 0; i < o.reps + 2; ++i) {
    sample();
    auto t0 = Clock::now();
    forward();
    auto t1 = Clock::now();
    backward();
    auto t2 = Clock::now();
    clip();
    auto t3 = Clock::now();
    update();
    auto t4 = Clock::now();
    if (i < 2) continue;
    f.push_back(Seconds(t0, t1));
    b.push_back(Seconds(t1, t2));
    k.push_back(Seconds(t2, t3));
    u.push_back(Seconds(t3, t4));
  }
  torch::Tensor images = batch.images.reshape({-1, 3, S, S});
  const double t_encoder = MedianSeconds([&] { model->encoder->forward(images); }, o.reps);
  const double t_forward = Median(f);
  // FLOPs: the profiler counts a forward pass's convolutions and matrix multiplies; backward
  // costs twice the forward (input and weight gradients), less the input gradient of the
  // convolutions that read the images.
  const double step_flops = TrainingStepFlops(forward);
  const double gflops = step_flops / total / 1e9;
  std::printf("\ntraining step: %s, %lldx%lld images, batch %lld x %lld frames, %lld threads\n", o.robot.c_str(),
              static_cast<long long>(S), static_cast<long long>(S), static_cast<long long>(c.batch_size),
              static_cast<long long>(c.sequence_length), static_cast<long long>(o.threads));
  std::printf("  %.2f ms per step, %.0f samples/s; %.3f GFLOP per step (conv + matmul), %.1f GFLOP/s = %.0f%% "
              "of the ceiling (%.0f GFLOP/s)\n",
              1e3 * total, c.batch_size / total, step_flops / 1e9, gflops, 100 * gflops / ceiling, ceiling);
  std::vector<std::pair<std::string, double>> phases = {
      {"data: sample sub-trajectories (gather + uint8 -> float)", t_sample},
      {"  of which uint8 -> float", t_convert},
      {"forward: encoder, predictor, losses", t_forward},
      {"  of which encoder", t_encoder},
      {"backward", Median(b)},
      {"gradient clipping", Median(k)},
      {"optimizer (AdamW)", Median(u)},
  };
  out["ms"] = 1e3 * total;
  out["samples_per_s"] = c.batch_size / total;
  out["gflop_per_step"] = step_flops / 1e9;
  out["gflops"] = gflops;
  out["ceiling_fraction"] = gflops / ceiling;
  PrintPhases(phases, total, out);
  PrintOps(ProfileOps(whole, 5), 1e6 * total, o.top, out);
}

void ProfileControl(const Options& o, double ceiling, nlohmann::json& out) {
  world_model::WorldModel model{nullptr};
  std::string path = o.checkpoint;
  if (path.empty()) {
    const world_model::TrainConfig c = Config(o);
    torch::manual_seed(0);
    model = world_model::WorldModel(Meta(o, c));
    path = (std::filesystem::temp_directory_path() / "jepa_mpc_profile_model.pt").string();
    world_model::SaveCheckpoint(path, model, nullptr, {});
  } else {
    model = world_model::LoadCheckpoint(path).model;
  }
  const world_model::ModelMeta& meta = model->meta();
  ControllerOptions co;
  co.planner = o.planner;
  co.horizon = o.horizon;
  co.samples = o.samples;
  co.iterations = o.iterations;
  co.time_budget = 0;  // the whole budget, whatever the machine's speed
  co.bfloat16 = o.bfloat16;
  co.contact_height = o.contact_height;
  Controller controller(path, co);
  const int S = controller.image_size();
  std::vector<uint8_t> goal(S * S * 3), obs(S * S * 3);
  std::mt19937 rng(1);
  for (auto& v : goal) v = rng() & 255;
  for (auto& v : obs) v = rng() & 255;
  const std::vector<double> joints(controller.proprio_dim(), 0.5);
  // A model whose reaching term reads the hand from the robot: the hand over the table's middle.
  const std::vector<double> hand = controller.hand_dim() == 3 ? std::vector<double>{0.5, 0.0, 0.1}
                                                                : std::vector<double>{};
  controller.SetGoal({goal.data(), S, S});
  auto act = [&] { controller.Act({obs.data(), S, S}, joints, hand); };
  const double total = MedianSeconds(act, o.reps, 3);
  const int samples = static_cast<int>(planner::SamplesPerIteration({o.planner, o.samples, 0}));
  const int iterations = static_cast<int>(planner::IterationsPerStep(o.planner, o.iterations));
  // The same work piece by piece.
  auto image = world_model::ImagesFromRgb(obs.data(), 1, S, S);
  torch::NoGradGuard ng;
  model->eval();
  model->predictor->set_bfloat16_hidden(o.bfloat16);
  const double t_convert = MedianSeconds([&] { world_model::ImagesFromRgb(obs.data(), 1, S, S); }, o.reps);
  const double t_encode = MedianSeconds([&] { model->Encode(image); }, o.reps);
  auto z0 = torch::randn({samples, model->state_dim()});
  auto actions = torch::rand({samples, o.horizon, meta.action_dim}) * 2 - 1;
  const double t_rollout = MedianSeconds([&] { model->Rollout(z0, actions); }, o.reps);
  const double t_rollout_one =
      MedianSeconds([&] { model->Rollout(z0.narrow(0, 0, 1), actions.narrow(0, 0, 1)); }, o.reps);
  auto gen = at::detail::createCPUGenerator(0);
  auto mean = torch::zeros({o.horizon, meta.action_dim});
  const double t_sample = MedianSeconds(
      [&] {
        auto x = (mean.unsqueeze(0) + 0.5 * torch::randn({samples, o.horizon, meta.action_dim}, gen)).clamp(-1, 1);
      },
      o.reps);
  auto costs = torch::rand({samples});
  const double t_select = MedianSeconds(
      [&] {
        auto [v, i] = torch::topk(costs, 16, 0, false);
        auto e = actions.index_select(0, i);
        auto m = e.mean(0);
        auto s = e.std(0, false);
      },
      o.reps);
  const double flops = bench::LinearFlops(*model->predictor) * samples * o.horizon * iterations;
  const double gflops = flops / total / 1e9;
  std::printf("\ncontrol step: %s, %s %d samples x %d iterations, horizon %d, %dx%d image, %d threads\n",
              o.checkpoint.empty() ? o.robot.c_str() : o.checkpoint.c_str(), o.planner.c_str(), samples, iterations, o.horizon, S, S, o.threads);
  std::printf("  %.2f ms per step; predictor %.1f GFLOP/s = %.0f%% of the ceiling (%.0f GFLOP/s)\n", 1e3 * total,
              gflops, 100 * gflops / ceiling, ceiling);
  std::vector<std::pair<std::string, double>> phases = {
      {"image: RGB bytes -> float tensor", t_convert},
      {"encode the image", t_encode},
      {"rollouts: " + std::to_string(iterations) + " x predictor over the horizon", iterations * t_rollout},
      {"sampling candidates", iterations * t_sample},
      {"elite selection and update", iterations * t_select},
  };
  if (o.planner == "cem" || o.planner == "cem-mean") {
    phases.push_back({"cem: the last refit mean, scored alone", t_rollout_one});
  }
  double rest = total;
  for (const auto& [n, s] : phases) rest -= s;
  phases.push_back({"the rest (cost, bookkeeping, allocation)", rest});
  out["ms"] = 1e3 * total;
  out["gflops"] = gflops;
  out["ceiling_fraction"] = gflops / ceiling;
  PrintPhases(phases, total, out);
  torch::GradMode::set_enabled(true);
  PrintOps(ProfileOps(act, 10), 1e6 * total, o.top, out);
}

}  // namespace

int main(int argc, char** argv) {
  util::KeepFreedMemory();  // large tensors are freed and allocated again every step
  Options o;
  CLI::App app{"Where the time of a training step and of a control step goes"};
  app.add_option("--what", o.what, "train | control | both")->check(CLI::IsMember({"train", "control", "both"}));
  app.add_option("--robot", o.robot, "reacher2d | panda7")->check(CLI::IsMember({"reacher2d", "panda7"}));
  app.add_option("--task", o.task, "task for the training defaults (e.g. push)");
  app.add_option("--image-size", o.image_size, "image side in pixels")->check(CLI::Range(16, 512));
  app.add_option("--keypoints", o.keypoints, "keypoints per view (0: the robot's default)")->check(CLI::Range(0, 256));
  app.add_option("--hidden", o.hidden, "predictor width (0: default)")->check(CLI::Range(0, 8192));
  app.add_option("--batch", o.batch, "training batch (0: default)")->check(CLI::Range(0, 4096));
  app.add_option("--planner", o.planner, "a registered planner: " + planner::PlannerRegistry().Known());
  app.add_option("--checkpoint", o.checkpoint,
                 "control: profile this trained model with its own cost (default: an untrained model of --robot)")
      ->check(CLI::ExistingFile);
  app.add_flag("--bfloat16", o.bfloat16, "control: the predictor's hidden layers multiplied in bfloat16");
  app.add_option("--contact-height", o.contact_height,
                 "control: a push model's predicted block moves only where the hand could touch it (metres above "
                 "the block's height; default: the model's, push 0.025; 0: off)");
  app.add_option("--horizon", o.horizon, "planning horizon")->check(CLI::Range(1, 256));
  app.add_option("--samples", o.samples, "candidates per iteration (0: the planner's default)")->check(CLI::Range(0, 65536));
  app.add_option("--iterations", o.iterations, "planner iterations (0: the planner's default)")->check(CLI::Range(0, 64));
  app.add_option("--reps", o.reps, "timed repetitions (median)")->check(CLI::Range(3, 10000));
  app.add_option("--threads", o.threads, "torch threads")->check(CLI::Range(1, 256));
  app.add_option("--top", o.top, "operators listed")->check(CLI::Range(1, 1000));
  app.add_option("--json", o.json, "also write the figures to this JSON file");
  CLI11_PARSE(app, argc, argv);
  at::set_num_threads(o.threads);
  nlohmann::json out;
  const double ceiling = CeilingGflops();
  std::printf("ceiling: 1024 x 1024 matrix multiply, %d threads: %.1f GFLOP/s\n", o.threads, ceiling);
  out["ceiling_gflops"] = ceiling;
  if (o.what != "control") ProfileTraining(o, ceiling, out["train"]);
  if (o.what != "train") ProfileControl(o, ceiling, out["control"]);
  if (!o.json.empty()) std::ofstream(o.json) << out.dump(2) << "\n";
  return 0;
}
