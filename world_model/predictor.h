#pragma once

#include <torch/torch.h>

namespace jepa_mpc::world_model {

// Action-conditioned latent dynamics: from the last `history` embeddings and the actions taken
// at them, the next embedding, in residual form: z_{t+1} = z_t + MLP([z_{t-W+1..t}, a_{t-W+1..t}]).
// Actions condition by concatenation.
struct PredictorOptions {
  PredictorOptions(int64_t latent_dim = 32, int64_t action_dim = 2)
      : latent_dim_(latent_dim), action_dim_(action_dim) {}
  TORCH_ARG(int64_t, latent_dim);
  TORCH_ARG(int64_t, action_dim);
  TORCH_ARG(int64_t, history) = 1;  // W
  TORCH_ARG(int64_t, hidden) = 256;
  TORCH_ARG(int64_t, layers) = 3;   // hidden layers
};

class PredictorImpl : public torch::nn::Cloneable<PredictorImpl> {
 public:
  explicit PredictorImpl(PredictorOptions options = {});
  void reset() override;
  // z: [B, W, D], a: [B, W, A] (the newest action last) -> next embedding [B, D].
  torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& a);

  // Inference with the hidden layers' matrix multiplies in bfloat16: their inputs and weights
  // rounded to bfloat16 (8 significant bits), products accumulated in float; the first and last
  // layers, the layer norms, GELU and the residual stay in float. It applies only where no
  // gradient is recorded (planning), never to training. On CPUs with AVX-512 BF16 those
  // multiplies take a third of float's time (docs/performance.md); elsewhere they are emulated.
  void set_bfloat16_hidden(bool on) { bfloat16_hidden_ = on; }
  bool bfloat16_hidden() const { return bfloat16_hidden_; }

  PredictorOptions options;

 private:
  // The MLP with its hidden layers in bfloat16 (bfloat16_hidden).
  torch::Tensor ReducedMlp(const torch::Tensor& x);

  torch::nn::Sequential mlp_{nullptr};
  bool bfloat16_hidden_ = false;
  // The hidden layers' weights in bfloat16 and the float weights' version they were made from.
  std::vector<torch::Tensor> reduced_;
  std::vector<int64_t> reduced_version_;
};
TORCH_MODULE(Predictor);

// Rolls the predictor forward with its own outputs.
// context: [N, W, D] embeddings (oldest first; the last is the current one);
// past_actions: [N, W-1, A] actions taken at the context's earlier steps (may be empty for W=1);
// actions: [N, H, A] -> predicted embeddings [N, H, D] for steps t+1 .. t+H.
torch::Tensor RolloutPredictor(Predictor& predictor, const torch::Tensor& context,
                               const torch::Tensor& past_actions, const torch::Tensor& actions);

}  // namespace jepa_mpc::world_model
