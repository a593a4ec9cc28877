#include "world_model/encoder.h"

#include "world_model/world_model.h"  // ObjectGroupIndices

#include <cmath>
#include <stdexcept>

namespace jepa_mpc::world_model {

namespace nn = torch::nn;

namespace {
// The embedding is the keypoints' coordinates, in [-1, 1], times this (with the object spread's
// too); ObjectGroupUnshifted reads the group on the same scale.
constexpr double kCoordinateScale = 3.0;
}  // namespace

Registry<EncoderEntry>& EncoderRegistry() {
  static Registry<EncoderEntry> registry = [] {
    Registry<EncoderEntry> r("encoder");
    r.Add("keypoints", {"conv net + spatial softmax: keypoint image coordinates (default)",
                        [](const ModelConfig& c, int64_t size) -> std::shared_ptr<EncoderBase> {
                          return std::make_shared<KeypointEncoder>(c, size);
                        }});
    return r;
  }();
  return registry;
}

std::shared_ptr<EncoderBase> MakeEncoder(const ModelConfig& config, int64_t image_size) {
  auto encoder = EncoderRegistry().Get(config.encoder).make(config, image_size);
  if (!encoder) throw std::logic_error("encoder factory for '" + config.encoder + "' returned nothing");
  return encoder;
}

KeypointEncoder::KeypointEncoder(const ModelConfig& config, int64_t /*image_size*/) : config_(config) {
  if (config_.views < 1) {
    throw std::invalid_argument("encoder views must be positive, got " + std::to_string(config_.views));
  }
  const int64_t c = config_.channels, k = config_.keypoints * config_.views;
  const int64_t ko = config_.object_keypoints * config_.views;
  conv1_ = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(3, c, 5).stride(2).padding(2)));
  conv2_ = register_module("conv2", nn::Conv2d(nn::Conv2dOptions(c, c, 3).padding(1)));
  conv3_ = register_module("conv3", nn::Conv2d(nn::Conv2dOptions(c, c, 3).padding(1)));
  conv4_ = register_module("conv4", nn::Conv2d(nn::Conv2dOptions(c, k - ko, 1)));
  if (ko > 0) {
    object_trunk_ = register_module(
        "object_trunk", nn::Sequential(nn::Conv2d(nn::Conv2dOptions(3, c, 5).stride(2).padding(2)), nn::ReLU(true),
                                       nn::Conv2d(nn::Conv2dOptions(c, c, 3).padding(1)), nn::ReLU(true),
                                       nn::Conv2d(nn::Conv2dOptions(c, c, 3).padding(1)), nn::ReLU(true),
                                       nn::Conv2d(nn::Conv2dOptions(c, ko, 1))));
  }
  if (!config_.projector) {
    const int64_t expected = config_.CoordinateDims() + config_.SpreadDims();
    if (config_.latent_dim != expected) {
      throw std::invalid_argument("an encoder without projector has latent_dim = 2 * keypoints * views" +
                                  std::string(config_.object_spread ? " + object_keypoints * views" : "") + " = " +
                                  std::to_string(expected) + ", got " + std::to_string(config_.latent_dim));
    }
  } else {
    project_ = register_module("project", nn::Linear(2 * k, config_.latent_dim));
  }
  if (config_.projector && config_.projector_batchnorm) {
    norm_ = register_module("norm", nn::BatchNorm1d(config_.latent_dim));
  }
  log_temperature_ =
      register_parameter("log_temperature", torch::full({1}, std::log(config_.softmax_scale)));
}

torch::Tensor KeypointEncoder::Maps(const torch::Tensor& input) {
  // Channels-last (NHWC) images: oneDNN's convolutions then run without reordering every
  // activation, forward and backward (docs/performance.md).
  const auto images = input.contiguous(at::MemoryFormat::ChannelsLast);
  auto x = conv1_(images).relu_();
  x = conv2_(x).relu_();
  x = conv3_(x).relu_();
  x = conv4_(x);
  if (!object_trunk_) return x;
  // Each view's arm maps, then its object maps.
  auto o = object_trunk_->forward(images);
  const int64_t B = x.size(0), V = config_.views, h = x.size(2), w = x.size(3);
  return torch::cat({x.view({B, V, -1, h, w}), o.view({B, V, -1, h, w})}, 2).view({B, -1, h, w});
}

KeypointEncoder::Attention KeypointEncoder::Attend(const torch::Tensor& images) {
  auto x = Maps(images);  // [B, V * K, h, V * w]: K maps for each view
  const int64_t B = x.size(0), V = config_.views, h = x.size(2), w = x.size(3) / V;
  TORCH_CHECK(x.size(3) % V == 0, "encoder feature map width ", x.size(3), " does not split into ",
              V, " views");
  const int64_t K = x.size(1);  // keypoints in all
  if (V > 1) {
    // View v's maps over view v's columns: [B, V, K/V, h, V, w] -> [B, V, K/V, h, w].
    auto blocks = x.view({B, V, K / V, h, V, w});
    std::vector<torch::Tensor> views;
    for (int64_t v = 0; v < V; ++v) views.push_back(blocks.select(1, v).select(3, v));
    x = torch::stack(views, 1);
  }
  // Standardised logits: the attention is neither uniform (frozen at the centre) nor saturated
  // on one pixel (no gradient) whatever the scale of the conv outputs.
  auto logits = x.reshape({B, K, h * w});
  logits = (logits - logits.mean(-1, true)) / (logits.std(-1, true, true) + 1e-5);
  Attention a;
  a.weights = torch::softmax(logits * torch::exp(log_temperature_), -1);
  auto opts = x.options();
  a.ys = torch::linspace(-1, 1, h, opts).view({h, 1}).expand({h, w}).reshape({h * w});
  a.xs = torch::linspace(-1, 1, w, opts).view({1, w}).expand({h, w}).reshape({h * w});
  a.h = h;
  a.w = w;
  return a;
}

torch::Tensor KeypointEncoder::Attention::Coordinates() const {
  return torch::cat({(weights * xs).sum(-1), (weights * ys).sum(-1)}, 1);  // [B, 2K]: xs, then ys
}

torch::Tensor KeypointEncoder::Keypoints(const torch::Tensor& images) { return Attend(images).Coordinates(); }

// The object keypoints' attention variance about their coordinates [B, 2 K V] (xs, then ys):
// [B, object_keypoints * views], view-major.
torch::Tensor KeypointEncoder::ObjectVariance(const Attention& a, const torch::Tensor& coordinates) const {
  const auto group = ObjectGroupIndices(config_);  // the xs, then the ys; the xs' indices name the keypoints
  const int64_t n = group.size(0) / 2;
  const auto place = coordinates.index_select(1, group);
  auto w = a.weights.index_select(1, group.narrow(0, 0, n));
  auto mx = place.narrow(1, 0, n).unsqueeze(-1), my = place.narrow(1, n, n).unsqueeze(-1);
  return (w * (a.xs - mx).square()).sum(-1) + (w * (a.ys - my).square()).sum(-1);
}

torch::Tensor EncoderBase::ObjectGroupUnshifted(const torch::Tensor&, const torch::Tensor&) {
  throw std::invalid_argument("this encoder has no object keypoints to read in a moved image");
}

torch::Tensor ShiftImages(const torch::Tensor& images, const torch::Tensor& shifts, int64_t views) {
  TORCH_CHECK(images.dim() == 4 && shifts.dim() == 2 && shifts.size(0) == images.size(0) && shifts.size(1) == 2,
              "ShiftImages needs images [N, C, H, W] and shifts [N, 2], got ", images.sizes(), " and ",
              shifts.sizes());
  const int64_t N = images.size(0), C = images.size(1), H = images.size(2), W = images.size(3);
  TORCH_CHECK(views >= 1 && W % views == 0, "image width ", W, " does not split into ", views, " views");
  const int64_t Wv = W / views;
  auto x = images.view({N, C, H, views, Wv}).permute({0, 3, 1, 2, 4}).reshape({N * views, C, H, Wv});
  // Output pixel u samples the input at u - shift (normalised units with the corner pixels at -1, 1).
  auto s = shifts.to(images.options()).repeat_interleave(views, 0);
  auto theta = torch::zeros({N * views, 2, 3}, images.options());
  theta.select(2, 0).select(1, 0).fill_(1);
  theta.select(2, 1).select(1, 1).fill_(1);
  theta.select(2, 2).select(1, 0).copy_(-s.select(1, 0) * (2.0 / std::max<int64_t>(Wv - 1, 1)));
  theta.select(2, 2).select(1, 1).copy_(-s.select(1, 1) * (2.0 / std::max<int64_t>(H - 1, 1)));
  namespace F = torch::nn::functional;
  auto grid = F::affine_grid(theta, {N * views, C, H, Wv}, true);
  auto moved = F::grid_sample(x, grid, F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kBorder).align_corners(true));
  return moved.view({N, views, C, H, Wv}).permute({0, 2, 3, 1, 4}).reshape({N, C, H, W});
}

torch::Tensor KeypointEncoder::ObjectGroupUnshifted(const torch::Tensor& images, const torch::Tensor& shifts) {
  if (config_.object_keypoints == 0 || config_.projector) {
    throw std::invalid_argument("reading the object group in a moved image needs model options object_keypoints > 0 "
                                "and projector off");
  }
  const Attention a = Attend(ShiftImages(images, shifts, config_.views));
  const auto group = ObjectGroupIndices(config_);  // the xs, then the ys
  const int64_t n = group.size(0) / 2;
  auto read = kCoordinateScale * a.Coordinates().index_select(1, group);
  // A map cell is stride pixels of its view, and 2 / (cells - 1) apart in coordinates.
  const double view_width = images.size(3) / config_.views, height = images.size(2);
  const double per_pixel_x = kCoordinateScale * 2.0 / (a.w - 1) * a.w / view_width;
  const double per_pixel_y = kCoordinateScale * 2.0 / (a.h - 1) * a.h / height;
  auto s = shifts.to(read.options());
  return torch::cat({read.narrow(1, 0, n) - per_pixel_x * s.narrow(1, 0, 1),
                     read.narrow(1, n, n) - per_pixel_y * s.narrow(1, 1, 1)}, 1);
}

torch::Tensor KeypointEncoder::forward(const torch::Tensor& images) { return Embed(images, false).first; }

std::pair<torch::Tensor, torch::Tensor> KeypointEncoder::Embed(const torch::Tensor& images, bool variance) {
  variance = variance && config_.object_keypoints > 0;
  if (config_.projector) {
    auto z = project_(Keypoints(images));
    if (norm_) z = norm_(z);
    return {z, torch::Tensor()};
  }
  if (!config_.object_spread && !variance) return {kCoordinateScale * Keypoints(images), torch::Tensor()};
  const Attention a = Attend(images);
  const auto coordinates = a.Coordinates();
  torch::Tensor object_variance;
  if (variance) object_variance = ObjectVariance(a, coordinates);
  if (!config_.object_spread) return {kCoordinateScale * coordinates, object_variance};
  // The object keypoints' spread, without gradient: sqrt of the attention's variance about them.
  torch::Tensor spread;
  {
    torch::NoGradGuard no_grad;
    spread = (variance ? object_variance.detach() : ObjectVariance(a, coordinates)).clamp_min(0).sqrt();
  }
  return {kCoordinateScale * torch::cat({coordinates, spread}, 1), object_variance};
}

}  // namespace jepa_mpc::world_model
