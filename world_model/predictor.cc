#include "world_model/predictor.h"

#include <algorithm>

namespace jepa_mpc::world_model {

namespace nn = torch::nn;

PredictorImpl::PredictorImpl(PredictorOptions options_) : options(options_) { reset(); }

void PredictorImpl::reset() {
  const int64_t in = options.history() * (options.latent_dim() + options.action_dim());
  nn::Sequential mlp;
  int64_t width = in;
  for (int64_t i = 0; i < options.layers(); ++i) {
    mlp->push_back(nn::Linear(width, options.hidden()));
    mlp->push_back(nn::LayerNorm(nn::LayerNormOptions({options.hidden()})));
    mlp->push_back(nn::GELU());
    width = options.hidden();
  }
  mlp->push_back(nn::Linear(width, options.latent_dim()));
  mlp_ = register_module("mlp", mlp);
}

torch::Tensor PredictorImpl::forward(const torch::Tensor& z, const torch::Tensor& a) {
  TORCH_CHECK(z.dim() == 3 && a.dim() == 3 && z.size(1) == options.history() &&
                  a.size(1) == options.history() && z.size(2) == options.latent_dim() &&
                  a.size(2) == options.action_dim(),
              "predictor expects z [B, ", options.history(), ", ", options.latent_dim(),
              "] and a [B, ", options.history(), ", ", options.action_dim(), "], got ", z.sizes(),
              " and ", a.sizes());
  const int64_t B = z.size(0);
  auto x = torch::cat({z.reshape({B, -1}), a.reshape({B, -1})}, 1);
  const bool reduced = bfloat16_hidden_ && !torch::GradMode::is_enabled();
  return z.select(1, options.history() - 1) + (reduced ? ReducedMlp(x) : mlp_->forward(x));
}

torch::Tensor PredictorImpl::ReducedMlp(const torch::Tensor& input) {
  // mlp_: [Linear, LayerNorm, GELU] x layers, then the output Linear. Hidden layers: 1..layers-1.
  const int64_t L = options.layers();
  reduced_.resize(static_cast<size_t>(std::max<int64_t>(L - 1, 0)));
  reduced_version_.resize(reduced_.size(), -1);
  torch::Tensor x = input;
  for (int64_t i = 0; i <= L; ++i) {
    auto& linear = *mlp_->ptr(3 * i)->as<nn::Linear>();
    if (i == 0 || i == L) {
      x = torch::addmm(linear.bias, x, linear.weight.t());
    } else {
      const size_t k = static_cast<size_t>(i - 1);
      if (!reduced_[k].defined() || reduced_version_[k] != linear.weight._version()) {
        reduced_[k] = linear.weight.to(torch::kBFloat16);
        reduced_version_[k] = linear.weight._version();
      }
      x = torch::mm(x.to(torch::kBFloat16), reduced_[k].t()).to(torch::kFloat32).add_(linear.bias);
    }
    if (i < L) {
      x = mlp_->ptr(3 * i + 1)->as<nn::LayerNorm>()->forward(x);
      x = mlp_->ptr(3 * i + 2)->as<nn::GELU>()->forward(x);
    }
  }
  return x;
}

torch::Tensor RolloutPredictor(Predictor& predictor, const torch::Tensor& context,
                               const torch::Tensor& past_actions, const torch::Tensor& actions) {
  const int64_t W = predictor->options.history();
  const int64_t N = actions.size(0), H = actions.size(1), A = actions.size(2);
  TORCH_CHECK(context.dim() == 3 && context.size(0) == N && context.size(1) == W,
              "rollout context must be [N, W, D] with W = ", W, ", got ", context.sizes());
  torch::Tensor acts = actions;
  if (W > 1) {
    TORCH_CHECK(past_actions.dim() == 3 && past_actions.size(0) == N &&
                    past_actions.size(1) == W - 1 && past_actions.size(2) == A,
                "rollout past actions must be [N, W-1, A], got ", past_actions.sizes());
    acts = torch::cat({past_actions, actions}, 1);  // [N, W-1+H, A]
  }
  std::vector<torch::Tensor> window;
  for (int64_t i = 0; i < W; ++i) window.push_back(context.select(1, i));
  std::vector<torch::Tensor> out;
  out.reserve(H);
  for (int64_t h = 0; h < H; ++h) {
    auto z = torch::stack(window, 1);
    auto a = acts.narrow(1, h, W);
    auto next = predictor->forward(z, a);
    out.push_back(next);
    window.erase(window.begin());
    window.push_back(next);
  }
  return torch::stack(out, 1);
}

}  // namespace jepa_mpc::world_model
