// Google Benchmarks of the hot paths at default sizes (reach2d model, 64x64 images, 2 threads):
// encoding, predictor rollout, one CEM / MPPI control step, one oracle step, one rendered frame,
// one training step, and a large matrix multiply as the machine's practical GFLOP/s ceiling.
// Rollout and planner benchmarks report achieved GFLOP/s (counting the predictor's matrix
// multiplies) beside it, the training step its convolutions' and matrix multiplies'.
//
//   build/benchmarks/jepa_mpc_bench [--benchmark_filter=Cem]
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <filesystem>
#include <random>

#include "benchmarks/op_profile.h"
#include "control/controller.h"
#include "planner/cem.h"
#include "planner/factory.h"
#include "sim/oracle.h"
#include "sim/task.h"
#include "util/allocator.h"
#include "world_model/checkpoint.h"
#include "world_model/trainer.h"

using namespace jepa_mpc;

namespace {

constexpr int kThreads = 2;

world_model::ModelMeta Meta() {
  world_model::ModelMeta m;
  m.robot = "reacher2d";
  m.task = "reach2d";
  m.action_mode = "joint_position_delta";
  m.camera = "top";
  m.image_size = 64;
  m.action_dim = 2;
  m.config = world_model::DefaultTrainConfig("reacher2d").model;
  if (m.config.proprio) {  // the joint state: shoulder and elbow angles
    m.proprio_dim = 2;
    m.proprio_mean.assign(4, 0.0);
    m.proprio_std.assign(4, 1.0);
  }
  return m;
}

// Multiply-adds x 2 of the predictor's linear layers for one sample and one step.
double PredictorFlops(world_model::WorldModel& model) { return bench::LinearFlops(*model->predictor); }

// A checkpoint with the default architecture (untrained weights time the same).
const std::string& CheckpointPath() {
  static const std::string path = [] {
    auto p = (std::filesystem::temp_directory_path() / "jepa_mpc_bench_model.pt").string();
    torch::manual_seed(0);
    world_model::WorldModel model(Meta());
    world_model::SaveCheckpoint(p, model, nullptr, {});
    return p;
  }();
  return path;
}

void MatMul(benchmark::State& state) {
  at::set_num_threads(kThreads);
  const int64_t n = state.range(0);
  auto a = torch::randn({n, n}), b = torch::randn({n, n});
  for (auto _ : state) benchmark::DoNotOptimize(torch::mm(a, b));
  state.counters["GFLOP"] =
      benchmark::Counter(2.0 * n * n * n * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK(MatMul)->Arg(256)->Arg(1024)->Unit(benchmark::kMillisecond)->UseRealTime();

void Encode(benchmark::State& state) {
  at::set_num_threads(kThreads);
  world_model::WorldModel model(Meta());
  auto images = torch::rand({state.range(0), 3, 64, 64});
  for (auto _ : state) benchmark::DoNotOptimize(model->Encode(images));
  state.counters["images"] =
      benchmark::Counter(static_cast<double>(state.range(0) * state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(Encode)->Arg(1)->Arg(32)->Unit(benchmark::kMillisecond)->UseRealTime();

void Rollout(benchmark::State& state) {
  at::set_num_threads(kThreads);
  world_model::WorldModel model(Meta());
  const int64_t N = state.range(0), H = state.range(1);
  auto z0 = torch::randn({N, model->state_dim()});
  auto actions = torch::rand({N, H, 2}) * 2 - 1;
  for (auto _ : state) benchmark::DoNotOptimize(model->Rollout(z0, actions));
  state.counters["GFLOP"] = benchmark::Counter(PredictorFlops(model) * N * H * state.iterations() / 1e9,
                                                 benchmark::Counter::kIsRate);
}
BENCHMARK(Rollout)->Args({256, 8})->Args({512, 8})->Unit(benchmark::kMillisecond)->UseRealTime();

// One control step of the learned controller: encode the image, plan (default sizes), act.
void ControlStep(benchmark::State& state, const std::string& planner) {
  ControllerOptions o;
  o.planner = planner;
  at::set_num_threads(kThreads);
  Controller controller(CheckpointPath(), o);
  std::vector<uint8_t> goal(64 * 64 * 3), obs(64 * 64 * 3);
  std::mt19937 rng(1);
  for (auto& v : goal) v = rng() & 255;
  for (auto& v : obs) v = rng() & 255;
  const std::vector<double> joints(controller.proprio_dim(), 0.5);
  controller.SetGoal({goal.data(), 64, 64});
  int64_t evaluations = 0;
  const int64_t samples = jepa_mpc::planner::SamplesPerIteration({planner, 0, 0});
  for (auto _ : state) {
    benchmark::DoNotOptimize(controller.Act({obs.data(), 64, 64}, joints));
    // mppi and cem-mean score their plan, the refit mean, once more.
    evaluations += static_cast<int64_t>(controller.last().iterations) * samples + (planner != "cem");
  }
  world_model::WorldModel model(Meta());
  state.counters["GFLOP"] = benchmark::Counter(
      PredictorFlops(model) * o.horizon * static_cast<double>(evaluations) / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK_CAPTURE(ControlStep, Cem, std::string("cem"))->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(ControlStep, Mppi, std::string("mppi"))->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(ControlStep, CemMean, std::string("cem-mean"))->Unit(benchmark::kMillisecond)->UseRealTime();

// One oracle control step: CEM (64 samples, 3 iterations, H=8) on true reach2d rollouts.
void OracleStep(benchmark::State& state) {
  auto task = sim::MakeTask("reach2d");
  task->Reset(3);
  sim::OracleCost oracle("reach2d", kThreads);
  planner::PlannerOptions po;
  po.horizon = 8;
  po.iterations = 3;
  planner::CemOptions co;
  co.samples = 64;
  co.elites = 16;
  planner::Cem cem(po, co);
  for (auto _ : state) {
    auto r = cem.Plan([&](const torch::Tensor& a) {
      auto c = a.contiguous();
      return torch::tensor(oracle.Evaluate(*task, c.data_ptr<float>(), a.size(0), a.size(1), 2, {true}),
                           torch::kFloat64);
    });
    benchmark::DoNotOptimize(r.actions);
  }
}
BENCHMARK(OracleStep)->Unit(benchmark::kMillisecond)->UseRealTime();

void RenderFrame(benchmark::State& state) {
  auto task = sim::MakeTask(state.range(0) ? "reach3d" : "reach2d");
  task->Reset(1);
  sim::Renderer renderer(task->sim().model());
  std::vector<uint8_t> out(64 * 64 * 3);
  for (auto _ : state) renderer.Render(task->sim().data(), task->sim().camera_ids(), out.data());
  state.SetLabel(state.range(0) ? "panda7 64x64" : "reacher2d 64x64");
}
BENCHMARK(RenderFrame)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond)->UseRealTime();

// One optimizer step at the default recipe: 32 sub-trajectories of 4 frames.
void TrainStep(benchmark::State& state) {
  at::set_num_threads(kThreads);
  world_model::TrainConfig c = world_model::DefaultTrainConfig("reacher2d");
  world_model::WorldModel model(Meta());
  model->train();
  torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(c.learning_rate));
  world_model::Batch batch{torch::rand({c.batch_size, c.sequence_length, 3, 64, 64}),
                           torch::rand({c.batch_size, c.sequence_length, 2}) * 2 - 1,
                           torch::rand({c.batch_size, c.sequence_length, 2}) * 4 - 2, torch::Tensor()};
  int64_t step = 0;
  const double flops = bench::TrainingStepFlops([&] { world_model::ComputeLosses(model, c, batch, step); });
  for (auto _ : state) {
    auto l = world_model::ComputeLosses(model, c, batch, step++);
    opt.zero_grad();
    l.total.backward();
    torch::nn::utils::clip_grad_norm_(model->parameters(), c.grad_clip);
    opt.step();
  }
  // Samples are sub-trajectories of sequence_length frames, as train reports them.
  state.counters["samples"] = benchmark::Counter(static_cast<double>(c.batch_size * state.iterations()),
                                                 benchmark::Counter::kIsRate);
  // Convolutions and matrix multiplies, forward and backward (benchmarks/op_profile.h).
  state.counters["GFLOP"] = benchmark::Counter(flops * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK(TrainStep)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  util::KeepFreedMemory();  // as the binaries that train and plan do
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
