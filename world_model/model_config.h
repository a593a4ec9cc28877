#pragma once

// The world model's architecture options: one struct, one list of fields, one set of defaults
// (the encoder and the predictor read theirs from here).

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace jepa_mpc::world_model {

struct ModelConfig {
  std::string encoder = "keypoints";  // a registered encoder (world_model/encoder.h)
  int64_t latent_dim = 16;     // D
  int64_t channels = 16;       // encoder conv width
  int64_t keypoints = 8;       // encoder spatial-softmax keypoints (per camera view)
  int64_t views = 1;           // camera views side by side in each image (the data's camera label)
  bool projector = false;      // false: the embedding is the keypoint coordinates (D = 2 K views)
  bool projector_batchnorm = true;
  double softmax_scale = 3.0;   // initial spatial-softmax inverse temperature (logits standardised)
  int64_t history = 1;         // W: embeddings the predictor sees
  int64_t hidden = 256;        // predictor MLP width
  int64_t layers = 3;          // predictor hidden layers
  bool inverse_dynamics = false;  // an inverse-dynamics head a_t = g(z_t, z_t+1)
  // The head's form: "mlp" (one hidden layer) or "linear" (a_t = W [z_t, z_t+1] + b). A linear
  // head asks the embedding's motion itself to follow the action, so with end-effector actions
  // the keypoints move with the hand in every view; an MLP can read the action out of any
  // features that change with it.
  std::string inverse_dynamics_head = "mlp";
  // The predictor also sees and predicts the robot's joint state (proprioception, as DINO-WM
  // and V-JEPA 2-AC use), so that poses the image embedding leaves close together (a 2-link
  // arm's two elbow solutions for one fingertip position) roll out apart.
  bool proprio = false;
  // The object group: the last `object_keypoints` keypoints of each view (0: none). With the
  // training option object_weight they are asked to tell episodes apart from frames far apart in
  // time, which the arm cannot (world_model/trainer.h, ObjectGroupLoss). The goal energy of an
  // object task reads the object from this group and the arm from the rest.
  int64_t object_keypoints = 0;
  // The object group's spread: each object keypoint's spatial-softmax spread (the attention's
  // standard deviation about its keypoint, in the coordinates' units) follows its coordinates in
  // the embedding (D = 2 K views + object_keypoints views). A block the hand hides has no place
  // for its keypoint's attention to gather: the attention spreads, and its keypoint lands
  // anywhere, at the goal too; with the spread in the embedding the goal energy sees the block
  // hidden instead. The spread carries no gradient: it reads what the encoder does.
  bool object_spread = false;
  // What trains the encoder (recorded in checkpoints; docs/experiments/jepa-claims.md):
  //  "jepa": predicting the next embedding, with an anti-collapse regulariser (SIGReg / VICReg);
  //  "reconstruction": a generative world model of the same sizes: a pixel decoder reconstructs
  //    the next frames from the predicted embeddings (and the first frame from its own), which
  //    is what keeps the embedding from collapsing (no regulariser; the predictor's latent
  //    targets carry no gradient);
  //  "frozen-random": the encoder keeps its random initialisation and only the rest trains (the
  //    floor a trained encoder must beat).
  std::string objective = "jepa";

  // The one list of options (JSON in configs and checkpoints reads it).
  template <class Self, class F>
  static void Fields(Self& c, F&& f) {
    f("encoder", c.encoder);
    f("latent_dim", c.latent_dim);
    f("channels", c.channels);
    f("keypoints", c.keypoints);
    f("views", c.views);
    f("projector", c.projector);
    f("projector_batchnorm", c.projector_batchnorm);
    f("softmax_scale", c.softmax_scale);
    f("history", c.history);
    f("hidden", c.hidden);
    f("layers", c.layers);
    f("inverse_dynamics", c.inverse_dynamics);
    f("inverse_dynamics_head", c.inverse_dynamics_head);
    f("proprio", c.proprio);
    f("object_keypoints", c.object_keypoints);
    f("object_spread", c.object_spread);
    f("objective", c.objective);
  }
  // The embedding's keypoint coordinates: 2 K views without a projector (the spread follows them).
  int64_t CoordinateDims() const { return projector ? latent_dim : 2 * keypoints * views; }
  int64_t SpreadDims() const { return object_spread ? object_keypoints * views : 0; }
  // Throws std::invalid_argument naming the bad option.
  void Validate() const;
};

void to_json(nlohmann::json& j, const ModelConfig& c);
// Overrides the options present in j (a checkpoint from before an option existed keeps its
// default); unknown keys and bad values are an error.
void from_json(const nlohmann::json& j, ModelConfig& c);

}  // namespace jepa_mpc::world_model
