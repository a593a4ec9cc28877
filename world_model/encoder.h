#pragma once

#include <torch/torch.h>

namespace jepa_mpc::world_model {

// A small conv net ending in a spatial softmax: each of `keypoints` feature maps becomes the
// expected (x, y) image position of its activation, so the embedding measures where things are,
// and distances in it track distances in the scene. A linear projector with BatchNorm maps the
// 2K coordinates to the D-dimensional embedding (LeWorldModel's stability note).
struct EncoderOptions {
  EncoderOptions(int64_t latent_dim = 32) : latent_dim_(latent_dim) {}
  TORCH_ARG(int64_t, latent_dim);
  TORCH_ARG(int64_t, image_size) = 64;   // square input images
  TORCH_ARG(int64_t, channels) = 32;     // conv width
  TORCH_ARG(int64_t, keypoints) = 16;    // feature maps turned into (x, y) pairs
  // Camera views side by side in each image (sim::Renderer's tiling). Each view has its own
  // `keypoints` maps (a part looks different from each camera) with a spatial softmax over its
  // own columns: one softmax across views would average a part's positions in both.
  TORCH_ARG(int64_t, views) = 1;
  TORCH_ARG(bool, projector_batchnorm) = true;
  // Without a projector the embedding is the keypoint coordinates themselves (times 3, so that
  // parts moving over the image have about unit spread): latent_dim must be
  // 2 * keypoints * views.
  // A BatchNorm projector rescales away how far the keypoints move, so they may barely move and
  // still give unit-variance embeddings; the raw coordinates keep distances positional.
  TORCH_ARG(bool, projector) = true;
  // Initial inverse temperature of the spatial softmax over standardised logits (learned
  // afterwards).
  TORCH_ARG(double, softmax_scale) = 3.0;
};

class EncoderImpl : public torch::nn::Cloneable<EncoderImpl> {
 public:
  explicit EncoderImpl(EncoderOptions options = {});
  void reset() override;
  // images: [B, 3, H, W] float in [0, 1] -> embeddings [B, D].
  torch::Tensor forward(const torch::Tensor& images);
  // images -> keypoint coordinates [B, 2KV] in [-1, 1] within each view (before the projector):
  // the x of keypoint k of view v at v * K + k, the ys after all the xs.
  torch::Tensor Keypoints(const torch::Tensor& images);

  EncoderOptions options;

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr}, conv4_{nullptr};
  torch::nn::Linear project_{nullptr};
  torch::nn::BatchNorm1d norm_{nullptr};
  torch::Tensor log_temperature_;
};
TORCH_MODULE(Encoder);

}  // namespace jepa_mpc::world_model
