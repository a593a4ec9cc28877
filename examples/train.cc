// train: a JEPA world model (encoder + action-conditioned predictor) from a collected dataset.
//
//   train --data data/reach2d.h5 --out runs/reach2d
//   train --data data/reach2d.h5 --out runs/reach2d --config my.json --steps 5000 --resume
//   scripts/launch.sh 2 build/examples/train --data ... --out ...   (data-parallel, docs/distributed.md)
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>

#include "examples/common/cli.h"
#include "examples/common/progress.h"
#include "sim/task.h"
#include "sim/robot_description.h"
#include "util/allocator.h"
#include "world_model/checkpoint.h"
#include "world_model/distributed.h"
#include "world_model/goal_cost.h"
#include "world_model/trainer.h"
#include "util/atomic_file.h"

using namespace jepa_mpc;
namespace wm = jepa_mpc::world_model;
namespace fs = std::filesystem;

namespace {

// The task's own goal images at the dataset's size and camera, for the task-aware plannability
// measure. Goal seeds come from a range that neither collection nor evaluation uses. Returns an
// empty set (and says why) when the scene cannot render what the dataset holds.
wm::GoalSet MakeGoalSet(const sim::DatasetInfo& info, const std::string& mjcf, int count) {
  wm::GoalSet goals;
  if (!sim::TaskRegistry().Has(info.task) ||
      !(robots::RobotRegistry().Has(info.robot) || (sim::IsRobotFile(info.robot) && std::filesystem::exists(info.robot)))) {
    std::fprintf(stderr, "           task plannability skipped: task '%s' on robot '%s' is not registered in this"
                 " program (train from your own program to measure it)\n", info.task.c_str(), info.robot.c_str());
    return goals;
  }
  std::unique_ptr<sim::Task> task;
  try {
    task = sim::MakeTask(info.task, {std::max(256, info.image_height), mjcf, info.robot, info.camera, info.antialias});
  } catch (const std::invalid_argument& e) {  // e.g. the data's cameras are not in this scene
    std::fprintf(stderr, "           task plannability skipped: %s (give --mjcf the file the data was collected with)\n",
                 e.what());
    return goals;
  }
  if (task->sim().camera_label() != info.camera) {
    std::fprintf(stderr, "           task plannability skipped: the scene renders camera '%s', the data '%s'"
                 " (give --mjcf the file the data was collected with)\n",
                 task->sim().camera_label().c_str(), info.camera.c_str());
    return goals;
  }
  sim::RenderOptions ro;
  ro.width = ro.height = info.image_height;
  sim::Renderer renderer(task->sim().model(), ro);
  std::vector<uint8_t> rgb;
  std::vector<float> positions;
  for (int g = 0; g < count; ++g) {
    task->Reset(0xC0FFEE0000000000ull + static_cast<uint64_t>(g));
    const sim::Image image = task->RenderGoal(renderer);
    rgb.insert(rgb.end(), image.rgb.begin(), image.rgb.end());
    for (int i = 0; i < 3; ++i) positions.push_back(static_cast<float>(task->goal_position()[i]));
  }
  goals.images = wm::ImagesFromRgb(rgb.data(), count, info.image_height, info.image_width).clone();
  goals.positions = torch::tensor(positions).reshape({count, 3});
  goals.object = task->sim().num_objects() > 0 && info.num_objects > 0;
  return goals;
}

}  // namespace

int main(int argc, char** argv) {
  util::KeepFreedMemory();  // large tensors are freed and allocated again every step
  CLI::App app{"Train a JEPA world model on a dataset written by collect."};
  std::string data_path, out_dir, config_path;
  std::vector<std::string> extra_data;
  bool resume = false;
  // CLI overrides, applied over the robot's defaults and the config file.
  nlohmann::json overrides = nlohmann::json::object(), model_overrides = nlohmann::json::object();
  auto opt = [&](const char* flag, const char* key, const char* help, bool model = false) {
    return app.add_option_function<std::string>(
        flag,
        [&, key, model](const std::string& v) {
          nlohmann::json value;
          try {
            value = nlohmann::json::parse(v);
          } catch (...) {
            value = v;  // a plain string such as a regulariser name
          }
          (model ? model_overrides : overrides)[key] = value;
        },
        help);
  };
  app.add_option("--data", data_path, "dataset (HDF5) from collect")->required();
  app.add_option("--extra-data", extra_data,
                 "more datasets of the same kind whose episodes join the training part only (e.g. a planner's "
                 "own episodes from evaluate --record), comma separated")
      ->delimiter(',');
  app.add_option("--out", out_dir, "output folder: checkpoint, metrics, quality report")->required();
  app.add_option("--config", config_path, "JSON file with training options (see config.json of a run)");
  app.add_flag("--resume", resume, "continue from the checkpoint in --out");
  std::string mjcf;
  app.add_option("--mjcf", mjcf, "the MJCF file the data was collected with (collect --mjcf), for goal images");
  opt("--steps", "steps", "optimizer steps");
  opt("--batch-size", "batch_size", "sub-trajectories per step");
  opt("--sequence-length", "sequence_length", "frames per sub-trajectory");
  opt("--lr", "learning_rate", "learning rate");
  opt("--lambda", "lambda", "regulariser weight");
  opt("--regularizer", "regularizer", "sigreg | vicreg");
  opt("--idm-weight", "inverse_dynamics_weight", "inverse-dynamics loss weight");
  opt("--smoothness", "smoothness_weight", "temporal smoothness loss weight");
  opt("--object-weight", "object_weight", "weight of the object group's loss (with --object-keypoints)");
  opt("--object-pair-gap", "object_pair_gap", "least steps between the frames the object group must match");
  opt("--object-pair-still", "object_pair_still",
      "object group: pair frames at which the objects are within this distance (m) of the first frame's place (0: any)");
  opt("--object-sharpness", "object_sharpness",
      "object group: weight of its keypoints' attention variance (0: none)");
  opt("--object-equivariance", "object_equivariance",
      "object group: weight of its reading in images moved by a fraction of a pixel (0: none)");
  opt("--moving-share", "moving_share",
      "share of training windows drawn from those in which an object moves (0: uniform)");
  opt("--proprio-dropout", "proprio_dropout", "share of samples whose joint state is hidden");
  opt("--predictor-steps", "predictor_steps",
      "after training: steps of the predictor alone on the frozen encoder's embeddings (0: none)");
  opt("--predictor-length", "predictor_length", "frames per window of those steps (rollouts of length - history)");
  opt("--predictor-goal-weight", "predictor_goal_weight",
      "in those steps, each feature's error weighs 1 + this x its goal-energy weight (0: alike)");
  opt("--predictor-seed", "predictor_seed",
      "> 0: those steps start from a predictor initialised afresh from this seed (an ensemble member)");
  opt("--energy", "energy", "goal energy: all | object (weighted toward objects, with a reaching term)");
  opt("--reach-weight", "reach_weight", "object energy: weight of the reaching term");
  opt("--group-weights", "group_weights", "object energy: the object group's weights, uniform | variance");
  opt("--push-offset", "push_offset", "object energy: metres behind the object (away from its goal) the hand is drawn to");
  opt("--reach-hand", "reach_hand",
      "object energy: how the reaching term reads the hand, probe (the arm keypoints that best tell the end effector) "
      "| fit (a map from the arm's keypoints into the object's units) | state (the robot's end-effector position, "
      "given with each image and moved by the planned actions)");
  opt("--approach-height", "approach_height",
      "object energy with --reach-hand state: metres above the object the hand is drawn while away from the point "
      "behind it, so it comes down onto it from above (0: none)");
  opt("--reconstruction-weight", "reconstruction_weight", "pixel loss weight (--objective reconstruction)");
  opt("--seed", "seed", "seed");
  opt("--threads", "threads", "torch threads (0: every core)");
  opt("--checkpoint-every", "checkpoint_every", "steps between checkpoints");
  opt("--encoder", "encoder", ("encoder: " + wm::EncoderRegistry().Known()).c_str(), true);
  opt("--latent-dim", "latent_dim", "embedding dimension D", true);
  opt("--keypoints", "keypoints", "encoder keypoints (per camera view)", true);
  opt("--views", "views", "camera views side by side in each image (the dataset's)", true);
  opt("--channels", "channels", "encoder conv width", true);
  opt("--history", "history", "embeddings the predictor sees", true);
  opt("--hidden", "hidden", "predictor MLP width", true);
  opt("--layers", "layers", "predictor hidden layers", true);
  opt("--projector", "projector", "false: embed the keypoint coordinates directly", true);
  opt("--softmax-scale", "softmax_scale", "initial spatial-softmax inverse temperature", true);
  opt("--inverse-dynamics", "inverse_dynamics", "true: add an inverse-dynamics head", true);
  opt("--idm-head", "inverse_dynamics_head", "inverse-dynamics head: mlp | linear", true);
  opt("--object-keypoints", "object_keypoints", "keypoints per view in the object group (the last ones)", true);
  opt("--object-spread", "object_spread",
      "true: the object keypoints' attention spread joins the embedding (D grows by object keypoints x views)", true);
  opt("--proprio", "proprio", "true: the predictor also sees and predicts the joint state", true);
  opt("--objective", "objective",
      "what trains the encoder: jepa | reconstruction (a pixel decoder, no regulariser) | frozen-random "
      "(the encoder stays random)", true);
  CLI11_PARSE(app, argc, argv);

  return tools::RunMain("train", [&] {
    // Data-parallel when WORLD_SIZE, RANK, MASTER_ADDR and MASTER_PORT are set (docs/distributed.md).
    const wm::GroupEnvironment group_env = wm::GroupEnvironmentFromEnv();
    const bool rank0 = group_env.rank == 0;
    // Checks the dataset before any work: missing, malformed, empty.
    sim::DatasetInfo info = sim::DatasetReader(data_path).info();
    wm::TrainConfig config = wm::DefaultTrainConfig(info.robot, info.task);
    // A described arm's observation has as many views as its description names cameras; the
    // embedding keeps its size (latent_dim = 2 * keypoints * views), as panda7's 8 per view.
    if (sim::IsRobotFile(info.robot)) {
      config.model.views = wm::CameraViews(info.camera);
      config.model.keypoints = std::max<int64_t>(1, config.model.latent_dim / (2 * config.model.views));
      config.model.latent_dim = config.model.CoordinateDims() + config.model.SpreadDims();
    }
    const std::string saved = (fs::path(out_dir) / "config.json").string();
    if (resume && config_path.empty() && fs::exists(saved)) config_path = saved;
    if (resume && fs::exists(saved) && !fs::exists(fs::path(out_dir) / "checkpoint.pt")) {
      // A run stopped before its first checkpoint: there is nothing to continue, so it starts over.
      std::fprintf(stderr, "resume     no checkpoint yet in '%s': starting from step 0\n", out_dir.c_str());
      resume = false;
    }
    if (!config_path.empty()) {
      std::ifstream in(config_path);
      if (!in) throw std::invalid_argument("cannot read config '" + config_path + "'");
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(in);
      } catch (const std::exception& e) {
        throw std::invalid_argument("config '" + config_path + "' is not valid JSON");
      }
      wm::from_json(j, config);
    }
    if (model_overrides.contains("object_spread") && !model_overrides.contains("latent_dim")) {
      // The spread's dimensions join the embedding's unless --latent-dim says otherwise.
      nlohmann::json m = config.model;
      m.update(model_overrides);
      try {
        wm::ModelConfig shape;
        shape.keypoints = m.at("keypoints").get<int64_t>();
        shape.views = m.at("views").get<int64_t>();
        shape.object_keypoints = m.at("object_keypoints").get<int64_t>();
        shape.object_spread = m.at("object_spread").get<bool>();
        if (!m.at("projector").get<bool>()) model_overrides["latent_dim"] = shape.CoordinateDims() + shape.SpreadDims();
      } catch (const nlohmann::json::exception& e) {
        throw std::invalid_argument(std::string("bad option value: ") + e.what());
      }
    }
    if (!model_overrides.empty()) overrides["model"] = model_overrides;
    try {
      wm::from_json(overrides, config);
    } catch (const nlohmann::json::exception& e) {
      throw std::invalid_argument(std::string("bad option value: ") + e.what());
    }
    config.Validate();
    std::unique_ptr<wm::ProcessGroup> group;
    if (group_env.distributed()) {
      // Train checks this too; here it fails before the rendezvous, not after waiting for peers.
      if (config.batch_size % group_env.world_size != 0) {
        throw std::invalid_argument("--batch-size " + std::to_string(config.batch_size) +
                                    " is the global batch: expected a multiple of WORLD_SIZE " +
                                    std::to_string(group_env.world_size));
      }
      if (rank0) {
        std::fprintf(stderr, "group      %d ranks, master %s:%d, timeout %.0f s\n", group_env.world_size,
                     group_env.master_addr.c_str(), group_env.master_port, group_env.timeout_s);
      }
      group = std::make_unique<wm::ProcessGroup>(group_env);
    }

    if (rank0) std::fprintf(stderr, "load       %s\n", data_path.c_str());
    for (const std::string& more : extra_data) {
      if (rank0) std::fprintf(stderr, "           + %s (training only)\n", more.c_str());
    }
    const wm::TrainingData data =
        wm::LoadTrainingData(data_path, config.val_fraction, config.sequence_length, extra_data);
    if (rank0) {
      std::fprintf(stderr, "           %lld training and %lld held-out episodes of %lld steps (%s)\n",
                   static_cast<long long>(data.train.episodes()),
                   static_cast<long long>(data.val.episodes()),
                   static_cast<long long>(data.train.length()), data.info.Describe().c_str());
      fs::create_directories(out_dir);
      util::WriteFileAtomically(saved, nlohmann::json(config).dump(2) + "\n");
    }

    const auto* stop = tools::InstallStopFlag();
    std::optional<tools::ProgressBar> bar, phase;
    if (rank0) bar.emplace("train", config.steps, "steps");
    auto result = wm::Train(
        config, data, out_dir, resume,
        [&](const wm::StepMetrics& m) {
          char extra[128];
          if (m.predictor_step > 0) {  // the predictor phase, after the training steps
            if (!rank0) return;
            if (!phase) {
              bar->Finish();
              phase.emplace("predictor", config.predictor_steps, "steps");
            }
            std::snprintf(extra, sizeof(extra), "loss %.4f", m.loss);
            phase->Update(m.predictor_step, extra);
            return;
          }
          const bool pixels = config.model.objective == "reconstruction";
          std::snprintf(extra, sizeof(extra), "loss %.4f (pred %.4f, %s %.3f)  %.0f samples/s",
                        m.loss, 0.5 * (m.teacher_forcing + m.rollout), pixels ? "pixels" : "reg",
                        pixels ? m.reconstruction : m.regularizer, m.samples_per_second);
          if (bar) bar->Update(m.step, extra);
        },
        stop, group.get());
    if (result.interrupted) {
      if (rank0) {
        std::fprintf(stderr, "\ninterrupted at step %lld; checkpoint saved, rerun with --resume\n",
                     static_cast<long long>(result.steps_done));
      }
      return 130;
    }
    if (!rank0) return 0;  // rank 0 reports and holds the checkpoint
    if (phase) {
      phase->Finish();
    } else {
      bar->Finish();
    }
    if (group) {
      std::string per_rank;
      for (double s : result.communication_seconds_per_rank) {
        char v[32];
        std::snprintf(v, sizeof(v), "%s%.1f", per_rank.empty() ? "" : ", ", 1e3 * s);
        per_rank += v;
      }
      std::fprintf(stderr, "           %d ranks: %.2f MB all-reduced and gathered per step; ms per step in "
                   "collectives, by rank: %s\n", group->size(), result.communicated_bytes_per_step / 1e6,
                   per_rank.c_str());
    }
    if (result.predictor_seconds > 0) {
      std::fprintf(stderr, "predictor  %lld steps on the frozen encoder's embeddings in %.1f s, final loss %.4g\n",
                   static_cast<long long>(config.predictor_steps), result.predictor_seconds, result.predictor_loss);
    }
    std::fprintf(stderr, "evaluate   held-out quality\n");
    const wm::GoalSet goals = MakeGoalSet(data.info, mjcf, 100);
    wm::QualityReport q = wm::EvaluateQuality(result.model, data.Primary(), config.seed, &goals);
    nlohmann::json report = q.ToJson();
    report["train_seconds"] = result.seconds;
    report["samples_per_second"] = result.samples_per_second;
    report["steps"] = result.steps_done;
    report["ranks"] = group_env.world_size;
    if (group) {
      report["communicated_bytes_per_step"] = result.communicated_bytes_per_step;
      report["communication_seconds_per_step"] = result.communication_seconds_per_step;
      report["communication_seconds_per_rank"] = result.communication_seconds_per_rank;
    }
    report["proprio_dim"] = result.model->proprio_dim();
    auto count = [](const std::vector<torch::Tensor>& params) {
      int64_t n = 0;
      for (const auto& p : params) n += p.numel();
      return n;
    };
    report["objective"] = config.model.objective;
    report["parameters"] = count(result.model->parameters());
    report["decoder_parameters"] = result.model->has_decoder() ? count(result.model->decoder->parameters()) : 0;
    util::WriteFileAtomically((fs::path(out_dir) / "quality.json").string(), report.dump(2) + "\n");
    std::printf("%s\n", q.Summary().c_str());
    std::printf("trained %lld steps in %.1f s (%.0f samples/s); checkpoint %s\n",
                static_cast<long long>(result.steps_done), result.seconds, result.samples_per_second,
                (fs::path(out_dir) / "checkpoint.pt").c_str());
    return 0;
  });
}
