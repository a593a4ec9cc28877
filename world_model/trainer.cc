#include "world_model/trainer.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "world_model/checkpoint.h"
#include "world_model/energy.h"
#include "world_model/losses.h"

namespace jepa_mpc::world_model {

namespace fs = std::filesystem;

void TrainConfig::Validate() const {
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
  if (regularizer != "sigreg" && regularizer != "vicreg") {
    throw std::invalid_argument("training option regularizer is '" + regularizer +
                                "', expected sigreg or vicreg");
  }
  if (!(val_fraction > 0 && val_fraction < 1)) {
    throw std::invalid_argument("training option val_fraction must be in (0, 1)");
  }
  if (threads < 0) throw std::invalid_argument("training option threads must be >= 0");
}

void to_json(nlohmann::json& j, const TrainConfig& c) {
  j = {{"model", c.model},
       {"steps", c.steps},
       {"batch_size", c.batch_size},
       {"sequence_length", c.sequence_length},
       {"learning_rate", c.learning_rate},
       {"weight_decay", c.weight_decay},
       {"regularizer", c.regularizer},
       {"lambda", c.lambda},
       {"sigreg_slices", c.sigreg_slices},
       {"inverse_dynamics_weight", c.inverse_dynamics_weight},
       {"smoothness_weight", c.smoothness_weight},
       {"proprio_dropout", c.proprio_dropout},
       {"energy", c.energy},
       {"reach_weight", c.reach_weight},
       {"grad_clip", c.grad_clip},
       {"checkpoint_every", c.checkpoint_every},
       {"log_every", c.log_every},
       {"seed", c.seed},
       {"val_fraction", c.val_fraction},
       {"threads", c.threads}};
}

void from_json(const nlohmann::json& j, TrainConfig& c) {
  if (!j.is_object()) throw std::invalid_argument("training config must be a JSON object");
  for (const auto& [key, v] : j.items()) {
    if (key == "model") {
      nlohmann::json merged = c.model;
      merged.update(v);
      c.model = merged.get<ModelConfig>();
    } else if (key == "steps") c.steps = v.get<int64_t>();
    else if (key == "batch_size") c.batch_size = v.get<int64_t>();
    else if (key == "sequence_length") c.sequence_length = v.get<int64_t>();
    else if (key == "learning_rate") c.learning_rate = v.get<double>();
    else if (key == "weight_decay") c.weight_decay = v.get<double>();
    else if (key == "regularizer") c.regularizer = v.get<std::string>();
    else if (key == "lambda") c.lambda = v.get<double>();
    else if (key == "sigreg_slices") c.sigreg_slices = v.get<int64_t>();
    else if (key == "inverse_dynamics_weight") c.inverse_dynamics_weight = v.get<double>();
    else if (key == "grad_clip") c.grad_clip = v.get<double>();
    else if (key == "smoothness_weight") c.smoothness_weight = v.get<double>();
    else if (key == "proprio_dropout") c.proprio_dropout = v.get<double>();
    else if (key == "energy") c.energy = v.get<std::string>();
    else if (key == "reach_weight") c.reach_weight = v.get<double>();
    else if (key == "checkpoint_every") c.checkpoint_every = v.get<int64_t>();
    else if (key == "log_every") c.log_every = v.get<int64_t>();
    else if (key == "seed") c.seed = v.get<uint64_t>();
    else if (key == "val_fraction") c.val_fraction = v.get<double>();
    else if (key == "threads") c.threads = v.get<int>();
    else throw std::invalid_argument("unknown training option '" + key + "'");
  }
}

TrainConfig DefaultTrainConfig(const std::string& robot, const std::string& task) {
  // Measured (README, "World model"): raw keypoint coordinates as the embedding and a light
  // SIGReg keep embedding distances positional. SIGReg asks the embeddings of a low-dimensional
  // arm state for an isotropic Gaussian in D dimensions; at weight 0.05 the encoder met it by
  // crumpling the state manifold (a 0.01 rad move changed the embedding a quarter as much as a
  // 0.2 rad move), which left one-step prediction poor (h1 ratio 0.53). A lighter weight keeps
  // the embedding smooth. reacher2d: 4 keypoints (D = 8) at 0.02 (h5 0.38 -> 0.13, Spearman
  // 0.93 -> 0.997, effective rank >= D/4 on two seeds where D = 16 fell to 3.05 / 16);
  // panda7: 0.01 (h5 0.37 -> 0.23, probe 0.87 -> 0.96, Spearman 0.73 -> 0.80).
  // On reacher2d a soft spatial softmax (inverse temperature 0.25) made the energy landscape
  // follow the true distance; on panda7 it made it worse, so panda7 keeps 3.
  // Proprioception (the predictor sees and predicts the joint state): on reacher2d the image
  // embedding left the two elbow solutions for one fingertip position close together, rollouts
  // flipped between them and planning stalled against the elbow's limit; with the joint state
  // h5 fell 0.13 -> 0.04 and learned CEM rose 80% -> 96% (50 goals). On panda7 the joint
  // state let the encoder drop the arm's state (probe 0.96 -> 0.84); hiding it in 3/4 of the
  // samples kept the probe at 0.95 and reached 94% (image only: 88%). On reacher2d 3/4 planned
  // worse than 1/2 (92% / 96% against 96% / 98% on two goal sets), so it keeps 1/2.
  TrainConfig c;
  c.model.proprio = true;
  // reacher2d trains 4000 steps: with the joint state, 2000 -> 4000 took learned CEM from 96% to
  // 100% on 50 goals (100% and 98% on two other sets of 50) in about 5 minutes on 2 cores.
  if (robot == "reacher2d") {
    c.steps = 4000;
    c.model.softmax_scale = 0.25;
    c.model.keypoints = 4;
    c.model.latent_dim = 8;
    c.lambda = 0.02;
  }
  // panda7 images hold two camera views (front and side), each with its own 8 keypoints:
  // D = 2 x 8 x 2 = 32.
  // A linear inverse-dynamics head (weight 10): the front view's keypoints sat on the hand, but
  // the side view's followed the links and the floor beside the arm (Spearman by themselves
  // 0.26). Asking for the commanded end-effector move as a linear function of the embeddings
  // put them on the hand (0.60-0.78) and lifted learned CEM from 94.4% to 100% of 250 goals;
  // Spearman rose from 0.825 to 0.806-0.913 over three seeds at 2000 steps and to 0.906-0.938
  // at 4000 (the front view's keypoints find the hand later on some seeds). An MLP head read
  // the action out of the links as well (Spearman 0.815).
  if (robot == "panda7") {
    c.steps = 4000;
    c.model.views = 2;
    c.model.keypoints = 8;
    c.model.latent_dim = 32;
    c.model.inverse_dynamics = true;
    c.model.inverse_dynamics_head = "linear";
    c.inverse_dynamics_weight = 10;
    c.lambda = 0.01;
    c.proprio_dropout = 0.75;
  }
  // push sees the table through one camera (the block tasks' "table" view), so its 16 keypoints
  // share one softmax: D = 2 x 16 = 32. The goal energy weighs what the joint state does not
  // explain (the block) and adds a reaching term (docs/experiments/push.md). 8000 steps gave no
  // better block probe than 4000 (0.85 against 0.875).
  if (robot == "panda7" && task == "push") {
    c.model.views = 1;
    c.model.keypoints = 16;
    c.model.latent_dim = 32;
    c.energy = "object";
    c.reach_weight = 0.5;
  }
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

TrainingLosses ComputeLosses(WorldModel& model, const TrainConfig& c, const Batch& batch, int64_t step) {
  const int64_t B = batch.images.size(0), L = batch.images.size(1);
  const int64_t W = c.model.history, D = c.model.latent_dim, S = model->state_dim();
  auto z = model->encoder->forward(batch.images.reshape({B * L, 3, batch.images.size(3),
                                                         batch.images.size(4)}))
               .reshape({B, L, D});
  auto state = model->State(z, batch.qpos);  // [B, L, S]
  if (S > D && c.proprio_dropout > 0) {
    // Hidden joint states: zero features (the training mean) in input and target alike.
    auto gen = at::detail::createCPUGenerator(c.seed * 7919ull + static_cast<uint64_t>(step) + 1);
    auto keep = (torch::rand({B, 1, 1}, gen) >= c.proprio_dropout).to(state.dtype());
    state = torch::cat({z, state.narrow(-1, D, S - D) * keep}, -1);
  }
  const auto& a = batch.actions;
  // Teacher forcing: every window of W true states predicts the next one.
  std::vector<torch::Tensor> sw, aw, targets;
  for (int64_t t = W - 1; t + 1 < L; ++t) {
    sw.push_back(state.narrow(1, t - W + 1, W));
    aw.push_back(a.narrow(1, t - W + 1, W));
    targets.push_back(state.select(1, t + 1));
  }
  auto pred_tf = model->predictor->forward(torch::cat(sw), torch::cat(aw));
  auto target_tf = torch::cat(targets);
  TrainingLosses l;
  l.teacher_forcing = torch::mse_loss(pred_tf.narrow(-1, 0, D), target_tf.narrow(-1, 0, D));
  // Rollout: from the first W states, the predictor fed its own outputs for L - W steps.
  auto rolled = RolloutPredictor(model->predictor, state.narrow(1, 0, W), a.narrow(1, 0, W - 1),
                                 a.narrow(1, W - 1, L - W));
  auto target_roll = state.narrow(1, W, L - W);
  l.rollout = torch::mse_loss(rolled.narrow(-1, 0, D), target_roll.narrow(-1, 0, D));
  // The joint-state part of the prediction, scored the same way (features are standardised).
  if (S > D) {
    l.proprio = 0.5 * (torch::mse_loss(pred_tf.narrow(-1, D, S - D), target_tf.narrow(-1, D, S - D)) +
                       torch::mse_loss(rolled.narrow(-1, D, S - D), target_roll.narrow(-1, D, S - D)));
  } else {
    l.proprio = torch::zeros({});
  }
  auto flat = z.reshape({B * L, D});
  l.regularizer = c.regularizer == "vicreg"
                      ? VICReg(flat)
                      : SIGReg(flat, c.sigreg_slices, c.seed * 1000003ull + static_cast<uint64_t>(step));
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
  const nlohmann::json saved = nlohmann::json::parse(saved_json).flatten(), current = now.flatten();
  static const std::set<std::string> free = {"/steps", "/checkpoint_every", "/threads", "/energy",
                                             "/reach_weight"};
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

}  // namespace

TrainResult Train(const TrainConfig& c, const TrainingData& data, const std::string& out_dir,
                  bool resume, const std::function<void(const StepMetrics&)>& on_step,
                  const std::atomic<bool>* stop) {
  c.Validate();
  if (data.train.length() < c.sequence_length) {
    throw std::invalid_argument("episodes of " + std::to_string(data.train.length()) +
                                " steps are shorter than sequence_length " +
                                std::to_string(c.sequence_length));
  }
  at::set_num_threads(c.threads > 0 ? c.threads
                                    : std::max(1u, std::thread::hardware_concurrency()));
  fs::create_directories(out_dir);
  const std::string ckpt_path = (fs::path(out_dir) / "checkpoint.pt").string();
  const std::string csv_path = (fs::path(out_dir) / "metrics.csv").string();
  const std::string config_json = nlohmann::json(c).dump();

  torch::manual_seed(c.seed);
  WorldModel model(MakeMeta(c, data));
  auto optimizer = std::make_unique<torch::optim::AdamW>(
      model->parameters(),
      torch::optim::AdamWOptions(c.learning_rate).weight_decay(c.weight_decay));
  std::mt19937_64 rng(c.seed);
  int64_t step = 0;
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
  } else if (resume) {
    throw std::invalid_argument("--resume: no checkpoint at '" + ckpt_path + "'");
  }

  std::ofstream csv(csv_path, step > 0 ? std::ios::app : std::ios::trunc);
  if (!csv) throw std::runtime_error("cannot write '" + csv_path + "'");
  if (step == 0) csv << "step,loss,teacher_forcing,rollout,regularizer,inverse_dynamics,smoothness,proprio,samples_per_s,"
           "elapsed_s\n";

  auto save = [&] { SaveCheckpoint(ckpt_path, model, optimizer.get(), {step, RngState(rng), config_json}); };
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t first = step;
  TrainResult result;
  model->train();
  while (step < c.steps) {
    if (stop && stop->load()) {
      result.interrupted = true;
      break;
    }
    Batch batch = SampleBatch(data.train, c.batch_size, c.sequence_length, rng);
    TrainingLosses l = ComputeLosses(model, c, batch, step);
    if (!std::isfinite(l.total.item<double>())) {
      throw NonFiniteLoss("training loss became non-finite at step " + std::to_string(step + 1) +
                          "; the last good checkpoint is '" + ckpt_path + "'");
    }
    optimizer->zero_grad();
    l.total.backward();
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
                  l.total.item<double>(),
                  l.teacher_forcing.item<double>(),
                  l.rollout.item<double>(),
                  l.regularizer.item<double>(),
                  l.inverse_dynamics.item<double>(),
                  l.smoothness.item<double>(),
                  l.proprio.item<double>(),
                  (step - first) * c.batch_size / std::max(elapsed, 1e-9),
                  elapsed};
    if (step % c.log_every == 0 || step == c.steps) {
      csv << m.step << ',' << m.loss << ',' << m.teacher_forcing << ',' << m.rollout << ','
          << m.regularizer << ',' << m.inverse_dynamics << ',' << m.smoothness << ',' << m.proprio << ','
          << m.samples_per_second << ','
          << m.elapsed << '\n';
      csv.flush();
    }
    if (on_step) on_step(m);
    if (step % c.checkpoint_every == 0 || step == c.steps) save();
  }
  if (result.interrupted && step > first) save();
  if (!result.interrupted && c.energy == "object") {
    model->set_energy(ObjectGoalEnergy(model, data, c.reach_weight));
    save();
  }
  result.steps_done = step;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  result.samples_per_second = (step - first) * c.batch_size / std::max(result.seconds, 1e-9);
  model->eval();
  result.model = model;
  return result;
}

}  // namespace jepa_mpc::world_model
