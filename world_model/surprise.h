#pragma once

// Surprise: how badly a world model predicted what it then saw. A model that has learned how a
// scene evolves should be surprised by an impossible event (an object that teleports or
// vanishes) and not by an ordinary episode. The measures of the violation-of-expectation
// literature over twin episodes (one possible, one impossible, the same up to the event).

#include <torch/torch.h>

#include <vector>

#include "world_model/world_model.h"

namespace jepa_mpc::world_model {

// The per-step prediction errors of a model on one episode: images [T, 3, S, S] float in [0, 1],
// joint states [T, Q] (undefined for a model without proprioception), actions [T, A] (the
// action taken after frame t). Row t >= W (the model's history) holds the squared errors of
// predicting frame t from frames t-W..t-1 and the actions between them: per embedding
// dimension [T, D], or, for a model with a pixel decoder (the reconstruction objective), per
// pixel and channel of the decoded prediction against the observed frame [T, 3 S S]. Rows
// before W are 0.
torch::Tensor PredictionErrors(WorldModel& model, const torch::Tensor& images, const torch::Tensor& qpos,
                               const torch::Tensor& actions);

// The surprise at each step from PredictionErrors rows [T, K]: the mean over K of the errors,
// each divided by its typical size `scale` [K] (the mean error on ordinary episodes; undefined:
// 1). Scaled, it is the negative log-likelihood of what was seen under a Gaussian error model
// fitted to ordinary episodes (up to constants): a feature that is usually predicted well (an
// object at rest) counts for more than one that is usually predicted loosely (the moving arm).
// Returns [T] (double).
torch::Tensor Surprise(const torch::Tensor& errors, const torch::Tensor& scale = {});

// The typical error of each feature: the mean of PredictionErrors rows (from row W on) over
// ordinary episodes, plus a floor of 1e-3 of their overall mean. [K].
torch::Tensor ErrorScale(const std::vector<torch::Tensor>& errors, int64_t history);

// The share of pairs in which the impossible twin's score is the higher (ties count half).
// Throws std::invalid_argument for lists of different or zero length.
double PairwiseAccuracy(const std::vector<double>& impossible, const std::vector<double>& possible);

// The area under the ROC curve of scores that should be higher for `positives` than for
// `negatives`: the probability that a random positive outscores a random negative (ties
// half). Throws std::invalid_argument for an empty list.
double Auroc(const std::vector<double>& positives, const std::vector<double>& negatives);

}  // namespace jepa_mpc::world_model
