#pragma once

// The JEPA world model: an encoder from images to embeddings and an action-conditioned predictor
// in embedding space, with the metadata that ties it to a robot, task, image size and action
// space.

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "world_model/encoder.h"
#include "world_model/model_config.h"
#include "world_model/predictor.h"

namespace jepa_mpc::world_model {

constexpr int kCheckpointFormatVersion = 1;

// The energy the planner lowers, beyond the plain distance to the goal embedding:
//   E(z, g) = sqrt(sum_d w_d (z_d - g_d)^2)  +  reach_weight * ||R z||.
// Empty weights weigh every dimension 1 (reaching: the goal is the arm's own pose); object tasks
// set both parts after training (world_model/energy.h).
struct GoalEnergy {
  std::vector<double> weights;  // [D] or empty
  std::vector<double> reach;    // [M, D] row-major, R; empty: no reaching term
  double reach_weight = 0;
  // Where the reaching term draws the hand (push_offset > 0): push_offset metres behind the
  // object, on its far side from the goal, where a push moves it toward the goal, instead of onto
  // the object itself; the pull fades as the object nears its goal (to 0.71 of itself at 1 cm).
  // object: the object's place in each view, rows [M, D] in the reach rows' order (x, then y, of
  // each view), so that the hand's is (R + object) z; units_per_metre [M / 2]: how far in
  // keypoint units a metre of the object's travel on the table moves it in each view.
  std::vector<double> object;
  std::vector<double> units_per_metre;
  double push_offset = 0;
  // [M] or empty (zeros): a constant added to the hand's place, R z + reach_bias - the hand read
  // by a fitted map from the arm's keypoints (train --reach-hand fit) has an intercept.
  std::vector<double> reach_bias;
  // With the object's positions in the data: where the object's keypoints read for each place on
  // the table, per view the 3 x 2 map beta (row-major) with [object x, object y] = [table x,
  // table y, 1] beta, so that the object's place on the table can be read back from them.
  std::vector<double> table;
  // The hand read from the robot (train --reach-hand state): when hand_step is set, the reaching
  // term takes the end effector's position (m) with each image and moves it by each planned
  // action a as the data did, clamp(p + a * hand_step, box), toward the point push_offset
  // behind the object read from its keypoints (table), at object_height above the table; the
  // distance in metres times each view's units_per_metre. hand_step [3] m per action unit,
  // hand_box [6] (low, high of x, then y, then z).
  std::vector<double> hand_step, hand_box;
  double object_height = 0;
  // With the hand read from the robot: how high above the object's height the hand is drawn
  // while it is away from that point (its distance on the table over push_offset, up to 1, times
  // this), so that it comes down onto the point from above instead of sweeping across the table
  // through the object. Metres; 0: at the object's height throughout.
  double approach_height = 0;

  bool hand_from_state() const { return !hand_step.empty(); }
  bool empty() const { return weights.empty() && reach.empty(); }
};

// What a model was trained for; a checkpoint carries it and users are checked against it.
struct ModelMeta {
  std::string robot, task, action_mode, camera;
  // Anti-aliasing samples per pixel of the training images (sim::DatasetInfo::antialias); -1: not
  // recorded (the robot model's own). Tools render the model's observations the same way.
  int64_t antialias = -1;
  int64_t image_size = 64;
  int64_t action_dim = 2;
  double control_period = 0.05;
  ModelConfig config;
  // With config.proprio: the joint state's size Q (the dataset's obs/qpos) and the mean and std
  // of its features (sin and cos of each value, 2Q) over the training data. Q = 0 otherwise.
  int64_t proprio_dim = 0;
  std::vector<double> proprio_mean, proprio_std;
  GoalEnergy energy;  // set after training; a model without one uses the plain distance

  // Throws std::invalid_argument naming the mismatch.
  void CheckCompatible(const std::string& robot, int64_t image_size, int64_t action_dim) const;
};

// How many camera views a dataset's or model's camera label names ("front+side": 2).
int64_t CameraViews(const std::string& camera_label);

void to_json(nlohmann::json& j, const ModelMeta& m);
void from_json(const nlohmann::json& j, ModelMeta& m);

// Joint states [..., Q] -> the features a proprioceptive model reads, before standardising:
// the sin and cos of each value, [..., 2Q] (wrap-free for unlimited joints).
torch::Tensor JointFeatures(const torch::Tensor& qpos);

// The embedding dimensions of a keypoint model's object group (ModelConfig::object_keypoints):
// the x coordinates of the last object_keypoints keypoints of each view, then their y. [2 Ko V].
torch::Tensor ObjectGroupIndices(const ModelConfig& config);

// Weights for keypoint coordinates z [N, 2K] (K x coordinates, then the K y): each keypoint's
// variance over the N frames, x and y pooled, scaled so that the largest is 1, for its x and its
// y. [2K] double. The keypoints that follow an object weigh most, those that stay put nothing.
torch::Tensor KeypointVarianceWeights(const torch::Tensor& z);

class WorldModelImpl : public torch::nn::Module {
 public:
  explicit WorldModelImpl(ModelMeta meta);

  const ModelMeta& meta() const { return meta_; }
  // Replaces the goal energy (checked like the metadata's); the weights are unchanged.
  void set_energy(const GoalEnergy& energy);
  int64_t latent_dim() const { return meta_.config.latent_dim; }
  int64_t history() const { return meta_.config.history; }
  // Q: the joint-state values the model needs with each image (0: images alone).
  int64_t proprio_dim() const { return meta_.proprio_dim; }
  // S: what the predictor rolls forward, the embedding followed by the joint-state features
  // (S = D without proprioception, D + 2Q with it).
  int64_t state_dim() const { return latent_dim() + 2 * proprio_dim(); }

  // images: [B, 3, H, W] float in [0, 1] -> embeddings [B, D]; eval mode, no gradient.
  torch::Tensor Encode(const torch::Tensor& images);
  // Embeddings [..., D] and joint states [..., Q] -> states [..., S]. Without proprioception
  // the embeddings themselves (qpos may be undefined). Differentiable.
  torch::Tensor State(const torch::Tensor& z, const torch::Tensor& qpos) const;
  // z0: [N, S] states (or a context [N, W, S], oldest first), actions: [N, H, A] in [-1, 1] ->
  // predicted states [N, H, S], whose first D values are the embedding; eval mode, no gradient.
  // past_actions: [N, W-1, A] (or [W-1, A] shared by all N), the actions taken between the
  // context's states; zeros when undefined. With W > 1 and a [N, S] start, the context repeats z0.
  torch::Tensor Rollout(const torch::Tensor& z0, const torch::Tensor& actions,
                        const torch::Tensor& past_actions = {});
  // The same with gradients flowing to the actions (for gradient-based planning).
  torch::Tensor RolloutDifferentiable(const torch::Tensor& z0, const torch::Tensor& actions,
                                      const torch::Tensor& past_actions = {});

  // With the reconstruction objective: embeddings [..., D] -> images [..., 3, S, S] in [0, 1]
  // (differentiable; throws std::logic_error for a model without a decoder).
  torch::Tensor Decode(const torch::Tensor& z);
  bool has_decoder() const { return !decoder.is_empty(); }

  std::shared_ptr<EncoderBase> encoder;  // from the encoder registry (config.encoder)
  Predictor predictor{nullptr};
  torch::nn::Sequential inverse_dynamics{nullptr};  // null unless config.inverse_dynamics
  // Null unless config.objective is "reconstruction": a linear layer to a 64-channel S/16 x S/16
  // grid, then four doublings (nearest-neighbour upsampling and a 3x3 convolution to 32, 32, 16
  // and 3 channels) up to S x S.
  torch::nn::Sequential decoder{nullptr};

 private:
  torch::Tensor RolloutImpl(const torch::Tensor& z0, const torch::Tensor& actions,
                            const torch::Tensor& past_actions);
  ModelMeta meta_;
  torch::Tensor proprio_mean_, proprio_std_;  // [2Q]
};
TORCH_MODULE(WorldModel);

}  // namespace jepa_mpc::world_model
