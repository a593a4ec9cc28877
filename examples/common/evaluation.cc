#include "examples/common/evaluation.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <stdexcept>

#include "examples/common/episode_view.h"
#include "examples/common/live_view.h"
#include "examples/common/media.h"
#include "examples/common/progress.h"
#include "planner/factory.h"
#include "planner/mpc.h"
#include "sim/collector.h"
#include "sim/oracle.h"
#include "sim/task.h"
#include "util/atomic_file.h"

namespace jepa_mpc::tools {

namespace fs = std::filesystem;

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double pos = p * (v.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos)), hi = std::min(v.size() - 1, lo + 1);
  return v[lo] + (pos - lo) * (v[hi] - v[lo]);
}

void ScoreEpisode(const std::vector<bool>& met, const std::vector<double>& distance, EpisodeResult& r) {
  if (met.empty() || met.size() != distance.size()) {
    throw std::invalid_argument("an episode is scored from one judgement and one distance per step");
  }
  r.steps = static_cast<int>(met.size()) - 1;
  r.success = met.back();
  r.final_distance = distance.back();
  r.first_success = -1;
  for (size_t t = 0; t < met.size(); ++t) {
    if (met[t]) {
      r.first_success = static_cast<int>(t);
      break;
    }
  }
}

MethodSummary Summarize(const std::string& method, const std::vector<EpisodeResult>& results) {
  MethodSummary s;
  s.method = method;
  std::vector<double> ms;
  int passages = 0;
  for (const auto& e : results) {
    if (e.method != method) continue;
    ++s.episodes;
    s.success_rate += e.success;
    s.mean_final_distance += e.final_distance;
    if (e.first_success >= 0) ++passages, s.mean_steps += e.first_success;
    ms.insert(ms.end(), e.plan_ms.begin(), e.plan_ms.end());
  }
  if (s.episodes == 0) return s;
  s.success_rate /= s.episodes;
  s.first_passage_rate = static_cast<double>(passages) / s.episodes;
  s.mean_final_distance /= s.episodes;
  s.mean_steps = passages ? s.mean_steps / passages : 0;
  s.plan_ms_median = Percentile(ms, 0.5);
  s.plan_ms_p95 = Percentile(ms, 0.95);
  return s;
}

uint64_t EpisodePlannerSeed(uint64_t planner_seed, int episode) {
  return episode == 0 ? planner_seed : sim::EpisodeSeed(planner_seed ^ 0x5EEDull, episode);
}

uint64_t GoalSeed(uint64_t seed, int episode) {
  return 0x9E3779B97F4A7C15ull ^ (seed * 1000003ull + static_cast<uint64_t>(episode));
}

namespace {

std::array<double, 3> ToArray(const Eigen::Vector3d& v) { return {v.x(), v.y(), v.z()}; }

struct Method {
  std::string name;                                 // learned-cem, oracle-cem, perfect-cem, random
  std::unique_ptr<Controller> learned;              // the learned-model planner, or
  std::unique_ptr<planner::RecedingHorizon> oracle;  // the planner on the true simulator, or neither
  // With `oracle`: the planner scores the true future frames with the model's encoder and energy
  // (the perfect-predictor check) instead of the task's true cost.
  bool perfect = false;
};

// The perfect-predictor costs of n candidates of h steps: their true future frames, rendered at
// the model's image size, scored by the model's encoder and energy; a diverged rollout is never
// chosen. With a withdrawal (ControllerOptions::withdraw_steps) each candidate is followed by it
// in the simulator too, as the model's cost follows it in prediction.
std::vector<double> PerfectCosts(sim::OracleCost& oracle, const sim::Task& task, const float* actions, int n, int h,
                                 int image_size, Controller& model) {
  sim::RenderOptions ro;
  ro.width = ro.height = image_size;
  const int A = task.action_dim(), W = model.options().withdraw_steps;
  std::vector<float> extended;
  if (W > 0) {  // [n, h + W, A]: each candidate, then the withdrawal
    for (int i = 0; i < n; ++i) {
      extended.insert(extended.end(), actions + static_cast<size_t>(i) * h * A, actions + static_cast<size_t>(i + 1) * h * A);
      for (int k = 0; k < W; ++k) {
        extended.insert(extended.end(), model.options().withdraw_action.begin(), model.options().withdraw_action.end());
      }
    }
    actions = extended.data();
    h += W;
  }
  std::vector<bool> unstable;
  std::vector<double> hands;  // where the end effector went, for a model that reads it from the robot
  const std::vector<uint8_t> rgb =
      oracle.RenderRollouts(task, actions, n, h, A, ro, &unstable, model.hand_dim() > 0 ? &hands : nullptr);
  std::vector<ImageView> frames(static_cast<size_t>(n) * h);
  for (size_t i = 0; i < frames.size(); ++i) {
    frames[i] = {rgb.data() + i * image_size * image_size * 3, image_size, image_size};
  }
  std::vector<double> costs = model.FutureCosts(frames, h, hands);
  for (int i = 0; i < n; ++i) {
    if (unstable[i]) costs[i] = INFINITY;
  }
  return costs;
}

// A hand-written push, run closed loop for `steps` control steps on `scratch` (in the state to
// push from): over the point behind the object on its far side from the goal, down to the
// fingers' pushing height, then through until the object's centre would be at the goal. Returns
// the actions (steps x action_dim). For explaining what the planner could have done.
std::vector<float> ScriptedPush(sim::Task& scratch, int steps) {
  constexpr double kStandoff = 0.045;  // behind the object's centre, before the push (m)
  constexpr double kContact = 0.035;   // the object's centre ahead of the hand in the push (m)
  constexpr double kLow = 0.03, kAbove = 0.085;
  const int A = scratch.action_dim();
  const auto& scale = scratch.sim().spec().action_scale;
  const Eigen::Vector3d goal = scratch.goal_position();
  Eigen::Vector2d u = (goal - scratch.TrackedPosition()).head<2>();
  u = u.norm() > 1e-6 ? Eigen::Vector2d(u.normalized()) : Eigen::Vector2d::UnitX();
  int phase = 0;  // 0 over the point behind, 1 down to it, 2 the push
  std::vector<float> actions;
  for (int t = 0; t < steps; ++t) {
    const Eigen::Vector3d ee = scratch.sim().ee_pos(), object = scratch.TrackedPosition();
    const Eigen::Vector2d behind = object.head<2>() - u * kStandoff;
    if (phase == 0 && (ee.head<2>() - behind).norm() < 0.012) phase = 1;
    if (phase == 1 && ee.z() < kLow + 0.012) phase = 2;
    Eigen::Vector3d target;
    if (phase == 0) {
      target << behind, kAbove;
      // Low beside the object, rise before moving across it.
      if (ee.z() < kAbove - 0.015 && (ee - object).head<2>().norm() < 0.08) target.head<2>() = ee.head<2>();
    } else if (phase == 1) {
      target << behind, kLow;
    } else {
      target << goal.head<2>() - u * kContact, kLow;
    }
    Eigen::VectorXd a = Eigen::VectorXd::Zero(A);
    for (int i = 0; i < 3 && i < A; ++i) a[i] = std::clamp((target[i] - ee[i]) / scale[i], -1.0, 1.0);
    scratch.Step(a);
    for (int i = 0; i < A; ++i) actions.push_back(static_cast<float>(a[i]));
  }
  return actions;
}

// One explain.csv row per plan for the learned controller's last step: the chosen plan, keeping
// still and (object tasks) a hand-written push, each scored by the model in parts, by the
// encoder on its true future (perfect predictor) and by the task's distance it truly ends at.
void ExplainStep(Controller& learned, Controller& probe, sim::Task& task, sim::Task& scratch,
                 sim::OracleCost& oracle, int image_size, const std::string& method, int episode, int step,
                 std::ostream& out) {
  const PlanPreview chosen = learned.Preview(0);
  const int T = chosen.steps, A = chosen.action_dim;
  std::vector<std::string> names{"chosen", "still"};
  std::vector<float> actions = chosen.actions;
  actions.resize(actions.size() + static_cast<size_t>(T) * A, 0.f);
  if (task.sim().num_objects() > 0) {
    scratch.CopyStateFrom(task);
    const std::vector<float> push = ScriptedPush(scratch, T);
    actions.insert(actions.end(), push.begin(), push.end());
    names.push_back("scripted_push");
  }
  const int n = static_cast<int>(names.size());
  const std::vector<PlanScore> model = learned.ScorePlans(actions, n);
  const std::vector<double> perfect = PerfectCosts(oracle, task, actions.data(), n, T, image_size, probe);
  const std::vector<double> truth = oracle.Evaluate(task, actions.data(), n, T, A);
  for (int i = 0; i < n; ++i) {
    out << method << "," << episode << "," << step << "," << names[i] << "," << model[i].cost << ","
        << model[i].distance << "," << model[i].reach << "," << model[i].object_distance << "," << perfect[i] << ","
        << truth[i] << "\n";
  }
}

}  // namespace

EvalReport Evaluate(const EvalOptions& o, const std::atomic<bool>* stop, LiveView* live) {
  if (o.episodes <= 0) throw std::invalid_argument("episodes must be positive");
  if (o.steps < 0) throw std::invalid_argument("steps must be >= 0 (0: the task's episode length)");
  if (o.replay_offset < 0) throw std::invalid_argument("replay offset must be >= 0");
  if (o.threads <= 0) throw std::invalid_argument("threads must be positive");
  if (o.videos < 0 || o.failure_videos < 0) throw std::invalid_argument("videos must be >= 0");
  if (o.trace_candidates < 0) throw std::invalid_argument("trace candidates must be >= 0");
  if (!o.explain.empty() && o.out.empty()) throw std::invalid_argument("--explain writes explain.csv: give --out");
  for (int e : o.explain) {
    if (e < 0 || e >= o.episodes) {
      throw std::invalid_argument("--explain episode " + std::to_string(e) + " is outside the " +
                                  std::to_string(o.episodes) + " goals (0 to " + std::to_string(o.episodes - 1) + ")");
    }
  }
  if (o.video_size < 64 || o.video_size % 2) {
    throw std::invalid_argument("video size is " + std::to_string(o.video_size) +
                                ", expected an even size of at least 64");
  }
  sim::ValidateShard(o.shard_index, o.shard_count, o.episodes, "goals");
  if (o.oracle_samples < 0 || o.oracle_samples == 1 || o.oracle_iterations < 0 || o.oracle_episodes < 0) {
    throw std::invalid_argument("oracle samples must be >= 2, iterations and episodes >= 1 (0: default)");
  }
  ControllerOptions base = o.controller;
  at::set_num_threads(o.threads);  // the application's choice; the controller leaves it alone
  // The learned controller's options for one planner: --temperature is mppi's, the others have none.
  auto learned_options = [&base](const std::string& name) {
    ControllerOptions c = base;
    c.planner = name;
    if (!planner::TakesTemperature(name)) c.temperature = 0;
    return c;
  };
  // Validates the checkpoint and the options.
  Controller probe(o.checkpoint, learned_options(o.planners.empty() ? base.planner : o.planners.front()));
  EvalReport report;
  report.checkpoint = o.checkpoint;
  report.options = o;
  report.options.controller.contact_height = probe.options().contact_height;  // as resolved for the model
  if (o.oracle || !o.perfect_planner.empty()) {
    // The oracle searches at least as hard as the hardest-searching learned planner.
    int64_t learned_samples = 0, learned_budget = 0, learned_iterations = 0;
    std::string hardest;
    for (const auto& p : o.planners) {
      const int64_t s = planner::SamplesPerIteration({p, base.samples, base.elites});
      learned_samples = std::max(learned_samples, s);
      const int64_t iterations = planner::IterationsPerStep(p, base.iterations);
      if (s * iterations > learned_budget) learned_budget = s * iterations, hardest = p, learned_iterations = iterations;
    }
    EvalOptions& r = report.options;
    if (r.oracle_samples == 0) {
      r.oracle_samples = static_cast<int>(
          learned_samples ? learned_samples : planner::SamplesPerIteration({o.oracle_planner, 0, 0}));
    }
    if (r.oracle_iterations == 0) {
      r.oracle_iterations = static_cast<int>(
          learned_iterations ? learned_iterations : planner::IterationsPerStep(o.oracle_planner, base.iterations));
    }
    if (r.oracle_episodes == 0 || r.oracle_episodes > o.episodes) r.oracle_episodes = o.episodes;
    const int64_t oracle_budget = static_cast<int64_t>(r.oracle_samples) * r.oracle_iterations;
    if (oracle_budget < learned_budget) {
      throw std::invalid_argument(
          "oracle budget " + std::to_string(r.oracle_samples) + " samples x " +
          std::to_string(r.oracle_iterations) + " iterations = " + std::to_string(oracle_budget) +
          " is below learned " + hardest + "'s " + std::to_string(learned_budget) +
          ": the oracle would not be an upper bound (raise --oracle-samples/--oracle-iterations)");
    }
  }
  report.task = o.task.empty() ? probe.task() : o.task;
  const sim::TaskEntry& entry = sim::TaskRegistry().Get(report.task);  // a known task, or the list of them
  if (std::isnan(report.options.oracle_reach_weight)) report.options.oracle_reach_weight = entry.demo.oracle_reach_weight;
  report.robot = probe.robot();
  if (report.task != probe.task()) {
    throw std::invalid_argument("checkpoint " + o.checkpoint + " was trained on task '" +
                                probe.task() + "', not '" + report.task + "'");
  }
  // The task as the model sees it: its robot, cameras and anti-aliasing.
  auto model_view = [&](int offscreen_size) {
    return sim::TaskOptions{offscreen_size, o.mjcf_file, report.robot, probe.camera(), probe.antialias()};
  };
  auto task = sim::MakeTask(report.task, model_view(std::max(256, o.video_size)));
  report.success_rule = task->info().success_rule;
  const int S = probe.image_size(), A = task->action_dim();
  if (probe.camera() != task->sim().camera_label()) {
    throw std::invalid_argument("checkpoint " + o.checkpoint + " was trained on images from camera '" +
                                probe.camera() + "', this scene renders '" + task->sim().camera_label() +
                                "' (give the MJCF the data was collected with: --mjcf)");
  }
  if (A != probe.action_dim()) {
    throw std::invalid_argument("checkpoint actions have " + std::to_string(probe.action_dim()) +
                                " dimensions, task " + report.task + " has " + std::to_string(A));
  }
  // Every method is built before any work, so an unknown planner fails at once.
  std::vector<Method> methods;
  for (const auto& p : o.planners) {
    methods.push_back({"learned-" + p, std::make_unique<Controller>(o.checkpoint, learned_options(p)), nullptr});
  }
  // A planner on the true simulator: the oracle's, or the learned planner's for the check.
  auto simulator_planner = [&](const std::string& name, int samples, int elites, int iterations) {
    const double temperature = planner::TakesTemperature(name) ? base.temperature : 0;
    planner::PlannerOptions po;
    po.horizon = base.horizon;
    po.action_dim = A;
    po.iterations = iterations;
    po.seed = base.seed;
    return std::make_unique<planner::RecedingHorizon>(planner::MakePlanner({name, samples, elites, temperature}, po),
                                                      base.action_repeat);
  };
  if (o.oracle) {
    methods.push_back({"oracle-" + o.oracle_planner, nullptr,
                       simulator_planner(o.oracle_planner, report.options.oracle_samples, 0,
                                         report.options.oracle_iterations)});
  }
  if (!o.perfect_planner.empty()) {
    // The learned planner's search (samples, elites, iterations) without its time limit: it
    // searches at least as hard as the learned planner.
    methods.push_back({"perfect-" + o.perfect_planner, nullptr,
                       simulator_planner(o.perfect_planner, base.samples, base.elites,
                                         static_cast<int>(planner::IterationsPerStep(o.perfect_planner, base.iterations))),
                       true});
  }
  if (o.random) methods.push_back({"random", nullptr, nullptr});
  if (methods.empty()) throw std::invalid_argument("nothing to evaluate: no method selected");
  sim::RenderOptions ro;
  ro.width = ro.height = S;
  sim::Renderer renderer(task->sim().model(), ro);
  // What is shown of the episodes: videos, contact sheets, the live view.
  const bool write_videos = !o.out.empty() && o.videos + o.failure_videos > 0;
  const bool write_sheets = !o.out.empty() && o.contact_sheets;
  std::unique_ptr<sim::Renderer> video_renderer;
  std::unique_ptr<sim::Task> trace_task;  // rolls plans out on the true scene, for drawing
  const Probes probes = LoadProbes(o.checkpoint);
  if (write_videos || write_sheets || live) {
    sim::RenderOptions vo;
    vo.width = vo.height = o.video_size;
    video_renderer = std::make_unique<sim::Renderer>(task->sim().model(), vo);
    trace_task = sim::MakeTask(report.task, model_view(std::max(256, o.video_size)));
    if (write_videos) fs::create_directories(fs::path(o.out) / "videos");
    if (write_sheets) fs::create_directories(fs::path(o.out) / "contact");
  }
  std::unique_ptr<sim::OracleCost> oracle;
  if (o.oracle || !o.perfect_planner.empty() || !o.explain.empty()) {
    oracle = std::make_unique<sim::OracleCost>(report.task, o.threads, model_view(256));
  }
  std::unique_ptr<sim::Task> scratch;  // --explain: where the hand-written push is run
  std::ostringstream explained;
  if (!o.explain.empty()) {
    scratch = sim::MakeTask(report.task, model_view(256));
    explained << "method,episode,step,plan,model_cost,model_distance,model_reach,model_object_m,perfect_cost,"
                 "true_distance_m\n";
  }
  const int steps_max = o.steps > 0 ? o.steps : task->info().episode_steps;
  const std::vector<int>& camera = task->sim().camera_ids();
  std::unique_ptr<sim::DatasetWriter> recorder;
  if (!o.record.empty()) {
    if (fs::exists(o.record)) {
      throw std::invalid_argument("--record '" + o.record + "' already exists, expected a new file (recorded "
                                  "episodes are never overwritten)");
    }
    recorder = std::make_unique<sim::DatasetWriter>(sim::DatasetWriter::Create(
        o.record, sim::DatasetInfoFor(*task, static_cast<int>(S), steps_max, o.seed), false));
  }
  // This run's goals: all of them, or its shard's block.
  const auto [first_goal, last_goal] =
      o.shard_count > 0 ? sim::ShardRange(o.episodes, o.shard_index, o.shard_count) : std::pair<int, int>{0, o.episodes};

  for (const Method& m : methods) {
    Controller* learned = m.learned.get();
    planner::RecedingHorizon* oracle_planner = m.oracle.get();
    const bool random = !learned && !oracle_planner;
    const int end = std::min(last_goal, oracle_planner ? report.options.oracle_episodes : o.episodes);
    if (end <= first_goal) continue;  // the oracle's goals lie in other shards
    ProgressBar bar(m.name, end - first_goal, "episodes");
    int successes = 0, success_videos = 0, failure_videos = 0;
    for (int ep = first_goal; ep < end; ++ep) {
      if (stop && stop->load()) {
        report.interrupted = true;
        break;
      }
      EpisodeResult r;
      r.method = m.name;
      r.episode = ep;
      r.seed = GoalSeed(o.seed, ep);
      if (o.replay_offset > 0) {
        // The next seed whose exploration episode moves the tracked point far enough (a large
        // odd stride keeps the retries clear of the other episodes' seeds).
        for (int attempt = 0;; ++attempt, r.seed += 0x9E3779B97F4A7C15ull) {
          try {
            const sim::ReplayGoal g = sim::MakeReplayGoal(*task, r.seed, o.replay_offset, o.replay_min_move);
            task->SetStartAndGoal(g.start, g.goal);
            break;
          } catch (const std::runtime_error&) {
            if (attempt == 100) throw;
          }
        }
      } else {
        task->Reset(r.seed);
      }
      r.initial_distance = task->Distance();
      // --explain: this episode's every learned step goes to explain.csv.
      const bool explaining = learned && std::find(o.explain.begin(), o.explain.end(), ep) != o.explain.end();
      r.goal = ToArray(task->goal_position());
      if (!std::isnan(task->TrackedYaw())) r.goal_reach = task->GoalReachDistance();
      const sim::Image goal = task->RenderGoal(renderer);
      probe.SetGoal({goal.rgb.data(), S, S});
      if (learned) {
        learned->SetGoal({goal.rgb.data(), S, S});
        learned->Reseed(EpisodePlannerSeed(base.seed, ep));
      }
      const std::string stem = m.name + "_ep" + std::to_string(ep);
      const fs::path video_stem = fs::path(o.out) / "videos" / stem;
      if (write_videos) {
        // A run into the same folder replaces this episode's video, whatever the last one's end
        // (or a .part.mp4 left by a run that was killed).
        for (const char* end : {".part.mp4", "_success.mp4", "_failure.mp4"}) fs::remove(video_stem.string() + end);
      }
      // The frames are kept until the episode's outcome says whether it is one to show.
      const bool recording = write_videos && (success_videos < o.videos || failure_videos < o.failure_videos);
      std::vector<cv::Mat> frames;
      std::vector<sim::Image> sheet;  // start, middle, end
      std::unique_ptr<FrameComposer> composer;
      sim::Image goal_view;  // the goal at video size, for the frames and the contact sheet
      if (video_renderer) {
        goal_view = task->RenderGoal(*video_renderer);
        composer = std::make_unique<FrameComposer>(o.video_size, goal_view, m.name, steps_max);
      }
      std::mt19937_64 rng(r.seed);
      std::uniform_real_distribution<float> uniform(-1.f, 1.f);
      if (oracle_planner) {
        oracle_planner->Reset();
        oracle_planner->planner().Reseed(EpisodePlannerSeed(base.seed, ep));
      }
      std::vector<bool> met;
      sim::EpisodeData record;  // the episode as a dataset holds it (learned planners, with --record)
      if (recorder && learned) record = sim::EmptyEpisode(*task, renderer, steps_max, r.seed);
      for (int t = 0;; ++t) {
        sim::Image obs;
        if (recorder && learned && t < steps_max) {
          sim::RecordFrame(*task, renderer, t, record);  // renders the camera into the episode: seen from there
          const size_t size = static_cast<size_t>(S) * S * 3;
          const uint8_t* frame = record.images.data() + static_cast<size_t>(t) * size;
          obs = {static_cast<int>(S), static_cast<int>(S), std::vector<uint8_t>(frame, frame + size)};
        } else {
          obs = renderer.Render(task->sim().data(), camera);
        }
        const double dist = task->Distance();
        const bool success = task->Success();
        double energy = 0;
        met.push_back(success);
        const bool acting = t < steps_max;
        std::vector<float> action(A, 0.f);
        double ms = 0;
        if (acting && learned) {
          const Eigen::Vector3d hand = task->sim().ee_pos();
          action = learned->Act({obs.rgb.data(), S, S},
                                learned->proprio_dim() > 0 ? task->sim().joint_state() : std::vector<double>(),
                                learned->hand_dim() > 0 ? std::vector<double>{hand.x(), hand.y(), hand.z()}
                                                        : std::vector<double>());
          energy = learned->last().energy;
          ms = learned->last().seconds * 1000;
          if (std::isfinite(learned->last().object_distance)) r.read_distance.push_back(learned->last().object_distance);
          if (explaining) {
            ExplainStep(*learned, probe, *task, *scratch, *oracle, S, m.name, ep, t, explained);
          }
        } else {
          energy = probe.Energy({obs.rgb.data(), S, S});
        }
        if (acting && oracle_planner) {
          const auto start = std::chrono::steady_clock::now();
          const sim::OracleScore score{base.sum_over_horizon, report.options.oracle_reach_weight};
          const torch::Tensor act = oracle_planner->Step([&](const torch::Tensor& a) {
            auto ac = a.contiguous();
            const int n = static_cast<int>(a.size(0)), h = static_cast<int>(a.size(1));
            // probe holds the goal and the learned planners' cost options (L1, summed or last).
            if (m.perfect) return torch::tensor(PerfectCosts(*oracle, *task, ac.data_ptr<float>(), n, h, S, probe),
                                                torch::kFloat64);
            return torch::tensor(oracle->Evaluate(*task, ac.data_ptr<float>(), n, h, A, score), torch::kFloat64);
          });
          for (int k = 0; k < A; ++k) action[k] = act[k].item<float>();
          ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
        }
        if (acting && random) {
          for (auto& v : action) v = uniform(rng);
        }
        r.distance.push_back(dist);
        r.energy.push_back(energy);
        r.tracked.push_back(ToArray(task->TrackedPosition()));
        if (const double yaw = task->TrackedYaw(); std::isfinite(yaw)) r.tracked_yaw_deg.push_back(yaw * 180 / M_PI);
        r.effector.push_back(ToArray(task->sim().ee_pos()));
        const bool to_live = live && live->WantsFrame();
        const bool sheet_frame = write_sheets && (t == 0 || t == steps_max / 2 || !acting);
        if (recording || to_live || sheet_frame) {
          sim::Image view = video_renderer->Render(task->sim().data(), camera);
          if (sheet_frame) sheet.push_back(view);
          if (recording || to_live) {
            // What the planner intends from here: its plan's predicted and true futures.
            PlanTraces traces;
            if (acting && learned) {
              traces = PlanTracesOf(learned->Preview(o.trace_candidates, 0.2f, EpisodePlannerSeed(base.seed, ep) + t),
                                    probes, *task, *trace_task);
            } else if (acting && oracle_planner) {
              const torch::Tensor plan = oracle_planner->acted().to(torch::kFloat32).contiguous();
              TrueFuture(*task, plan.data_ptr<float>(), static_cast<int>(plan.size(0)), A, *trace_task, traces);
            }
            DrawTraces(view, traces, task->sim().model(), task->sim().data(), camera);
            const cv::Mat frame = composer->Compose(view, t, r.energy, r.distance, success);
            if (recording) {
              // The final frame is held for a second so the end can be seen.
              const int repeat = acting ? 1 : static_cast<int>(std::lround(1.0 / task->sim().spec().control_period));
              for (int k = 0; k < repeat; ++k) frames.push_back(frame);
            }
            if (to_live) {
              live->Publish(frame, {{"method", m.name}, {"goal", ep}, {"step", t}, {"energy", energy},
                                    {"distance_cm", 100 * dist}, {"plan_ms", ms},
                                    {"reached_so_far", std::to_string(successes) + " of " + std::to_string(ep - first_goal)}});
            }
          }
        }
        if (!acting) {
          ScoreEpisode(met, r.distance, r);
          break;
        }
        r.plan_ms.push_back(ms);
        if (recorder && learned) std::copy(action.begin(), action.end(), record.actions.begin() + static_cast<size_t>(t) * A);
        Eigen::VectorXd a(A);
        for (int k = 0; k < A; ++k) a[k] = action[k];
        task->Step(a);
      }
      if (recording && (r.success ? success_videos < o.videos : failure_videos < o.failure_videos)) {
        (r.success ? success_videos : failure_videos)++;
        VideoWriter video(video_stem.string() + ".part.mp4", composer->height(), composer->width(),
                          1.0 / task->sim().spec().control_period);
        for (const cv::Mat& f : frames) video.Write(f.data);
        video.Close();  // then the name says how it went
        fs::rename(video_stem.string() + ".part.mp4",
                   video_stem.string() + (r.success ? "_success" : "_failure") + ".mp4");
      }
      if (write_sheets && sheet.size() == 3) {
        cv::Mat bgr;
        cv::cvtColor(ContactSheet(sheet, goal_view, 96), bgr, cv::COLOR_RGB2BGR);
        WriteImage((fs::path(o.out) / "contact" / (stem + ".jpg")).string(), bgr, "contact sheet");
      }
      if (recorder && learned) recorder->Append(record);
      if (explaining) {
        fs::create_directories(o.out);
        util::WriteFileAtomically((fs::path(o.out) / "explain.csv").string(), explained.str());  // each as it ends
      }
      successes += r.success;
      report.episodes.push_back(std::move(r));
      char extra[64];
      std::snprintf(extra, sizeof(extra), "success %d/%d", successes, ep + 1 - first_goal);
      bar.Update(ep + 1 - first_goal, extra);
    }
    bar.Finish();
    if (report.interrupted) break;
  }

  for (const Method& m : methods) {
    MethodSummary s = Summarize(m.name, report.episodes);
    if (s.episodes > 0) report.summary.push_back(s);
  }
  return report;
}

std::string FormatTable(const EvalReport& report) {
  std::ostringstream os;
  char line[256];
  std::snprintf(line, sizeof(line), "%-14s %6s %9s %15s %16s %14s %18s\n", "method", "goals", "success",
                "first passage", "final dist (cm)", "steps to pass", "plan ms med / p95");
  os << line;
  for (const auto& s : report.summary) {
    char succ[32], pass[32];
    std::snprintf(succ, sizeof(succ), "%5.1f%%", 100 * s.success_rate);
    std::snprintf(pass, sizeof(pass), "%5.1f%%", 100 * s.first_passage_rate);
    std::snprintf(line, sizeof(line), "%-14s %6d %9s %15s %16.2f %14.1f %9.1f / %6.1f\n", s.method.c_str(),
                  s.episodes, succ, pass, 100 * s.mean_final_distance, s.mean_steps, s.plan_ms_median, s.plan_ms_p95);
    os << line;
  }
  os << "success is judged at the end of each episode; first passage: met at some step\n";
  return os.str();
}

namespace {

// results.json without its per-method rows: what every shard of one evaluation shares.
nlohmann::json ReportSettings(const EvalReport& report) {
  const EvalOptions& o = report.options;
  nlohmann::json j;
  j["task"] = report.task;
  j["robot"] = report.robot;
  j["checkpoint"] = report.checkpoint;
  j["success_rule"] = report.success_rule;
  j["episodes"] = o.episodes;
  j["steps"] = o.steps;
  j["replay_offset"] = o.replay_offset;
  j["replay_min_move_m"] = o.replay_min_move;
  j["seed"] = o.seed;
  j["interrupted"] = report.interrupted;
  j["learned_planner"] = {{"horizon", o.controller.horizon},     {"samples", o.controller.samples},
                          {"elites", o.controller.elites},       {"iterations", o.controller.iterations},
                          {"time_budget_s", o.controller.time_budget},
                          {"sum_over_horizon", o.controller.sum_over_horizon},
                          {"action_repeat", o.controller.action_repeat},
                          {"l1", o.controller.l1},               {"seed", o.controller.seed},
                          {"withdraw_steps", o.controller.withdraw_steps},
                          {"withdraw_action", o.controller.withdraw_action},
                          {"ensemble", o.controller.ensemble},
                          {"disagreement_weight", o.controller.disagreement_weight},
                          {"hidden_spread", o.controller.hidden_spread},
                          {"hold_place", o.controller.hold_place},
                          {"temperature", o.controller.temperature},
                          {"arm_weight", o.controller.arm_weight},
                          {"table_energy", o.controller.table_energy},
                          {"bfloat16", o.controller.bfloat16},
                          {"reach_fade", o.controller.reach_fade},
                          {"contact_height", o.controller.contact_height}};
  j["oracle_planner"] = {{"planner", o.oracle_planner}, {"samples", o.oracle_samples},
                         {"iterations", o.oracle_iterations}, {"reach_weight", o.oracle_reach_weight},
                         {"episodes", o.oracle_episodes}};
  if (!o.perfect_planner.empty()) j["perfect_planner"] = o.perfect_planner;
  if (o.shard_count > 0) j["shard"] = {{"index", o.shard_index}, {"count", o.shard_count}};
  return j;
}

void WriteTables(nlohmann::json j, const std::vector<MethodSummary>& summary,
                 const std::vector<EpisodeResult>& episodes, const std::string& folder) {
  fs::create_directories(folder);
  j["methods"] = nlohmann::json::array();
  for (const auto& s : summary) {
    j["methods"].push_back({{"method", s.method},
                            {"episodes", s.episodes},
                            {"success_rate", s.success_rate},
                            {"first_passage_rate", s.first_passage_rate},
                            {"mean_final_distance_m", s.mean_final_distance},
                            {"mean_steps", s.mean_steps},
                            {"plan_ms_median", s.plan_ms_median},
                            {"plan_ms_p95", s.plan_ms_p95}});
  }
  // Each file is written whole or not at all, so an interrupted run never leaves a truncated one.
  auto write = [&](const char* name, const std::string& text) {
    util::WriteFileAtomically((fs::path(folder) / name).string(), text);
  };
  write("results.json", j.dump(2) + "\n");
  std::ostringstream csv;
  csv << "method,episodes,success_rate,first_passage_rate,mean_final_distance_m,mean_steps,plan_ms_median,"
         "plan_ms_p95\n";
  for (const auto& s : summary) {
    csv << s.method << "," << s.episodes << "," << s.success_rate << "," << s.first_passage_rate << ","
        << s.mean_final_distance << ","
        << s.mean_steps << "," << s.plan_ms_median << "," << s.plan_ms_p95 << "\n";
  }
  write("results.csv", csv.str());
  std::ostringstream eps;
  eps << "method,episode,seed,initial_distance_m,success,final_distance_m,first_success_step,steps\n";
  nlohmann::json full = nlohmann::json::array();
  for (const auto& e : episodes) {
    eps << e.method << "," << e.episode << "," << e.seed << "," << e.initial_distance << "," << e.success
        << "," << e.final_distance
        << "," << e.first_success << "," << e.steps << "\n";
    full.push_back({{"method", e.method}, {"episode", e.episode}, {"seed", e.seed}, {"success", e.success},
                    {"final_distance", e.final_distance}, {"first_success", e.first_success},
                    {"steps", e.steps}, {"initial_distance", e.initial_distance}, {"distance", e.distance},
                    {"energy", e.energy}, {"plan_ms", e.plan_ms}, {"goal", e.goal},
                    {"tracked", e.tracked}, {"effector", e.effector}, {"read_distance", e.read_distance},
                    {"tracked_yaw_deg", e.tracked_yaw_deg}});
    if (!std::isnan(e.goal_reach)) full.back()["goal_reach"] = e.goal_reach;
  }
  write("episodes.csv", eps.str());
  write("episodes.json", full.dump() + "\n");
  std::ostringstream steps;
  // plan_ms last: the one column that differs between two runs of the same goals.
  steps << "method,episode,step,distance_m,energy,tracked_x,tracked_y,tracked_z,effector_x,effector_y,effector_z,"
           "goal_x,goal_y,goal_z,read_m,yaw_deg,plan_ms\n";
  auto xyz = [&](const std::vector<std::array<double, 3>>& p, size_t t) {
    for (int k = 0; k < 3; ++k) steps << "," << (t < p.size() ? p[t][k] : std::nan(""));
  };
  for (const auto& e : episodes) {
    for (size_t t = 0; t < e.distance.size(); ++t) {
      steps << e.method << "," << e.episode << "," << t << "," << e.distance[t] << "," << e.energy[t];
      xyz(e.tracked, t);
      xyz(e.effector, t);
      for (double g : e.goal) steps << "," << (e.tracked.empty() ? std::nan("") : g);  // none recorded: unknown
      steps << "," << (t < e.read_distance.size() ? e.read_distance[t] : std::nan(""));
      steps << "," << (t < e.tracked_yaw_deg.size() ? e.tracked_yaw_deg[t] : std::nan(""));
      steps << "," << (t < e.plan_ms.size() ? e.plan_ms[t] : 0.0) << "\n";
    }
  }
  write("steps.csv", steps.str());
}

nlohmann::json ReadJson(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw std::invalid_argument("cannot read '" + path.string() + "' (is the folder an evaluate --out?)");
  try {
    return nlohmann::json::parse(in);
  } catch (const std::exception&) {
    throw std::invalid_argument("'" + path.string() + "' is not valid JSON");
  }
}

}  // namespace

void WriteReport(const EvalReport& report, const std::string& folder) {
  WriteTables(ReportSettings(report), report.summary, report.episodes, folder);
}

EvalReport MergeReports(const std::vector<std::string>& folders, const std::string& out) {
  if (folders.empty()) throw std::invalid_argument("nothing to merge: give the shard folders");
  struct Shard {
    std::string folder;
    nlohmann::json settings;
    int index = 0, count = 0;
  };
  std::vector<Shard> shards;
  for (const std::string& folder : folders) {
    Shard s{folder, ReadJson(fs::path(folder) / "results.json")};
    if (!s.settings.contains("shard")) {
      throw std::invalid_argument("'" + folder + "' is not a shard's results (evaluate --shard i/n writes them)");
    }
    if (s.settings.value("interrupted", false)) {
      throw std::invalid_argument("shard in '" + folder + "' was interrupted: run it again");
    }
    s.index = s.settings["shard"]["index"];
    s.count = s.settings["shard"]["count"];
    s.settings.erase("methods");
    shards.push_back(std::move(s));
  }
  std::sort(shards.begin(), shards.end(), [](const Shard& a, const Shard& b) { return a.index < b.index; });
  auto common = [](nlohmann::json j) {
    j.erase("shard");
    return j;
  };
  const nlohmann::json settings = common(shards.front().settings);
  std::vector<std::pair<int, std::string>> indices;
  for (const Shard& s : shards) {
    if (common(s.settings) != settings || s.count != shards.front().count) {
      throw std::invalid_argument("'" + s.folder + "' and '" + shards.front().folder +
                                  "' are shards of different evaluations (their results.json settings differ)");
    }
    indices.emplace_back(s.index, s.folder);
  }
  sim::CheckShardSet(indices, shards.front().count, "evaluation");

  EvalReport report;
  report.task = settings["task"];
  report.robot = settings["robot"];
  report.checkpoint = settings["checkpoint"];
  report.success_rule = settings["success_rule"];
  std::vector<std::string> order;  // methods in the order evaluate runs them
  for (const Shard& s : shards) {
    for (const auto& e : ReadJson(fs::path(s.folder) / "episodes.json")) {
      EpisodeResult r;
      r.method = e["method"];
      r.episode = e["episode"];
      r.seed = e["seed"];
      r.success = e["success"];
      r.final_distance = e["final_distance"];
      r.first_success = e["first_success"];
      r.steps = e["steps"];
      r.initial_distance = e["initial_distance"];
      r.distance = e["distance"].get<std::vector<double>>();
      r.energy = e["energy"].get<std::vector<double>>();
      r.plan_ms = e["plan_ms"].get<std::vector<double>>();
      // Folders written before positions were recorded have none.
      if (e.contains("goal")) r.goal = e["goal"].get<std::array<double, 3>>();
      if (e.contains("tracked")) r.tracked = e["tracked"].get<std::vector<std::array<double, 3>>>();
      if (e.contains("effector")) r.effector = e["effector"].get<std::vector<std::array<double, 3>>>();
      if (e.contains("read_distance")) r.read_distance = e["read_distance"].get<std::vector<double>>();
      if (e.contains("tracked_yaw_deg")) r.tracked_yaw_deg = e["tracked_yaw_deg"].get<std::vector<double>>();
      if (e.contains("goal_reach")) r.goal_reach = e["goal_reach"];
      if (std::find(order.begin(), order.end(), r.method) == order.end()) order.push_back(r.method);
      report.episodes.push_back(std::move(r));
    }
  }
  auto rank = [&](const std::string& m) { return std::find(order.begin(), order.end(), m) - order.begin(); };
  std::stable_sort(report.episodes.begin(), report.episodes.end(), [&](const EpisodeResult& a, const EpisodeResult& b) {
    return rank(a.method) != rank(b.method) ? rank(a.method) < rank(b.method) : a.episode < b.episode;
  });
  for (const std::string& m : order) report.summary.push_back(Summarize(m, report.episodes));
  WriteTables(settings, report.summary, report.episodes, out);
  // The videos and contact sheets each shard made (evaluate names them by method and goal).
  for (const Shard& s : shards) {
    for (const auto& [folder, ext] : {std::pair<const char*, const char*>{"videos", ".mp4"}, {"contact", ".jpg"}}) {
      const fs::path from = fs::path(s.folder) / folder;
      if (!fs::is_directory(from)) continue;
      fs::create_directories(fs::path(out) / folder);
      for (const auto& f : fs::directory_iterator(from)) {
        if (f.path().extension() == ext && f.path().string().find(".part.") == std::string::npos) {
          fs::copy_file(f.path(), fs::path(out) / folder / f.path().filename(), fs::copy_options::overwrite_existing);
        }
      }
    }
  }
  return report;
}

}  // namespace jepa_mpc::tools
