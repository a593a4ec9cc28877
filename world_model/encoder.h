#pragma once

// Encoders: images [B, 3, S, S] in [0, 1] -> embeddings [B, D]. Each is a torch module behind
// EncoderBase (its parameters train with the model and are saved in its checkpoint), built by
// name from the encoder registry with the model's options (ModelConfig, the one source of their
// defaults). Add your own with EncoderRegistry().Add("name", {summary, factory}) and set
// ModelConfig::encoder to its name; the trainer and the planner see only EncoderBase.

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "util/registry.h"
#include "world_model/model_config.h"

namespace jepa_mpc::world_model {

class EncoderBase : public torch::nn::Module {
 public:
  // images: [B, 3, S, S] float in [0, 1] -> embeddings [B, config.latent_dim]. Differentiable;
  // train/eval mode as the module's.
  virtual torch::Tensor forward(const torch::Tensor& images) = 0;
  // images -> {forward's embeddings, the object keypoints' attention variance about their
  // coordinates [B, object keypoints * views], with gradient (the loss of
  // TrainConfig::object_sharpness)}; the variance undefined for an encoder without object keypoints.
  virtual std::pair<torch::Tensor, torch::Tensor> ForwardWithObjectVariance(const torch::Tensor& images) {
    return {forward(images), torch::Tensor()};
  }
  // With an object group: images [N, 3, S, S] moved by shifts [N, 2] (pixels right and down,
  // fractions allowed; ShiftImages), encoded, and the group's embedding coordinates
  // (ObjectGroupIndices) moved back by what the shift moves a reading that follows the image:
  // [N, group size], which equals forward's group for the unmoved images when the group reads
  // where things are to a fraction of a pixel (the loss of TrainConfig::object_equivariance).
  // Throws std::invalid_argument for an encoder without a coordinate object group.
  virtual torch::Tensor ObjectGroupUnshifted(const torch::Tensor& images, const torch::Tensor& shifts);
};

// Images [N, 3, H, W], each of `views` side-by-side views (W / views columns) moved within its
// own columns by shifts [N, 2] pixels (x right, y down; bilinear between pixels, edges repeated).
torch::Tensor ShiftImages(const torch::Tensor& images, const torch::Tensor& shifts, int64_t views);

struct EncoderEntry {
  std::string summary;  // one line for --help and the docs
  // Builds the encoder for a model's options and image size; throws std::invalid_argument for
  // options it cannot use.
  std::function<std::shared_ptr<EncoderBase>(const ModelConfig&, int64_t image_size)> make;
};

// Holds "keypoints" on first use.
Registry<EncoderEntry>& EncoderRegistry();
std::shared_ptr<EncoderBase> MakeEncoder(const ModelConfig& config, int64_t image_size);

// The default encoder: a small conv net ending in a spatial softmax. Each of `keypoints` feature
// maps becomes the expected (x, y) image position of its activation, so the embedding measures
// where things are, and distances in it track distances in the scene. Options read from
// ModelConfig: channels (conv width), keypoints (per view), views (camera views side by side:
// each view has its own maps, a softmax over its own columns, since one softmax across views
// would average a part's positions in both), softmax_scale (initial inverse temperature over
// standardised logits, learned afterwards), projector (false: the embedding is the keypoint
// coordinates times 3, D = 2 * keypoints * views, which keeps distances positional; true: a
// linear projector, with BatchNorm when projector_batchnorm, maps them to latent_dim),
// object_keypoints (the last ones of each view come from a second trunk of the same shape),
// object_spread (their attention's spread follows the coordinates: D = 2 keypoints views +
// object_keypoints views).
class KeypointEncoder : public EncoderBase {
 public:
  // Throws std::invalid_argument for views < 1 or, without a projector, latent_dim other than
  // 2 * keypoints * views.
  KeypointEncoder(const ModelConfig& config, int64_t image_size);
  torch::Tensor forward(const torch::Tensor& images) override;
  // images -> keypoint coordinates [B, 2KV] in [-1, 1] within each view (before the projector):
  // the x of keypoint k of view v at v * K + k, the ys after all the xs.
  torch::Tensor Keypoints(const torch::Tensor& images);
  std::pair<torch::Tensor, torch::Tensor> ForwardWithObjectVariance(const torch::Tensor& images) override {
    return Embed(images, true);
  }
  torch::Tensor ObjectGroupUnshifted(const torch::Tensor& images, const torch::Tensor& shifts) override;

 private:
  struct Attention {
    torch::Tensor weights;  // [B, K V, h w]: each keypoint's spatial softmax over its view
    torch::Tensor xs, ys;   // [h w]: the pixels' coordinates in [-1, 1]
    int64_t h = 0, w = 0;   // each view's map size
    torch::Tensor Coordinates() const;  // the expected positions [B, 2 K V]: xs, then ys
  };
  Attention Attend(const torch::Tensor& images);
  ModelConfig config_;
  // The trunk's maps for view-major keypoints [B, V * keypoints, h, V * w].
  torch::Tensor Maps(const torch::Tensor& images);
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr}, conv4_{nullptr};
  // With an object group: its own trunk, so that features the arm's keypoints need do not
  // decide what the object's can see.
  torch::nn::Sequential object_trunk_{nullptr};
  torch::nn::Linear project_{nullptr};
  torch::nn::BatchNorm1d norm_{nullptr};
  torch::Tensor log_temperature_;
  // forward, with the object keypoints' attention variance when `variance` (else undefined).
  std::pair<torch::Tensor, torch::Tensor> Embed(const torch::Tensor& images, bool variance);
  torch::Tensor ObjectVariance(const Attention& a, const torch::Tensor& coordinates) const;
};

}  // namespace jepa_mpc::world_model
