#include "world_model/trainer.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#include "world_model/checkpoint.h"
#include "world_model/config_fields.h"
#include "world_model/energy.h"
#include "world_model/losses.h"
#include "world_model/quality.h"
#include "util/atomic_file.h"
#include "util/csv.h"

namespace jepa_mpc::world_model {

namespace fs = std::filesystem;

void TrainConfig::Validate() const {
  model.Validate();
  auto positive = [](double v, const char* name) {
    if (!(v > 0)) {
      throw std::invalid_argument(std::string("training option ") + name + " is " +
                                  std::to_string(v) + ", expected positive");
    }
  };
  positive(steps, "steps");
  positive(batch_size, "batch_size");
  positive(learning_rate, "learning_rate");
  positive(sigreg_slices, "sigreg_slices");
  positive(checkpoint_every, "checkpoint_every");
  positive(log_every, "log_every");
  if (batch_size < 2) throw std::invalid_argument("training option batch_size must be at least 2");
  if (sequence_length < model.history + 1) {
    throw std::invalid_argument("training option sequence_length is " +
                                std::to_string(sequence_length) + ", expected at least history + 1 = " +
                                std::to_string(model.history + 1));
  }
  if (!(lambda >= 0) || !(weight_decay >= 0) || !(inverse_dynamics_weight >= 0) ||
      !(grad_clip >= 0) || !(smoothness_weight >= 0) || !(proprio_dropout >= 0 && proprio_dropout < 1)) {
    throw std::invalid_argument("training options lambda, weight_decay, inverse_dynamics_weight, "
                                "smoothness_weight and grad_clip must be non-negative numbers and "
                                "proprio_dropout in [0, 1)");
  }
  if (energy != "all" && energy != "object") {
    throw std::invalid_argument("training option energy is '" + energy + "', expected all or object");
  }
  if (!(reach_weight >= 0)) throw std::invalid_argument("training option reach_weight must be >= 0");
  if (!(push_offset >= 0) || !std::isfinite(push_offset)) {
    throw std::invalid_argument("training option push_offset must be a number >= 0 (metres)");
  }
  if (reach_hand != "probe" && reach_hand != "fit" && reach_hand != "state") {
    throw std::invalid_argument("training option reach_hand is '" + reach_hand + "', expected probe, fit or state");
  }
  if (!(approach_height >= 0) || !std::isfinite(approach_height)) {
    throw std::invalid_argument("training option approach_height must be a number >= 0 (metres)");
  }
  if (approach_height > 0 && reach_hand != "state") {
    throw std::invalid_argument("training option approach_height needs reach_hand state (the hand's height is the robot's)");
  }
  if (group_weights != "uniform" && group_weights != "variance") {
    throw std::invalid_argument("training option group_weights is '" + group_weights +
                                "', expected uniform or variance");
  }
  // A weight of a loss on the object group: >= 0, and > 0 only with the group (in coordinates: no projector).
  auto group_weight = [&](double weight, const std::string& name, bool coordinates) {
    if (!(weight >= 0)) throw std::invalid_argument("training option " + name + " must be >= 0");
    if (weight > 0 && (model.object_keypoints == 0 || (coordinates && model.projector))) {
      throw std::invalid_argument("training option " + name + " needs model option object_keypoints > 0 "
                                  "(--object-keypoints)" + std::string(coordinates ? " and projector off" : ""));
    }
  };
  group_weight(object_weight, "object_weight", false);
  if (!(reconstruction_weight >= 0)) {
    throw std::invalid_argument("training option reconstruction_weight must be >= 0");
  }
  if (object_pair_gap < 1) throw std::invalid_argument("training option object_pair_gap must be >= 1");
  if (!(object_pair_still >= 0)) throw std::invalid_argument("training option object_pair_still must be >= 0");
  group_weight(object_sharpness, "object_sharpness", false);
  group_weight(object_equivariance, "object_equivariance", true);
  if (!(moving_share >= 0 && moving_share < 1)) {
    throw std::invalid_argument("training option moving_share must be in [0, 1)");
  }
  if (!(predictor_goal_weight >= 0)) throw std::invalid_argument("training option predictor_goal_weight must be >= 0");
  if (predictor_seed < 0) throw std::invalid_argument("training option predictor_seed must be >= 0");
  if (predictor_steps < 0) throw std::invalid_argument("training option predictor_steps must be >= 0");
  if (predictor_length < model.history + 1) {
    throw std::invalid_argument("training option predictor_length is " + std::to_string(predictor_length) +
                                ", expected at least the model's history + 1 (" + std::to_string(model.history + 1) + ")");
  }
  if (regularizer != "sigreg" && regularizer != "vicreg") {
    throw std::invalid_argument("training option regularizer is '" + regularizer +
                                "', expected sigreg or vicreg");
  }
  if (!(val_fraction > 0 && val_fraction < 1)) {
    throw std::invalid_argument("training option val_fraction must be in (0, 1)");
  }
  if (threads < 0) throw std::invalid_argument("training option threads must be >= 0");
}

void to_json(nlohmann::json& j, const TrainConfig& c) { j = FieldsToJson(c); }

void from_json(const nlohmann::json& j, TrainConfig& c) {
  FieldsFromJson(j, c, "training");
  c.model.Validate();
}

Registry<TrainDefaults>& TrainDefaultsRegistry() {
  // Why each value: docs/experiments/world-model.md ("Why the defaults") and push.md.
  static Registry<TrainDefaults> registry = [] {
    Registry<TrainDefaults> r("training defaults");
    r.Add("reacher2d", [](TrainConfig& c) {
      c.steps = 4000;
      c.model.softmax_scale = 0.25;
      c.model.keypoints = 4;
      c.model.latent_dim = 8;
      c.lambda = 0.02;
    });
    r.Add("panda7", [](TrainConfig& c) {
      c.steps = 4000;
      c.model.views = 2;
      c.model.keypoints = 8;
      c.model.latent_dim = 32;
      c.model.inverse_dynamics = true;
      c.model.inverse_dynamics_head = "linear";
      c.inverse_dynamics_weight = 10;
      c.lambda = 0.01;
      c.proprio_dropout = 0.75;
    });
    // Every arm read from a description file (docs/own-arm.md): panda7's arm recipe; train sets
    // the views from the dataset and keeps the 32-d embedding (keypoints per view = 16 / views).
    r.Add(kDescribedArm, r.Get("panda7"));
    r.Add("panda7/push", [](TrainConfig& c) {
      c.model.views = 1;
      c.model.keypoints = 16;
      c.model.latent_dim = 32;
      c.model.object_keypoints = 4;
      c.object_weight = 1;
      c.energy = "object";
      // The hand read from the robot (push.md, "The hand read from the robot"): the image's hand,
      // probed or fitted, reads where the hand is over the table but not how high, and a hand
      // held above the point behind the block satisfied it (learned CEM on goal seed 300,
      // training seeds 0 / 1, reach weight 0.5: fitted 36% / 30%, read from the robot 68% / 52%).
      c.reach_hand = "state";
      // Its weight (the same section): 1 against 0.5, 70% / 60% against 68% / 52%. (The image's
      // hand wanted the lighter pull: 1 left more blocks untouched, push.md "The reaching term's
      // weight".)
      c.reach_weight = 1;
      // The hand drawn 4 cm behind the block, on its far side from the goal, where a push moves it
      // toward the goal (push.md, "The hand drawn behind the block"): with the image's hand 30% ->
      // 48% on goal seed 300 (2 cm 40%, 3 cm 40%, 5 cm 30%); with the robot's, 3 cm 52%, 4 cm 68%,
      // 5 cm 58%.
      c.push_offset = 0.04;
      // The hand drawn 8 cm above the block while away from that point, so that it comes down onto
      // it from above instead of sweeping through the block on its way round (push.md, "The hand
      // read from the robot"): goal seeds 300 / 1000, 70% / 34% without, 5 cm 76% / 74%, 8 cm
      // 86% / 82%, 12 cm 70% / 76%.
      c.approach_height = 0.08;
      // With the block's drag (push.md, "A drag on the block"): windows in which the block
      // moves drawn 3 times in 4, the group weighed by its variance, and the predictor trained
      // on after the encoder (held-out error while the block moves 0.47 -> 0.25 of the copy
      // baseline; learned CEM 0% -> 12% on goal seed 300).
      c.moving_share = 0.75;
      c.group_weights = "variance";
      c.predictor_steps = 2000;
      c.predictor_goal_weight = 10;
    });
    return r;
  }();
  return registry;
}

TrainConfig DefaultTrainConfig(const std::string& robot, const std::string& task) {
  TrainConfig c;
  c.model.proprio = true;  // every robot: the predictor sees and predicts the joint state
  const auto& defaults = TrainDefaultsRegistry();
  auto ends_with = [&](const std::string& suffix) {
    return robot.size() >= suffix.size() && robot.compare(robot.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (defaults.Has(robot)) {
    defaults.Get(robot)(c);
  } else if (ends_with(".json") || ends_with(".xml")) {
    defaults.Get(kDescribedArm)(c);
  }
  if (!task.empty() && defaults.Has(robot + "/" + task)) defaults.Get(robot + "/" + task)(c);
  return c;
}

ModelMeta MakeMeta(const TrainConfig& config, const TrainingData& data) {
  const sim::DatasetInfo& info = data.info;
  if (info.image_height != info.image_width) {
    throw std::invalid_argument("training needs square images, the dataset has " +
                                std::to_string(info.image_height) + "x" +
                                std::to_string(info.image_width));
  }
  ModelMeta m;
  m.robot = info.robot;
  m.task = info.task;
  m.action_mode = info.action_mode;
  m.camera = info.camera;
  m.antialias = info.antialias;
  if (CameraViews(info.camera) != config.model.views) {
    throw std::invalid_argument("the dataset's images hold " + std::to_string(CameraViews(info.camera)) +
                                " camera views ('" + info.camera + "'), model option views is " +
                                std::to_string(config.model.views) + " (--views)");
  }
  m.image_size = info.image_height;
  m.action_dim = info.action_dim;
  m.control_period = info.control_period;
  m.config = config.model;
  if (config.model.proprio) {
    const int64_t Q = data.train.qpos.defined() ? data.train.qpos.size(2) : 0;
    if (Q == 0) {
      throw std::invalid_argument("the proprio option needs joint states (obs/qpos) in the dataset");
    }
    m.proprio_dim = Q;
    auto features = JointFeatures(data.train.qpos.reshape({-1, Q}).to(torch::kFloat64));
    // A floor keeps constant features (a joint that never moved) finite.
    auto mean = features.mean(0), std = features.std(0).clamp_min(1e-3);
    m.proprio_mean.assign(mean.data_ptr<double>(), mean.data_ptr<double>() + 2 * Q);
    m.proprio_std.assign(std.data_ptr<double>(), std.data_ptr<double>() + 2 * Q);
  }
  return m;
}

torch::Tensor ObjectGroupLoss(const torch::Tensor& z, const torch::Tensor& z_pair, const ModelConfig& config) {
  const auto group = ObjectGroupIndices(config);
  auto g = z.index_select(1, group), h = z_pair.index_select(1, group);  // [B, G]
  // Similarity: minus the mean squared distance over the group's coordinates, over 0.1.
  auto logits = -(g.unsqueeze(1) - h.unsqueeze(0)).pow(2).mean(-1) / 0.1;  // [B, B]
  auto target = torch::arange(g.size(0), torch::TensorOptions().dtype(torch::kLong));
  return 0.5 * (torch::nn::functional::cross_entropy(logits, target) +
                torch::nn::functional::cross_entropy(logits.t(), target));
}

BatchShard MakeBatchShard(ProcessGroup& group, int64_t global_batch) {
  const int64_t W = group.size(), r = group.rank();
  BatchShard shard;
  shard.global_size = global_batch;
  shard.offset = r * (global_batch / W);
  shard.gather = [&group, W, r](const torch::Tensor& local) {
    auto all = group.AllGather(local.detach());
    const int64_t n = local.size(0);
    // The same values as local, with W times its gradient.
    auto scaled = local + static_cast<double>(W - 1) * (local - local.detach());
    return torch::cat({all.narrow(0, 0, r * n), scaled, all.narrow(0, (r + 1) * n, (W - r - 1) * n)});
  };
  return shard;
}

namespace {

// The predictor on sub-trajectories of states [B, L, S] and actions [B, L, A], both ways training
// scores it: teacher forcing (every window of W true states predicts the next one; predictions and
// targets time-major, [(L - W) B, S]) and a rollout from the first W states, fed its own outputs
// for L - W steps ([B, L - W, S] and its targets).
struct PredictorPass {
  torch::Tensor teacher, teacher_target, rolled, rolled_target;
};
PredictorPass RunPredictor(Predictor& predictor, const torch::Tensor& state, const torch::Tensor& a, int64_t W) {
  const int64_t L = state.size(1);
  std::vector<torch::Tensor> sw, aw, targets;
  for (int64_t t = W - 1; t + 1 < L; ++t) {
    sw.push_back(state.narrow(1, t - W + 1, W));
    aw.push_back(a.narrow(1, t - W + 1, W));
    targets.push_back(state.select(1, t + 1));
  }
  PredictorPass p;
  p.teacher = predictor->forward(torch::cat(sw), torch::cat(aw));
  p.teacher_target = torch::cat(targets);
  p.rolled = RolloutPredictor(predictor, state.narrow(1, 0, W), a.narrow(1, 0, W - 1), a.narrow(1, W - 1, L - W));
  p.rolled_target = state.narrow(1, W, L - W);
  return p;
}

}  // namespace

TrainingLosses ComputeLosses(WorldModel& model, const TrainConfig& c, const Batch& batch, int64_t step,
                             const BatchShard* shard) {
  const int64_t B = batch.images.size(0), L = batch.images.size(1);
  // Batch-global terms (the regulariser, the object group's loss) see every rank's rows.
  auto global = [&](const torch::Tensor& x) { return shard ? shard->gather(x) : x; };
  const int64_t W = c.model.history, D = c.model.latent_dim, S = model->state_dim();
  const std::string& objective = c.model.objective;
  const auto images = batch.images.reshape({B * L, 3, batch.images.size(3), batch.images.size(4)});
  torch::Tensor z, object_variance;  // the variance only for the sharpness loss
  if (c.object_sharpness > 0) {
    std::tie(z, object_variance) = model->encoder->ForwardWithObjectVariance(images);
  } else {
    z = model->encoder->forward(images);
  }
  z = z.reshape({B, L, D});
  if (objective == "frozen-random") z = z.detach();  // the encoder keeps its initialisation
  auto state = model->State(z, batch.qpos);  // [B, L, S]
  if (S > D && c.proprio_dropout > 0) {
    // Hidden joint states: zero features (the training mean) in input and target alike.
    auto gen = at::detail::createCPUGenerator(c.seed * 7919ull + static_cast<uint64_t>(step) + 1);
    auto draw = shard ? torch::rand({shard->global_size, 1, 1}, gen).narrow(0, shard->offset, B)
                      : torch::rand({B, 1, 1}, gen);
    auto keep = (draw >= c.proprio_dropout).to(state.dtype());
    state = torch::cat({z, state.narrow(-1, D, S - D) * keep}, -1);
  }
  const auto& a = batch.actions;
  PredictorPass pass = RunPredictor(model->predictor, state, a, W);
  auto& pred_tf = pass.teacher;
  auto target_tf = pass.teacher_target;
  // A reconstruction model's embedding is what its decoder needs: the latent targets carry no
  // gradient, so predicting them cannot pull the encoder toward a constant.
  if (objective == "reconstruction") target_tf = target_tf.detach();
  TrainingLosses l;
  l.teacher_forcing = torch::mse_loss(pred_tf.narrow(-1, 0, D), target_tf.narrow(-1, 0, D));
  // Rollout: from the first W states, the predictor fed its own outputs for L - W steps.
  auto& rolled = pass.rolled;
  auto target_roll = pass.rolled_target;
  if (objective == "reconstruction") target_roll = target_roll.detach();
  l.rollout = torch::mse_loss(rolled.narrow(-1, 0, D), target_roll.narrow(-1, 0, D));
  // The joint-state part of the prediction, scored the same way (features are standardised).
  if (S > D) {
    l.proprio = 0.5 * (torch::mse_loss(pred_tf.narrow(-1, D, S - D), target_tf.narrow(-1, D, S - D)) +
                       torch::mse_loss(rolled.narrow(-1, D, S - D), target_roll.narrow(-1, D, S - D)));
  } else {
    l.proprio = torch::zeros({});
  }
  // The object group's spread (model option object_spread) carries no gradient: the regulariser
  // shapes the coordinates.
  auto flat = global(z.reshape({B * L, D}).narrow(1, 0, D - c.model.SpreadDims()));
  if (objective == "jepa") {
    l.regularizer = c.regularizer == "vicreg"
                        ? VICReg(flat)
                        : SIGReg(flat, c.sigreg_slices, c.seed * 1000003ull + static_cast<uint64_t>(step));
  } else {
    l.regularizer = torch::zeros({});  // the decoder (or nothing: a frozen encoder) stands in for it
  }
  l.smoothness = torch::mse_loss(z.narrow(1, 1, L - 1), z.narrow(1, 0, L - 1));
  l.total = 0.5 * (l.teacher_forcing + l.rollout) + c.lambda * l.regularizer +
            c.smoothness_weight * l.smoothness + l.proprio;
  if (model->inverse_dynamics) {
    auto pairs = torch::cat({z.narrow(1, 0, L - 1), z.narrow(1, 1, L - 1)}, 2).reshape({-1, 2 * D});
    l.inverse_dynamics = torch::mse_loss(model->inverse_dynamics->forward(pairs),
                                         a.narrow(1, 0, L - 1).reshape({-1, a.size(2)}));
    l.total = l.total + c.inverse_dynamics_weight * l.inverse_dynamics;
  } else {
    l.inverse_dynamics = torch::zeros({});
  }
  l.object = torch::zeros({});
  // The object group's loss trains the encoder alone: nothing to do when it is frozen.
  if (c.model.object_keypoints > 0 && batch.pair_images.defined() && objective != "frozen-random") {
    l.object = ObjectGroupLoss(global(z.select(1, 0)), global(model->encoder->forward(batch.pair_images)), c.model);
  }
  l.total = l.total + c.object_weight * l.object;
  if (object_variance.defined() && objective != "frozen-random") {
    l.total = l.total + c.object_sharpness * object_variance.mean();
  }
  l.equivariance = torch::zeros({});
  if (c.object_equivariance > 0 && objective != "frozen-random") {
    // Up to 2 pixels either way: about one cell of the object maps, where the keypoint must read
    // between cells.
    auto gen = at::detail::createCPUGenerator(c.seed * 104729ull + static_cast<uint64_t>(step) + 1);
    auto draw = shard ? torch::rand({shard->global_size, 2}, gen).narrow(0, shard->offset, B)
                      : torch::rand({B, 2}, gen);
    auto shifts = 4.0 * draw - 2.0;
    auto moved = model->encoder->ObjectGroupUnshifted(batch.images.select(1, 0), shifts);
    l.equivariance = torch::mse_loss(moved, z.select(1, 0).index_select(1, ObjectGroupIndices(c.model)));
    l.total = l.total + c.object_equivariance * l.equivariance;
  }
  l.reconstruction = torch::zeros({});
  if (objective == "reconstruction") {
    // The frames after the context from the predicted embeddings (teacher-forced, time-major as
    // pred_tf), and each sub-trajectory's first frame from its own embedding. Decoding is most of
    // the cost of a step on CPU, so the rolled-out predictions and the other frames are left out.
    const auto& x = batch.images;  // [B, L, 3, H, W]
    std::vector<torch::Tensor> next;
    for (int64_t t = W - 1; t + 1 < L; ++t) next.push_back(x.select(1, t + 1));
    auto first = torch::mse_loss(model->Decode(z.select(1, 0)), x.select(1, 0));
    auto predicted = torch::mse_loss(model->Decode(pred_tf.narrow(-1, 0, D)), torch::cat(next));
    l.reconstruction = 0.25 * first + 0.75 * predicted;
    l.total = l.total + c.reconstruction_weight * l.reconstruction;
  }
  return l;
}

namespace {

std::string RngState(const std::mt19937_64& rng) {
  std::ostringstream s;
  s << rng;
  return s.str();
}

// Resuming continues the same optimisation: every option must match the checkpoint's except the
// number of steps, how often to checkpoint, the thread count (how the run is carried out) and the
// goal energy (computed from the trained model when training ends). One line names what differs.
void CheckResumeConfig(const std::string& saved_json, const nlohmann::json& now, const std::string& path) {
  if (saved_json.empty()) return;  // checkpoints written before configs were saved
  TrainConfig before;               // options added since take their defaults
  from_json(nlohmann::json::parse(saved_json), before);
  const nlohmann::json saved = nlohmann::json(before).flatten(), current = now.flatten();
  static const std::set<std::string> free = {"/steps", "/checkpoint_every", "/threads", "/energy",
                                             "/reach_weight", "/group_weights", "/push_offset", "/reach_hand", "/approach_height", "/predictor_steps",
                                             "/predictor_length", "/predictor_goal_weight",
                                             "/predictor_seed"};
  std::string differ;
  for (const auto& [key, value] : current.items()) {
    if (free.count(key)) continue;
    const std::string before = saved.contains(key) ? saved[key].dump() : "unset";
    if (before != value.dump()) {
      differ += (differ.empty() ? "" : ", ") + key.substr(1) + " " + before + " -> " + value.dump();
    }
  }
  if (!differ.empty()) {
    throw std::invalid_argument("cannot resume '" + path + "' with another training config (" + differ +
                                "); only steps may change");
  }
}

// A resumed run starts again from its checkpoint, so the rows logged after it (a kill between two
// checkpoints) are dropped, with a half-written last line: every step appears once in the file. A
// file logged under another header (a run trained before a column was added) is rewritten under
// `header`, each kept row's cells moved to its column's new place and the new columns left empty, so
// that every row has the header's fields.
void KeepMetricsUpTo(const std::string& csv_path, int64_t step, const std::string& header) {
  std::ifstream in(csv_path);
  std::stringstream all;
  if (in) all << in.rdbuf();
  const std::string text = all.str();
  const std::vector<std::string> columns = util::SplitCsvLine(header);
  bool same_columns = true;
  std::vector<size_t> from(columns.size());  // each column's place in the file's rows; npos: not there
  std::string kept = header + "\n";
  size_t begin = 0;
  for (size_t end; (end = text.find('\n', begin)) != std::string::npos; begin = end + 1) {
    const std::string line = text.substr(begin, end - begin);
    if (begin == 0) {  // the header
      const std::vector<std::string> old_columns = util::SplitCsvLine(line);
      same_columns = old_columns == columns;
      for (size_t i = 0; i < columns.size(); ++i) {
        const auto at = std::find(old_columns.begin(), old_columns.end(), columns[i]);
        from[i] = at == old_columns.end() ? std::string::npos : static_cast<size_t>(at - old_columns.begin());
      }
      continue;
    }
    // Rows start with their step.
    if (std::strtoll(line.c_str(), nullptr, 10) > step) continue;
    if (same_columns) {
      kept += line + "\n";
      continue;
    }
    const std::vector<std::string> cells = util::SplitCsvLine(line);
    for (size_t i = 0; i < columns.size(); ++i) {
      if (i) kept += ',';
      if (from[i] < cells.size()) kept += cells[from[i]];
    }
    kept += '\n';
  }
  if (kept != text) util::WriteFileAtomically(csv_path, kept);
}

// The predictor trained alone on the frozen encoder's embeddings (TrainConfig::predictor_steps).
// Returns the last step's loss.
double FinetunePredictor(WorldModel& model, const TrainConfig& c, const Trajectories& train, std::mt19937_64& run_rng,
                         const std::atomic<bool>* stop, const std::function<void(const StepMetrics&)>& on_step) {
  const int64_t T = train.length(), L = std::min(c.predictor_length, T);
  const int64_t W = c.model.history;
  if (L < W + 1) return 0;
  std::mt19937_64 own_rng(static_cast<uint64_t>(c.predictor_seed));
  std::mt19937_64& rng = c.predictor_seed > 0 ? own_rng : run_rng;
  if (c.predictor_seed > 0) {
    torch::manual_seed(static_cast<uint64_t>(c.predictor_seed));
    Predictor fresh(model->predictor->options);
    torch::NoGradGuard no_grad;
    auto own = model->predictor->named_parameters();
    for (const auto& p : fresh->named_parameters()) own[p.key()].copy_(p.value());
  }
  torch::Tensor states;  // [E, T, S]
  {
    torch::NoGradGuard no_grad;
    states = model->State(EncodeAll(model, train), model->proprio_dim() > 0 ? train.qpos : torch::Tensor());
  }
  const std::vector<Window> moving =
      c.moving_share > 0 ? MovingWindows(train, L, 0.005) : std::vector<Window>();
  const double moving_share = moving.empty() ? 0.0 : c.moving_share;
  // Per-feature loss weights [S]: 1, plus predictor_goal_weight x the goal energy's weight.
  torch::Tensor feature_weights = torch::ones({states.size(2)});
  const auto& energy_weights = model->meta().energy.weights;
  if (c.predictor_goal_weight > 0 && !energy_weights.empty()) {
    auto w = torch::tensor(energy_weights, torch::kDouble).to(torch::kFloat32);
    feature_weights.narrow(0, 0, w.size(0)).add_(c.predictor_goal_weight * w / w.max().clamp_min(1e-12));
  }
  feature_weights = feature_weights / feature_weights.mean();
  auto weighted_mse = [&](const torch::Tensor& a, const torch::Tensor& b) {
    return ((a - b).pow(2) * feature_weights).mean();
  };
  model->predictor->train();
  torch::optim::AdamW optimizer(model->predictor->parameters(),
                                torch::optim::AdamWOptions(c.learning_rate).weight_decay(c.weight_decay));
  constexpr int64_t kBatch = 256;
  double last = 0;
  for (int64_t step = 0; step < c.predictor_steps; ++step) {
    if (stop && stop->load()) break;
    std::vector<torch::Tensor> s, a;
    for (int64_t b = 0; b < kBatch; ++b) {
      const Window w = DrawWindow(train.episodes(), T, L, rng, &moving, moving_share);
      s.push_back(states[w.episode].narrow(0, w.start, L));
      a.push_back(train.actions[w.episode].narrow(0, w.start, L));
    }
    const PredictorPass pass = RunPredictor(model->predictor, torch::stack(s), torch::stack(a), W);
    auto loss = 0.5 * (weighted_mse(pass.teacher, pass.teacher_target) + weighted_mse(pass.rolled, pass.rolled_target));
    optimizer.zero_grad();
    loss.backward();
    if (c.grad_clip > 0) torch::nn::utils::clip_grad_norm_(model->predictor->parameters(), c.grad_clip);
    optimizer.step();
    last = loss.item<double>();
    if (!std::isfinite(last)) throw NonFiniteLoss("predictor loss became non-finite at step " + std::to_string(step + 1));
    if (on_step && ((step + 1) % 10 == 0 || step + 1 == c.predictor_steps)) {
      StepMetrics m;
      m.step = c.steps;
      m.predictor_step = step + 1;
      m.loss = last;
      on_step(m);
    }
  }
  return last;
}

}  // namespace

TrainResult Train(const TrainConfig& c, const TrainingData& data, const std::string& out_dir,
                  bool resume, const std::function<void(const StepMetrics&)>& on_step,
                  const std::atomic<bool>* stop, ProcessGroup* group) {
  c.Validate();
  if (data.train.length() < c.sequence_length) {
    throw std::invalid_argument("episodes of " + std::to_string(data.train.length()) +
                                " steps are shorter than sequence_length " +
                                std::to_string(c.sequence_length));
  }
  const int ranks = group ? group->size() : 1;
  const bool writer = !group || group->rank() == 0;  // rank 0 alone writes out_dir
  if (c.batch_size % ranks != 0) {
    throw std::invalid_argument("training option batch_size is " + std::to_string(c.batch_size) +
                                ", expected a multiple of the " + std::to_string(ranks) +
                                " ranks (each computes an equal share of the global batch)");
  }
  if (ranks > 1 && c.model.projector && c.model.projector_batchnorm) {
    throw std::invalid_argument("model option projector_batchnorm normalises by each process's own batch; "
                                "set it to false to train on several ranks");
  }
  // Ranks sharing a machine share its cores.
  const int local = group ? group->env().local_world_size : 1;
  at::set_num_threads(c.threads > 0 ? c.threads
                                    : std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / local));
  fs::create_directories(out_dir);
  const std::string ckpt_path = (fs::path(out_dir) / "checkpoint.pt").string();
  const std::string csv_path = (fs::path(out_dir) / "metrics.csv").string();
  const std::string config_json = nlohmann::json(c).dump();
  // What a run killed while writing a checkpoint left; the checkpoint itself is whole.
  if (writer) fs::remove(util::TemporaryPathFor(ckpt_path));

  torch::manual_seed(c.seed);
  WorldModel model(MakeMeta(c, data.Primary()));
  auto optimizer = std::make_unique<torch::optim::AdamW>(
      model->parameters(),
      torch::optim::AdamWOptions(c.learning_rate).weight_decay(c.weight_decay));
  std::mt19937_64 rng(c.seed);
  int64_t step = 0;
  // The predictor phase's options and data, and those it last ran with on these weights (empty:
  // never). More training episodes (train --extra-data) run it again.
  const std::string phase = nlohmann::json{{"steps", c.predictor_steps},
                                           {"length", c.predictor_length},
                                           {"goal_weight", c.predictor_goal_weight},
                                           {"seed", c.predictor_seed},
                                           {"episodes", data.train.episodes()}}.dump();
  std::string phase_done;
  if (resume && fs::exists(ckpt_path)) {
    Checkpoint ck = LoadCheckpoint(ckpt_path);
    CheckResumeConfig(ck.state.config_json, nlohmann::json(c), ckpt_path);
    // The goal energy is set when training ends; a finished run may be resumed for more steps.
    ModelMeta saved = ck.model->meta();
    saved.energy = GoalEnergy{};
    if (nlohmann::json(saved) != nlohmann::json(model->meta())) {
      throw std::invalid_argument("cannot resume '" + ckpt_path +
                                  "': it was trained with another model or dataset");
    }
    torch::NoGradGuard no_grad;
    auto src = ck.model->named_parameters(true), dst = model->named_parameters(true);
    for (auto& p : dst) p.value().copy_(src[p.key()]);
    auto sb = ck.model->named_buffers(true), db = model->named_buffers(true);
    for (auto& b : db) b.value().copy_(sb[b.key()]);
    LoadOptimizerState(ckpt_path, *optimizer);
    std::istringstream(ck.state.rng_state) >> rng;
    step = ck.state.step;
    phase_done = ck.state.predictor_phase;
  } else if (resume && writer) {
    throw std::invalid_argument("--resume: no checkpoint at '" + ckpt_path + "'");
  }
  if (group) {
    // Every rank starts from rank 0's weights and step; a rank that does not see the checkpoint
    // rank 0 resumes from cannot continue the same optimisation.
    torch::NoGradGuard no_grad;
    auto root_step = torch::tensor({step}, torch::kLong);
    group->Broadcast(root_step);
    if (root_step.item<int64_t>() != step) {
      throw std::invalid_argument(group->env().Describe() + ": rank 0 resumes from step " +
                                  std::to_string(root_step.item<int64_t>()) + ", this rank read step " +
                                  std::to_string(step) + " from '" + ckpt_path +
                                  "': --out must be on a filesystem every rank reads (or hold a copy)");
    }
    for (auto& p : model->parameters()) group->Broadcast(p);
    for (auto& b : model->buffers()) group->Broadcast(b);
  }

  std::ofstream csv;
  if (writer) {
    const std::string header =
        "step,loss,teacher_forcing,rollout,regularizer,inverse_dynamics,smoothness,proprio,object,"
        "reconstruction,equivariance,samples_per_s,elapsed_s";
    if (step > 0) KeepMetricsUpTo(csv_path, step, header);
    csv.open(csv_path, step > 0 ? std::ios::app : std::ios::trunc);
    if (!csv) throw std::runtime_error("cannot write '" + csv_path + "': " + std::strerror(errno));
    if (step == 0) csv << header << '\n';
  }

  auto save = [&] {
    if (writer) SaveCheckpoint(ckpt_path, model, optimizer.get(), {step, RngState(rng), config_json, phase_done});
  };
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t first = step;
  const int64_t bytes0 = group ? group->bytes_communicated() : 0;
  const double comm0 = group ? group->seconds_communicating() : 0;
  const int64_t share = c.batch_size / ranks;
  const std::vector<Window> moving =
      c.moving_share > 0 ? MovingWindows(data.train, c.sequence_length, 0.005) : std::vector<Window>();
  BatchShard shard;
  if (group) shard = MakeBatchShard(*group, c.batch_size);
  TrainResult result;
  bool stop_requested = false;  // with a group: some rank was asked to stop during the last step
  if (step < c.steps) phase_done.clear();  // the predictor moves on from here
  model->train();
  try {
    while (step < c.steps) {
      if (group ? stop_requested : (stop && stop->load())) {
        result.interrupted = true;
        break;
      }
      Batch batch = SampleBatch(data.train, c.batch_size, c.sequence_length, rng,
                                c.object_weight > 0 ? c.object_pair_gap : 0, shard.offset, shard.offset + share,
                                &moving, moving.empty() ? 0.0 : c.moving_share, c.object_pair_still);
      TrainingLosses l = ComputeLosses(model, c, batch, step, group ? &shard : nullptr);
      std::vector<torch::Tensor> parts = {l.total,     l.teacher_forcing, l.rollout, l.regularizer,
                                          l.inverse_dynamics, l.smoothness, l.proprio, l.object,
                                          l.reconstruction, l.equivariance};
      auto values = torch::stack(parts).detach().to(torch::kFloat64);
      if (group) {
        // The ranks' mean losses (batch-global terms are alike on every rank), and whether any was
        // asked to stop: every rank takes the same decisions from here on.
        values = torch::cat({values, torch::tensor({stop && stop->load() ? 1.0 : 0.0}, torch::kFloat64)});
        group->AllReduceSum(values);
        stop_requested = values[parts.size()].item<double>() > 0;
        values = values.narrow(0, 0, parts.size()) / ranks;
      }
      const auto v = values.contiguous();
      const double* m_values = v.data_ptr<double>();
      if (!std::isfinite(m_values[0])) {
        throw NonFiniteLoss("training loss became non-finite at step " + std::to_string(step + 1) +
                            "; the last good checkpoint is '" + ckpt_path + "'");
      }
      optimizer->zero_grad();
      l.total.backward();
      if (group) {
        // Sum, then divide: Gloo has no average. Parameters without a gradient (a frozen encoder)
        // have none on any rank.
        std::vector<torch::Tensor> grads, views;
        for (auto& p : model->parameters()) {
          if (!p.grad().defined()) continue;
          grads.push_back(p.grad());
          views.push_back(p.grad().reshape({-1}));
        }
        auto flat = torch::cat(views);
        group->AllReduceSum(flat);
        flat.div_(ranks);
        int64_t offset = 0;
        for (auto& g : grads) {
          g.copy_(flat.narrow(0, offset, g.numel()).view_as(g));
          offset += g.numel();
        }
      }
      if (c.grad_clip > 0) {
        const double norm = torch::nn::utils::clip_grad_norm_(model->parameters(), c.grad_clip);
        if (!std::isfinite(norm)) {
          throw NonFiniteLoss("gradients became non-finite at step " + std::to_string(step + 1) +
                              "; the last good checkpoint is '" + ckpt_path + "'");
        }
      }
      optimizer->step();
      ++step;
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      StepMetrics m{step,
                    m_values[0],
                    m_values[1],
                    m_values[2],
                    m_values[3],
                    m_values[4],
                    m_values[5],
                    m_values[6],
                    m_values[7],
                    m_values[8],
                    m_values[9],
                    (step - first) * c.batch_size / std::max(elapsed, 1e-9),
                    elapsed};
      if (writer && (step % c.log_every == 0 || step == c.steps)) {
        csv << m.step << ',' << m.loss << ',' << m.teacher_forcing << ',' << m.rollout << ','
            << m.regularizer << ',' << m.inverse_dynamics << ',' << m.smoothness << ',' << m.proprio << ','
            << m.object << ',' << m.reconstruction << ',' << m.equivariance << ','
            << m.samples_per_second << ','
            << m.elapsed << '\n';
        csv.flush();
        if (!csv) {
          throw std::runtime_error("writing '" + csv_path + "' failed at step " + std::to_string(step) + " (" +
                                   std::strerror(errno) + "); the last checkpoint '" + ckpt_path +
                                   "' is intact: free space and rerun with --resume");
        }
      }
      if (on_step) on_step(m);
      if (step % c.checkpoint_every == 0 || step == c.steps) save();
    }
  } catch (const GroupError& e) {
    throw GroupError(std::string(e.what()) + " at step " + std::to_string(step + 1) +
                     (writer ? "; the last checkpoint is '" + ckpt_path + "': rerun with --resume"
                             : "; rerun with --resume"));
  }
  result.steps_done = step;
  // The optimisation's rate; seconds (below) also count the final checkpoint and goal energy.
  const double loop_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  result.samples_per_second = (step - first) * c.batch_size / std::max(loop_seconds, 1e-9);
  if (group && step > first) {
    result.communicated_bytes_per_step = static_cast<double>(group->bytes_communicated() - bytes0) / (step - first);
    result.communication_seconds_per_step = (group->seconds_communicating() - comm0) / (step - first);
    auto all = group->AllGather(torch::tensor({result.communication_seconds_per_step}, torch::kFloat64));
    result.communication_seconds_per_rank.assign(all.data_ptr<double>(), all.data_ptr<double>() + all.numel());
  }
  if (result.interrupted && step > first) save();
  if (!result.interrupted && writer && (c.energy == "object" || c.predictor_steps > 0)) {
    // The goal energy depends on the encoder alone, which the predictor phase leaves as it is:
    // set first, so the phase can weigh the features by it.
    if (c.energy == "object") {
      GoalEnergy e = ObjectGoalEnergy(model, data.Primary(), c.reach_weight, c.group_weights == "variance",
                                      c.push_offset, ReachHandNamed(c.reach_hand));
      if (e.hand_from_state()) e.approach_height = c.approach_height;
      model->set_energy(e);
    }
    // A finished run resumed with the phase's options unchanged (another goal energy) keeps its
    // predictor; other options (another --predictor-seed: an ensemble member) run the phase again.
    if (c.predictor_steps > 0 && phase_done != phase) {
      const auto p0 = std::chrono::steady_clock::now();
      result.predictor_loss = FinetunePredictor(model, c, data.train, rng, stop, on_step);
      result.predictor_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - p0).count();
      // Stopped in the phase: the checkpoint keeps the jointly trained model; --resume runs it again.
      result.interrupted = stop && stop->load();
      if (!result.interrupted) phase_done = phase;
    }
    if (!result.interrupted) save();
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  model->eval();
  result.model = model;
  return result;
}

}  // namespace jepa_mpc::world_model
