#pragma once

#include <torch/torch.h>

namespace jepa_mpc::world_model {

// Sketched isotropic Gaussian regulariser (LeJEPA / LeWorldModel): projects z [N, D] on
// `slices` random unit directions (drawn from `seed`) and compares each 1-D empirical
// characteristic function with N(0, 1)'s through the Epps-Pulley statistic, weighted by
// exp(-t^2/2) and integrated over t in [-5, 5]. Scaled by N, averaged over slices.
// About 0 for standard Gaussian samples; large for collapsed or low-rank ones.
torch::Tensor SIGReg(const torch::Tensor& z, int64_t slices, uint64_t seed);

// VICReg's variance (hinge on each dimension's std at 1) plus covariance (off-diagonal squared)
// terms for z [N, D].
torch::Tensor VICReg(const torch::Tensor& z);

// exp(entropy of the normalised singular values) of the centred z [N, D]: 1 for a collapsed
// embedding, D for an isotropic one (Roy and Vetterli's effective rank).
double EffectiveRank(const torch::Tensor& z);

}  // namespace jepa_mpc::world_model
