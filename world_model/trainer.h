#pragma once

// End-to-end JEPA training from pixels: L = L_pred + lambda * SIGReg(z) (or VICReg), where
// L_pred averages a teacher-forcing loss over the window and a multi-step rollout loss (the
// predictor fed its own outputs), optionally plus an inverse-dynamics term. No pixel decoder.

#include <nlohmann/json.hpp>

#include <atomic>
#include <functional>
#include <stdexcept>
#include <string>

#include "world_model/data.h"
#include "world_model/quality.h"
#include "world_model/world_model.h"

namespace jepa_mpc::world_model {

struct TrainConfig {
  ModelConfig model;
  int64_t steps = 2000;
  int64_t batch_size = 32;         // sub-trajectories per step
  int64_t sequence_length = 4;     // frames per sub-trajectory (rollout of length - history steps)
  double learning_rate = 1e-3;
  double weight_decay = 1e-5;
  std::string regularizer = "sigreg";  // sigreg | vicreg
  double lambda = 0.05;            // regulariser weight
  int64_t sigreg_slices = 64;
  double inverse_dynamics_weight = 0.0;  // used when model.inverse_dynamics
  // Temporal smoothness: weight of mean ||z_t+1 - z_t||^2 / D, which keeps consecutive frames
  // close in embedding space so that distances follow motion.
  double smoothness_weight = 0.0;
  // With model.proprio: the fraction of sub-trajectories whose joint state is hidden from the
  // predictor (its features set to zero throughout), so that the embedding alone must still
  // carry the arm's state and the encoder keeps learning it.
  double proprio_dropout = 0.5;
  // The goal energy the planner will lower: "all" (the distance over the whole embedding, for
  // reaching) or "object" (weighted toward what the joint state does not explain, plus a reaching
  // term of weight reach_weight; world_model/energy.h), set once training ends.
  std::string energy = "all";
  double reach_weight = 0.0;
  double grad_clip = 1.0;
  int64_t checkpoint_every = 250;
  int64_t log_every = 10;
  uint64_t seed = 0;
  double val_fraction = 0.1;
  int threads = 0;                 // 0: every core

  // Throws std::invalid_argument naming the bad field.
  void Validate() const;
};

void to_json(nlohmann::json& j, const TrainConfig& c);
// Overrides the fields present in j; unknown keys are an error.
void from_json(const nlohmann::json& j, TrainConfig& c);

// Defaults suited to a robot's datasets, and to a task's where it differs (push).
TrainConfig DefaultTrainConfig(const std::string& robot, const std::string& task = "");

struct StepMetrics {
  int64_t step = 0;
  double loss = 0, teacher_forcing = 0, rollout = 0, regularizer = 0, inverse_dynamics = 0;
  double smoothness = 0;
  double proprio = 0;              // joint-state prediction loss (models with proprio)
  double samples_per_second = 0;   // sub-trajectories per second over the run
  double elapsed = 0;              // seconds in this run
};

// Raised when a loss or gradient is not finite; the last good checkpoint is kept.
class NonFiniteLoss : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct TrainResult {
  int64_t steps_done = 0;       // total optimizer steps in the final checkpoint
  double seconds = 0;           // wall time of this run
  double samples_per_second = 0;
  bool interrupted = false;
  WorldModel model{nullptr};
};

// Trains on data, writing out_dir/checkpoint.pt every checkpoint_every steps and at the end,
// and out_dir/metrics.csv every log_every steps. With resume, continues from
// out_dir/checkpoint.pt to the same result as an uninterrupted run of the same seed.
TrainResult Train(const TrainConfig& config, const TrainingData& data, const std::string& out_dir,
                  bool resume, const std::function<void(const StepMetrics&)>& on_step = {},
                  const std::atomic<bool>* stop = nullptr);

// Model metadata for a dataset and config (with proprio: joint-state statistics of data.train).
ModelMeta MakeMeta(const TrainConfig& config, const TrainingData& data);

// The training objective on one batch (training mode, with gradient): what Train minimises.
struct TrainingLosses {
  torch::Tensor total, teacher_forcing, rollout, regularizer, inverse_dynamics, smoothness, proprio;
};
TrainingLosses ComputeLosses(WorldModel& model, const TrainConfig& config, const Batch& batch,
                             int64_t step);

}  // namespace jepa_mpc::world_model
