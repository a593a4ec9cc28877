#include "world_model/world_model.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "world_model/config_fields.h"

namespace jepa_mpc::world_model {

int64_t CameraViews(const std::string& camera_label) {
  return 1 + std::count(camera_label.begin(), camera_label.end(), '+');
}

void to_json(nlohmann::json& j, const ModelConfig& c) { j = FieldsToJson(c); }

void from_json(const nlohmann::json& j, ModelConfig& c) {
  FieldsFromJson(j, c, "model");
  c.Validate();
}

torch::Tensor KeypointVarianceWeights(const torch::Tensor& z) {
  TORCH_CHECK(z.dim() == 2 && z.size(1) % 2 == 0, "keypoint coordinates must be [N, 2K], got ", z.sizes());
  auto v = z.to(torch::kDouble).var(0);
  const int64_t K = v.size(0) / 2;
  v = (v.narrow(0, 0, K) + v.narrow(0, K, K)).repeat({2});
  return v / v.max().clamp_min(1e-30);
}

torch::Tensor ObjectGroupIndices(const ModelConfig& c) {
  const int64_t K = c.keypoints, V = c.views, KV = K * V;
  std::vector<int64_t> index;
  for (int64_t axis = 0; axis < 2; ++axis) {
    for (int64_t v = 0; v < V; ++v) {
      for (int64_t k = K - c.object_keypoints; k < K; ++k) index.push_back(axis * KV + v * K + k);
    }
  }
  return torch::tensor(index, torch::kLong);
}

void ModelConfig::Validate() const {
  const ModelConfig& c = *this;
  EncoderRegistry().Get(c.encoder);  // a known encoder, or the list of them
  auto positive = [](int64_t v, const char* name) {
    if (v <= 0) throw std::invalid_argument(std::string("model option ") + name + " is " +
                                            std::to_string(v) + ", expected positive");
  };
  positive(c.latent_dim, "latent_dim");
  positive(c.channels, "channels");
  positive(c.keypoints, "keypoints");
  positive(c.history, "history");
  positive(c.hidden, "hidden");
  positive(c.layers, "layers");
  positive(c.views, "views");
  if (c.inverse_dynamics_head != "mlp" && c.inverse_dynamics_head != "linear") {
    throw std::invalid_argument("model option inverse_dynamics_head is '" + c.inverse_dynamics_head +
                                "', expected mlp or linear");
  }
  if (c.objective != "jepa" && c.objective != "reconstruction" && c.objective != "frozen-random") {
    throw std::invalid_argument("model option objective is '" + c.objective +
                                "', expected jepa, reconstruction or frozen-random");
  }
  if (!(c.softmax_scale > 0)) throw std::invalid_argument("model option softmax_scale must be positive");
  if (c.object_keypoints < 0 || c.object_keypoints >= c.keypoints) {
    throw std::invalid_argument("model option object_keypoints is " + std::to_string(c.object_keypoints) +
                                ", expected 0 to keypoints - 1 = " + std::to_string(c.keypoints - 1));
  }
  if (c.object_keypoints > 0 && c.projector) {
    throw std::invalid_argument("model option object_keypoints needs the keypoint embedding (projector off)");
  }
  if (c.object_spread && (c.object_keypoints == 0 || c.encoder != "keypoints")) {
    throw std::invalid_argument("model option object_spread needs the keypoint encoder's object group "
                                "(object_keypoints > 0)");
  }
  if (c.encoder == "keypoints" && !c.projector && c.latent_dim != c.CoordinateDims() + c.SpreadDims()) {
    throw std::invalid_argument("model option latent_dim is " + std::to_string(c.latent_dim) +
                                "; without a projector it must be 2 * keypoints * views" +
                                std::string(c.object_spread ? " + object_keypoints * views" : "") + " = " +
                                std::to_string(c.CoordinateDims() + c.SpreadDims()));
  }
}

void to_json(nlohmann::json& j, const ModelMeta& m) {
  j = {{"robot", m.robot},           {"task", m.task},         {"action_mode", m.action_mode},
       {"camera", m.camera},         {"image_size", m.image_size}, {"action_dim", m.action_dim},
       {"control_period", m.control_period}, {"model", m.config}};
  if (m.antialias >= 0) j["antialias"] = m.antialias;
  if (m.proprio_dim > 0) {
    j["proprio_dim"] = m.proprio_dim;
    j["proprio_mean"] = m.proprio_mean;
    j["proprio_std"] = m.proprio_std;
  }
  if (!m.energy.empty()) {
    j["energy"] = {{"weights", m.energy.weights},
                   {"reach", m.energy.reach},
                   {"reach_weight", m.energy.reach_weight}};
    if (!m.energy.object.empty()) {
      j["energy"]["object"] = m.energy.object;
      j["energy"]["units_per_metre"] = m.energy.units_per_metre;
      j["energy"]["push_offset"] = m.energy.push_offset;
    }
    if (!m.energy.reach_bias.empty()) j["energy"]["reach_bias"] = m.energy.reach_bias;
    if (!m.energy.table.empty()) j["energy"]["table"] = m.energy.table;
    if (m.energy.hand_from_state()) {
      j["energy"]["hand_step"] = m.energy.hand_step;
      j["energy"]["hand_box"] = m.energy.hand_box;
      j["energy"]["object_height"] = m.energy.object_height;
      if (m.energy.approach_height > 0) j["energy"]["approach_height"] = m.energy.approach_height;
    }
  }
}

void from_json(const nlohmann::json& j, ModelMeta& m) {
  m.robot = j.at("robot").get<std::string>();
  m.task = j.at("task").get<std::string>();
  m.action_mode = j.at("action_mode").get<std::string>();
  m.camera = j.at("camera").get<std::string>();
  m.antialias = j.contains("antialias") ? OptionValue<int64_t>(j.at("antialias")) : -1;
  m.image_size = OptionValue<int64_t>(j.at("image_size"));
  m.action_dim = OptionValue<int64_t>(j.at("action_dim"));
  m.control_period = j.at("control_period").get<double>();
  m.config = j.at("model").get<ModelConfig>();
  m.proprio_dim = j.contains("proprio_dim") ? OptionValue<int64_t>(j.at("proprio_dim")) : 0;
  if (m.proprio_dim > 0) {
    m.proprio_mean = j.at("proprio_mean").get<std::vector<double>>();
    m.proprio_std = j.at("proprio_std").get<std::vector<double>>();
  }
  if (j.contains("energy")) {
    const auto& e = j.at("energy");
    m.energy.weights = e.at("weights").get<std::vector<double>>();
    m.energy.reach = e.at("reach").get<std::vector<double>>();
    m.energy.reach_weight = e.at("reach_weight").get<double>();
    if (e.contains("object")) {  // models trained before push offsets have none
      m.energy.object = e.at("object").get<std::vector<double>>();
      m.energy.units_per_metre = e.at("units_per_metre").get<std::vector<double>>();
      m.energy.push_offset = e.at("push_offset").get<double>();
    }
    if (e.contains("reach_bias")) m.energy.reach_bias = e.at("reach_bias").get<std::vector<double>>();
    if (e.contains("table")) m.energy.table = e.at("table").get<std::vector<double>>();
    if (e.contains("hand_step")) {
      m.energy.hand_step = e.at("hand_step").get<std::vector<double>>();
      m.energy.hand_box = e.at("hand_box").get<std::vector<double>>();
      m.energy.object_height = e.at("object_height").get<double>();
      m.energy.approach_height = e.value("approach_height", 0.0);
    }
  }
}

void ModelMeta::CheckCompatible(const std::string& r, int64_t size, int64_t adim) const {
  if (r != robot) {
    throw std::invalid_argument("model was trained for robot '" + robot + "', not '" + r + "'");
  }
  if (size != image_size) {
    throw std::invalid_argument("images are " + std::to_string(size) + "x" + std::to_string(size) +
                                ", the model expects " + std::to_string(image_size) + "x" +
                                std::to_string(image_size));
  }
  if (adim != action_dim) {
    throw std::invalid_argument("actions have " + std::to_string(adim) +
                                " dimensions, the model expects " + std::to_string(action_dim));
  }
}

WorldModelImpl::WorldModelImpl(ModelMeta meta) : meta_(std::move(meta)) {
  const ModelConfig& c = meta_.config;
  c.Validate();
  if (CameraViews(meta_.camera) != c.views) {
    throw std::invalid_argument("model metadata: camera '" + meta_.camera + "' has " +
                                std::to_string(CameraViews(meta_.camera)) + " views, model option views is " +
                                std::to_string(c.views));
  }
  const int64_t Q = meta_.proprio_dim;
  if (Q < 0 || (Q > 0) != c.proprio) {
    throw std::invalid_argument("model metadata: proprio_dim is " + std::to_string(Q) +
                                (c.proprio ? ", expected positive with the proprio option"
                                           : ", expected 0 without the proprio option"));
  }
  if (Q > 0) {
    if (static_cast<int64_t>(meta_.proprio_mean.size()) != 2 * Q ||
        static_cast<int64_t>(meta_.proprio_std.size()) != 2 * Q) {
      throw std::invalid_argument("model metadata: proprio_mean and proprio_std need " +
                                  std::to_string(2 * Q) + " values each");
    }
    for (double v : meta_.proprio_std) {
      if (!(v > 0) || !std::isfinite(v)) {
        throw std::invalid_argument("model metadata: proprio_std values must be positive");
      }
    }
    proprio_mean_ = torch::tensor(meta_.proprio_mean, torch::kFloat64).to(torch::kFloat32);
    proprio_std_ = torch::tensor(meta_.proprio_std, torch::kFloat64).to(torch::kFloat32);
  }
  set_energy(meta_.energy);
  encoder = register_module("encoder", MakeEncoder(c, meta_.image_size));
  predictor = register_module(
      "predictor", Predictor(PredictorOptions(state_dim(), meta_.action_dim)
                                 .history(c.history)
                                 .hidden(c.hidden)
                                 .layers(c.layers)));
  if (c.objective == "reconstruction") {
    const int64_t S = meta_.image_size, s0 = S / 16;
    if (S % 16 != 0 || S < 16) {
      throw std::invalid_argument("model option objective 'reconstruction' needs an image size that is a "
                                  "multiple of 16, not " + std::to_string(S));
    }
    namespace nn = torch::nn;
    // Nearest-neighbour upsampling then a 3x3 convolution at each scale: on CPU several times
    // faster than transposed convolutions of the same shapes.
    nn::Sequential net(nn::Linear(c.latent_dim, 64 * s0 * s0), nn::Unflatten(nn::UnflattenOptions(1, {64, s0, s0})),
                       nn::ReLU());
    const std::vector<std::pair<int64_t, int64_t>> stages = {{64, 32}, {32, 32}, {32, 16}, {16, 3}};
    for (size_t i = 0; i < stages.size(); ++i) {
      net->push_back(nn::Upsample(nn::UpsampleOptions().scale_factor(std::vector<double>{2, 2}).mode(torch::kNearest)));
      net->push_back(nn::Conv2d(nn::Conv2dOptions(stages[i].first, stages[i].second, 3).padding(1)));
      if (i + 1 < stages.size()) net->push_back(nn::ReLU());
    }
    net->push_back(nn::Sigmoid());
    decoder = register_module("decoder", net);
  }
  if (c.inverse_dynamics) {
    inverse_dynamics = register_module(
        "inverse_dynamics",
        c.inverse_dynamics_head == "linear"
            ? torch::nn::Sequential(torch::nn::Linear(2 * c.latent_dim, meta_.action_dim))
            : torch::nn::Sequential(torch::nn::Linear(2 * c.latent_dim, c.hidden), torch::nn::GELU(),
                                    torch::nn::Linear(c.hidden, meta_.action_dim)));
  }
}

torch::Tensor WorldModelImpl::Decode(const torch::Tensor& z) {
  if (!has_decoder()) throw std::logic_error("Decode: this model has no pixel decoder (objective '" +
                                             meta_.config.objective + "')");
  const int64_t D = meta_.config.latent_dim, S = meta_.image_size;
  TORCH_CHECK(z.size(-1) == D, "Decode expects embeddings [..., ", D, "], got ", z.sizes());
  auto lead = z.sizes().vec();
  lead.pop_back();
  auto images = decoder->forward(z.reshape({-1, D}));
  lead.insert(lead.end(), {3, S, S});
  return images.reshape(lead);
}

void WorldModelImpl::set_energy(const GoalEnergy& e) {
  const int64_t D = meta_.config.latent_dim;
  if ((!e.weights.empty() && static_cast<int64_t>(e.weights.size()) != D) ||
      static_cast<int64_t>(e.reach.size()) % D != 0 || !(e.reach_weight >= 0)) {
    throw std::invalid_argument("model metadata: goal energy needs " + std::to_string(D) +
                                " weights, reach rows of " + std::to_string(D) +
                                " values and a non-negative reach weight");
  }
  for (double v : e.weights) {
    if (!(v >= 0) || !std::isfinite(v)) {
      throw std::invalid_argument("model metadata: goal energy weights must be finite and >= 0");
    }
  }
  if ((!e.object.empty() && (e.object.size() != e.reach.size() ||
                             e.units_per_metre.size() * 2 * static_cast<size_t>(D) != e.object.size())) ||
      !(e.push_offset >= 0) || !std::isfinite(e.push_offset) || (e.push_offset > 0 && e.object.empty())) {
    throw std::invalid_argument("model metadata: goal energy object rows must match the reach rows, with a scale "
                                "per view and a finite push offset >= 0 (> 0 only with object rows)");
  }
  auto finite = [](const std::vector<double>& values) {
    for (double v : values) {
      if (!std::isfinite(v)) return false;
    }
    return true;
  };
  if (!e.reach_bias.empty() && e.reach_bias.size() * static_cast<size_t>(D) != e.reach.size()) {
    throw std::invalid_argument("model metadata: goal energy reach bias needs one value per reach row");
  }
  if (!finite(e.reach_bias)) throw std::invalid_argument("model metadata: goal energy reach bias must be finite");
  for (double v : e.units_per_metre) {
    if (!(v > 0) || !std::isfinite(v)) {
      throw std::invalid_argument("model metadata: goal energy units per metre must be finite and > 0");
    }
  }
  if (!e.table.empty() && (e.table.size() != 6 * e.units_per_metre.size() || !finite(e.table))) {
    throw std::invalid_argument("model metadata: goal energy table map needs 6 finite values per view");
  }
  if (e.hand_from_state()) {
    bool box_ok = e.hand_box.size() == 6 && finite(e.hand_box);
    for (size_t i = 0; box_ok && i < 3; ++i) box_ok = e.hand_box[2 * i] <= e.hand_box[2 * i + 1];
    bool step_ok = e.hand_step.size() == 3;
    for (double v : e.hand_step) step_ok = step_ok && v > 0 && std::isfinite(v);
    if (!step_ok || !box_ok || e.table.empty() || e.reach.empty() || !std::isfinite(e.object_height)) {
      throw std::invalid_argument("model metadata: a hand read from the robot needs 3 steps > 0, a box of 6 "
                                  "(low <= high per axis), the table map, reach rows and a finite object height");
    }
  }
  if (!(e.approach_height >= 0) || !std::isfinite(e.approach_height) ||
      (e.approach_height > 0 && !e.hand_from_state())) {
    throw std::invalid_argument("model metadata: goal energy approach height must be a number of metres >= 0 "
                                "(> 0 only with a hand read from the robot)");
  }
  meta_.energy = e;
}

namespace {
// Runs f with the module in eval mode, restoring the previous mode.
template <typename F>
torch::Tensor InEval(torch::nn::Module& m, F f) {
  const bool was_training = m.is_training();
  m.eval();
  torch::Tensor out = f();
  if (was_training) m.train();
  return out;
}
}  // namespace

torch::Tensor WorldModelImpl::Encode(const torch::Tensor& images) {
  TORCH_CHECK(images.dim() == 4 && images.size(1) == 3, "Encode expects images [B, 3, H, W], got ",
              images.sizes());
  TORCH_CHECK(images.size(2) == meta_.image_size && images.size(3) == meta_.image_size,
              "images are ", images.size(2), "x", images.size(3), ", the model expects ",
              meta_.image_size, "x", meta_.image_size);
  torch::NoGradGuard no_grad;
  return InEval(*this, [&] { return encoder->forward(images); });
}

torch::Tensor JointFeatures(const torch::Tensor& qpos) {
  return torch::cat({qpos.sin(), qpos.cos()}, -1);
}

torch::Tensor WorldModelImpl::State(const torch::Tensor& z, const torch::Tensor& qpos) const {
  const int64_t D = latent_dim(), Q = proprio_dim();
  TORCH_CHECK(z.dim() >= 1 && z.size(-1) == D, "embeddings must be [..., ", D, "], got ", z.sizes());
  if (Q == 0) return z;
  TORCH_CHECK(qpos.defined(), "this model needs the robot's joint state (", Q,
              " values) with each image");
  TORCH_CHECK(qpos.dim() == z.dim() && qpos.size(-1) == Q &&
                  qpos.sizes().slice(0, qpos.dim() - 1) == z.sizes().slice(0, z.dim() - 1),
              "joint states must be [..., ", Q, "] matching embeddings ", z.sizes(), ", got ",
              qpos.sizes());
  auto features = (JointFeatures(qpos.to(z.dtype())) - proprio_mean_) / proprio_std_;
  return torch::cat({z, features}, -1);
}

torch::Tensor WorldModelImpl::RolloutImpl(const torch::Tensor& z0, const torch::Tensor& actions,
                                          const torch::Tensor& past_actions) {
  TORCH_CHECK(actions.dim() == 3 && actions.size(2) == meta_.action_dim,
              "actions must be [N, H, ", meta_.action_dim, "], got ", actions.sizes());
  const int64_t W = history(), N = actions.size(0);
  torch::Tensor context = z0;
  if (z0.dim() == 2) context = z0.unsqueeze(1).expand({N, W, z0.size(1)});
  TORCH_CHECK(context.dim() == 3 && context.size(0) == N && context.size(2) == state_dim(),
              "z0 must be [N, S] or [N, W, S] with N = ", N, ", S = ", state_dim(), ", got ",
              z0.sizes());
  torch::Tensor past = torch::zeros({N, W - 1, meta_.action_dim}, actions.options());
  if (past_actions.defined()) {
    torch::Tensor p = past_actions.dim() == 2 ? past_actions.unsqueeze(0) : past_actions;
    TORCH_CHECK(p.dim() == 3 && (p.size(0) == N || p.size(0) == 1) && p.size(1) == W - 1 &&
                    p.size(2) == meta_.action_dim,
                "past actions must be [N, W-1, A] or [W-1, A] with W-1 = ", W - 1, ", A = ",
                meta_.action_dim, ", got ", past_actions.sizes());
    past = p.to(actions.dtype()).expand({N, W - 1, meta_.action_dim});
  }
  return RolloutPredictor(predictor, context, past, actions);
}

torch::Tensor WorldModelImpl::Rollout(const torch::Tensor& z0, const torch::Tensor& actions,
                                      const torch::Tensor& past_actions) {
  torch::NoGradGuard no_grad;
  return InEval(*this, [&] { return RolloutImpl(z0, actions, past_actions); });
}

torch::Tensor WorldModelImpl::RolloutDifferentiable(const torch::Tensor& z0,
                                                    const torch::Tensor& actions,
                                                    const torch::Tensor& past_actions) {
  return InEval(*this, [&] { return RolloutImpl(z0, actions, past_actions); });
}

}  // namespace jepa_mpc::world_model
