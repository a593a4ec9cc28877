#include "world_model/surprise.h"

#include <algorithm>
#include <stdexcept>

namespace jepa_mpc::world_model {

torch::Tensor PredictionErrors(WorldModel& model, const torch::Tensor& images, const torch::Tensor& qpos,
                               const torch::Tensor& actions) {
  TORCH_CHECK(images.dim() == 4 && actions.dim() == 2 && actions.size(0) == images.size(0),
              "Surprise expects images [T, 3, S, S] and actions [T, A], got ", images.sizes(), " and ",
              actions.sizes());
  const int64_t T = images.size(0), W = model->history(), D = model->latent_dim();
  const int64_t K = model->has_decoder() ? images[0].numel() : D;
  auto out = torch::zeros({T, K}, torch::kFloat32);
  if (T <= W) return out;
  torch::NoGradGuard no_grad;
  model->eval();
  const auto z = model->Encode(images);                                    // [T, D]
  const auto state = model->State(z, model->proprio_dim() > 0 ? qpos : torch::Tensor());  // [T, S]
  const int64_t N = T - W;  // predictions of frames W..T-1
  std::vector<torch::Tensor> contexts, past, next;
  for (int64_t t = W; t < T; ++t) {
    contexts.push_back(state.narrow(0, t - W, W));
    past.push_back(actions.narrow(0, t - W, W - 1));
    next.push_back(actions.narrow(0, t - 1, 1));
  }
  auto predicted = model->Rollout(torch::stack(contexts), torch::stack(next), torch::stack(past))
                       .select(1, 0)
                       .narrow(-1, 0, D);  // [N, D]
  torch::Tensor error;
  if (model->has_decoder()) {
    error = (model->Decode(predicted) - images.narrow(0, W, N)).pow(2).reshape({N, K});
  } else {
    error = (predicted - z.narrow(0, W, N)).pow(2);
  }
  out.narrow(0, W, N).copy_(error);
  return out;
}

torch::Tensor Surprise(const torch::Tensor& errors, const torch::Tensor& scale) {
  TORCH_CHECK(errors.dim() == 2, "Surprise expects errors [T, K], got ", errors.sizes());
  auto e = errors.to(torch::kFloat64);
  if (scale.defined()) {
    TORCH_CHECK(scale.numel() == errors.size(1), "Surprise: scale has ", scale.numel(), " values, errors ",
                errors.size(1), " features");
    e = e / scale.to(torch::kFloat64).reshape({1, -1});
  }
  return e.mean(1);
}

torch::Tensor ErrorScale(const std::vector<torch::Tensor>& errors, int64_t history) {
  if (errors.empty()) throw std::invalid_argument("ErrorScale needs at least one episode's errors");
  std::vector<torch::Tensor> rows;
  for (const auto& e : errors) rows.push_back(e.narrow(0, history, e.size(0) - history).to(torch::kFloat64));
  auto mean = torch::cat(rows).mean(0);
  return mean + 1e-3 * mean.mean();
}

double PairwiseAccuracy(const std::vector<double>& impossible, const std::vector<double>& possible) {
  if (impossible.empty() || impossible.size() != possible.size()) {
    throw std::invalid_argument("pairwise accuracy needs as many impossible as possible scores, at least one");
  }
  double wins = 0;
  for (size_t i = 0; i < impossible.size(); ++i) {
    wins += impossible[i] > possible[i] ? 1.0 : impossible[i] == possible[i] ? 0.5 : 0.0;
  }
  return wins / impossible.size();
}

double Auroc(const std::vector<double>& positives, const std::vector<double>& negatives) {
  if (positives.empty() || negatives.empty()) throw std::invalid_argument("AUROC needs positive and negative scores");
  // Mann-Whitney U with mid-ranks for ties.
  std::vector<std::pair<double, int>> all;
  for (double s : positives) all.push_back({s, 1});
  for (double s : negatives) all.push_back({s, 0});
  std::sort(all.begin(), all.end());
  double rank_sum = 0;
  for (size_t i = 0; i < all.size();) {
    size_t j = i;
    while (j < all.size() && all[j].first == all[i].first) ++j;
    const double mid = 0.5 * (i + 1 + j);  // ranks i+1..j
    for (size_t k = i; k < j; ++k) rank_sum += all[k].second ? mid : 0;
    i = j;
  }
  const double P = positives.size(), N = negatives.size();
  return (rank_sum - P * (P + 1) / 2) / (P * N);
}

}  // namespace jepa_mpc::world_model
