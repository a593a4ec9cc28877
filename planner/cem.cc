#include "planner/cem.h"

#include <stdexcept>

namespace jepa_mpc::planner {

namespace {

void CheckCounts(int64_t samples, int64_t elites, double min_std, double init_std, double momentum,
                 const char* what) {
  const std::string w = what;
  if (samples < 2) throw std::invalid_argument(w + " samples must be at least 2");
  if (elites < 1 || elites > samples) {
    throw std::invalid_argument(w + " elites is " + std::to_string(elites) + ", expected 1.." +
                                std::to_string(samples));
  }
  if (!(min_std >= 0) || !(init_std > 0)) {
    throw std::invalid_argument(w + " standard deviations must be positive numbers");
  }
  if (!(momentum >= 0 && momentum < 1)) {
    throw std::invalid_argument(w + " momentum must be in [0, 1)");
  }
}

// Candidates around mean [H, A] with per-entry std [H, A]: [N, H, A], clamped to [-1, 1];
// candidate 0 is the mean itself.
torch::Tensor Sample(const torch::Tensor& mean, const torch::Tensor& std, int64_t n,
                     torch::Generator& gen) {
  auto noise = torch::randn({n, mean.size(0), mean.size(1)}, gen);
  auto x = (mean.unsqueeze(0) + std.unsqueeze(0) * noise).clamp(-1, 1);
  x[0] = mean;
  return x;
}

}  // namespace

Cem::Cem(PlannerOptions options, CemOptions cem) : Planner(std::move(options)), cem_(cem) {
  CheckCounts(cem.samples, cem.elites, cem.min_std, cem.init_std, cem.momentum, "CEM");
}

PlanResult Cem::DoPlan(const BatchCost& cost, const torch::Tensor& init) {
  PlanResult r;
  r.cost = INFINITY;
  const double start = options_.clock();
  torch::Tensor mean = init.clone();
  torch::Tensor std = torch::full_like(init, cem_.init_std);
  for (int64_t it = 0; HaveTime(start, it); ++it) {
    auto x = Sample(mean, std, cem_.samples, generator_);
    auto c = Score(cost, x, r);
    ++r.iterations;
    auto [values, idx] = torch::topk(c, cem_.elites, 0, /*largest=*/false);
    const double best = values[0].item<double>();
    if (!std::isfinite(best)) continue;
    if (best < r.cost) {
      r.cost = best;
      r.actions = x[idx[0].item<int64_t>()].clone();
    }
    auto finite = torch::isfinite(values);
    auto elites = x.index_select(0, idx.masked_select(finite));
    auto new_mean = elites.mean(0);
    auto new_std = elites.size(0) > 1 ? elites.std(0, /*unbiased=*/false) : std;
    mean = cem_.momentum * mean + (1 - cem_.momentum) * new_mean;
    std = (cem_.momentum * std + (1 - cem_.momentum) * new_std).clamp_min(cem_.min_std);
  }
  if (cem_.mean_plan) {
    if (std::isfinite(r.cost)) {
      r.actions = mean.clamp(-1, 1);
      r.cost = Score(cost, r.actions.unsqueeze(0), r)[0].item<double>();
    }
    return r;
  }
  // The last refit mean is the search's best guess, and no iteration scored it: one more
  // candidate, kept when it beats every sample (with few samples it often does).
  if (r.iterations > 0 && std::isfinite(r.cost) && TimeForAnother(start, r.iterations)) {
    const double c = Score(cost, mean.unsqueeze(0), r)[0].item<double>();
    if (c < r.cost) {
      r.cost = c;
      r.actions = mean.clone();
    }
  }
  return r;
}

Mppi::Mppi(PlannerOptions options, MppiOptions mppi) : Planner(std::move(options)), mppi_(mppi) {
  CheckCounts(mppi.samples, mppi.elites, mppi.min_std, mppi.noise_std, mppi.momentum, "MPPI");
  if (!(mppi.temperature > 0)) throw std::invalid_argument("MPPI temperature must be positive");
}

PlanResult Mppi::DoPlan(const BatchCost& cost, const torch::Tensor& init) {
  PlanResult r;
  r.cost = INFINITY;
  const double start = options_.clock();
  torch::Tensor mean = init.clone();
  torch::Tensor std = torch::full_like(init, mppi_.noise_std);
  bool any_finite = false;
  for (int64_t it = 0; HaveTime(start, it); ++it) {
    auto x = Sample(mean, std, mppi_.samples, generator_);
    auto c = Score(cost, x, r);
    ++r.iterations;
    auto [values, idx] = torch::topk(c, mppi_.elites, 0, /*largest=*/false);
    auto finite = torch::isfinite(values);
    if (!finite.any().item<bool>()) continue;
    any_finite = true;
    values = values.masked_select(finite);
    auto elites = x.index_select(0, idx.masked_select(finite));
    auto w = torch::softmax(-(values - values.min()) / mppi_.temperature, 0).to(torch::kFloat32);
    auto new_mean = (w.view({-1, 1, 1}) * elites).sum(0);
    auto new_std = (w.view({-1, 1, 1}) * (elites - new_mean).pow(2)).sum(0).sqrt();
    mean = mppi_.momentum * mean + (1 - mppi_.momentum) * new_mean;
    std = (mppi_.momentum * std + (1 - mppi_.momentum) * new_std).clamp_min(mppi_.min_std);
  }
  if (any_finite) {
    // The returned plan is the weighted mean: score it once so the cost is its own.
    r.actions = mean.clamp(-1, 1);
    r.cost = Score(cost, r.actions.unsqueeze(0), r)[0].item<double>();
  }
  return r;
}

}  // namespace jepa_mpc::planner
