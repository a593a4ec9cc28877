#include "world_model/losses.h"

namespace jepa_mpc::world_model {

torch::Tensor SIGReg(const torch::Tensor& z, int64_t slices, uint64_t seed) {
  TORCH_CHECK(z.dim() == 2 && z.size(0) > 1, "SIGReg expects z [N, D] with N > 1, got ", z.sizes());
  auto gen = at::detail::createCPUGenerator(seed);
  auto dirs = torch::randn({z.size(1), slices}, gen, z.options());
  dirs = dirs / dirs.norm(2, 0, true);
  auto h = torch::matmul(z, dirs);                          // [N, M]
  auto t = torch::linspace(-5, 5, 17, z.options());         // [T]
  auto phi = torch::exp(-0.5 * t * t);                      // N(0,1) characteristic function
  auto ht = h.unsqueeze(2) * t;                             // [N, M, T]
  auto re = torch::cos(ht).mean(0);                         // [M, T]
  auto im = torch::sin(ht).mean(0);
  auto err = ((re - phi).pow(2) + im.pow(2)) * phi;         // weighted |ecf - cf|^2
  auto stat = torch::trapz(err, t, 1) * static_cast<double>(z.size(0));  // [M]
  return stat.mean();
}

torch::Tensor VICReg(const torch::Tensor& z) {
  TORCH_CHECK(z.dim() == 2 && z.size(0) > 1, "VICReg expects z [N, D] with N > 1");
  const int64_t N = z.size(0), D = z.size(1);
  auto c = z - z.mean(0, true);
  auto std = torch::sqrt(c.var(0) + 1e-4);
  auto variance = torch::relu(1.0 - std).mean();
  auto cov = torch::matmul(c.t(), c) / static_cast<double>(N - 1);
  auto off = cov - torch::diag(torch::diag(cov));
  auto covariance = off.pow(2).sum() / static_cast<double>(D);
  return 25.0 * variance + covariance;
}

double EffectiveRank(const torch::Tensor& z) {
  torch::NoGradGuard no_grad;
  auto c = (z - z.mean(0, true)).to(torch::kDouble);
  auto s = torch::linalg::svdvals(c, c10::nullopt);
  auto p = s / s.sum().clamp_min(1e-12);
  auto entropy = -(p * torch::log(p.clamp_min(1e-12))).sum();
  return std::exp(entropy.item<double>());
}

}  // namespace jepa_mpc::world_model
