#pragma once

// How good a world model is for planning, measured on held-out episodes with the model in eval
// mode, exactly as the planner uses it.

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <vector>

#include "world_model/data.h"
#include "world_model/world_model.h"

namespace jepa_mpc::world_model {

struct QualityReport {
  // Latent prediction error at horizons 1, 5, 10 as a ratio to the "repeat the last
  // embedding" baseline: mean ||rollout_h - z_{t+h}||^2 / mean ||z_t - z_{t+h}||^2.
  std::vector<int> horizons{1, 5, 10};
  std::vector<double> prediction_ratio;
  // Scenes with objects: the horizon-5 ratio over the windows in which the first object moved
  // more than 1 cm, on the object group's coordinates (the whole embedding for models without
  // one): how well pushes are predicted.
  double prediction_ratio_object_moved = NAN;
  int64_t object_moved_windows = 0;
  double effective_rank = 0;       // of held-out embeddings
  int64_t latent_dim = 0;
  std::vector<double> dim_std;     // per-dimension std of held-out embeddings
  double probe_r2_ee = 0;          // ridge probe embedding -> end-effector position, held-out R^2
  double probe_r2_object = NAN;    // -> first object's position (scenes with objects)
  // The probes themselves, [D + 1, 3]: position = [z, 1] @ probe (world frame, m). They read the
  // end effector (and the block) off any embedding, predicted ones included (the report draws
  // the planner's intent with them). probe_object is undefined without objects.
  torch::Tensor probe_ee, probe_object;
  double spearman_ee = 0;          // rank correlation of embedding and end-effector distances
  int64_t pairs = 0;               // random held-out frame pairs behind spearman_ee
  // Task-aware plannability (with a GoalSet): rank correlation, over held-out frames paired with
  // the task's goal images, between the latent goal energy the planner lowers and the task's own
  // distance (block to its goal for push, end effector to its goal for reaching).
  double spearman_task = NAN;
  int64_t task_pairs = 0;

  nlohmann::json ToJson() const;
  std::string Summary() const;     // a few lines for the terminal
};

// Encodes every frame of data: [E, T, D].
torch::Tensor EncodeAll(WorldModel& model, const Trajectories& data, int64_t batch = 512);

// A task's goals, as the planner gets them: goal images and where they put the tracked point.
struct GoalSet {
  torch::Tensor images;     // [G, 3, S, S] float in [0, 1]
  torch::Tensor positions;  // [G, 3] goal position of the tracked point (m)
  bool object = false;      // the tracked point is the first object (else the end effector)
};

QualityReport EvaluateQuality(WorldModel& model, const TrainingData& data, uint64_t seed = 0,
                              const GoalSet* goals = nullptr);

// Pieces, exposed for tests.
// Ridge regression fit on (x_train, y_train), R^2 (1 - SSE/SST summed over outputs) on the test set.
double RidgeProbeR2(const torch::Tensor& x_train, const torch::Tensor& y_train,
                    const torch::Tensor& x_test, const torch::Tensor& y_test, double ridge = 1e-3);
// The ridge fit itself: [D + 1, K] (double) with y ~= [x, 1] @ result.
torch::Tensor RidgeFit(const torch::Tensor& x_train, const torch::Tensor& y_train, double ridge = 1e-3);
double SpearmanCorrelation(const torch::Tensor& a, const torch::Tensor& b);

}  // namespace jepa_mpc::world_model
