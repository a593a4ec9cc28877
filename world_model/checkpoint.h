#pragma once

// Checkpoints: weights, optional optimizer state and training state, and the model's metadata,
// in one file written atomically (to a temporary name, then renamed over the old one).

#include <torch/torch.h>

#include <string>

#include "world_model/world_model.h"

namespace jepa_mpc::world_model {

struct TrainState {
  int64_t step = 0;          // optimizer steps taken
  std::string rng_state;     // the batch sampler's generator, serialised
  std::string config_json;   // the training configuration
  // The predictor phase's options (TrainConfig::predictor_*) and training episodes, as JSON, once
  // it has run on these weights; empty: not run. Resuming a finished run runs the phase again only
  // for other options or data.
  std::string predictor_phase;
};

// Writes path atomically. optimizer may be null (weights only).
void SaveCheckpoint(const std::string& path, WorldModel& model,
                    torch::optim::Optimizer* optimizer, const TrainState& state);

struct Checkpoint {
  WorldModel model{nullptr};
  TrainState state;
};

// Reads a checkpoint and builds its model. Throws std::runtime_error naming the path for a
// missing, truncated or foreign file. If optimizer is given it must be built over
// model->parameters() of a compatible model; use LoadOptimizerState for that.
Checkpoint LoadCheckpoint(const std::string& path);
// Loads the optimizer state saved in path into optimizer. Throws if the file holds none.
void LoadOptimizerState(const std::string& path, torch::optim::Optimizer& optimizer);

}  // namespace jepa_mpc::world_model
