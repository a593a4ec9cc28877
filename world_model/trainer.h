#pragma once

// End-to-end JEPA training from pixels: L = L_pred + lambda * SIGReg(z) (or VICReg), where
// L_pred averages a teacher-forcing loss over the window and a multi-step rollout loss (the
// predictor fed its own outputs), optionally plus an inverse-dynamics term. No pixel decoder.
// The model's objective option trains the same model as a baseline instead: a reconstruction
// model (a pixel decoder in place of the regulariser) or a frozen random encoder
// (ModelConfig::objective).

#include <nlohmann/json.hpp>

#include <atomic>
#include <functional>
#include <stdexcept>
#include <string>

#include "util/registry.h"
#include "world_model/data.h"
#include "world_model/distributed.h"
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
  // With model.object_keypoints: weight of the object group's loss (ObjectGroupLoss), and the
  // least steps between the two frames of its pairs.
  double object_weight = 0.0;
  int64_t object_pair_gap = 10;
  // With the object group: a pair's second frame is one at which every object is within this
  // distance (m) of where it was at the first (the hand having moved on), so the group must read
  // the same for the block wherever the hand is. The recorded positions choose the frames; no
  // loss sees them. 0: any frame of the episode far enough away.
  double object_pair_still = 0.0;
  // With the object group: weight of the mean variance of its keypoints' attention about their
  // coordinates (image units, [-1, 1] across a view), asking each for one narrow peak. 0: none.
  double object_sharpness = 0.0;
  // With the object group: weight of the mean squared difference (embedding units) between its
  // coordinates in each sub-trajectory's first frame and in that frame moved by up to 2 pixels
  // either way (a fraction of a pixel drawn uniformly; KeypointEncoder::ObjectGroupUnshifted)
  // once the move is taken back: a reading that follows the image to a fraction of a map cell.
  // 0: none.
  double object_equivariance = 0.0;
  // The share of sub-trajectories drawn from the windows in which an object moves (by more than
  // 5 mm; MovingWindows), the rest uniformly: in exploration data the block rests in most frames,
  // so a uniform draw rarely asks the predictor what a push does. The objects' positions choose
  // the windows only; no loss sees them. 0: uniform; data without objects ignore it.
  double moving_share = 0.0;
  // After the joint training, the predictor alone trained further for predictor_steps steps on
  // the frozen encoder's embeddings of every training frame (encoded once, so a step costs a
  // predictor pass, not an encoder pass): rollouts of predictor_length - history steps, batches
  // of 256 windows, windows drawn as moving_share says, the joint state always given (as the
  // controller gives it). 0: none. Free to change on --resume (a finished run gains the phase).
  int64_t predictor_steps = 0;
  int64_t predictor_length = 8;
  // In that phase, each embedding feature's squared error weighs 1 + predictor_goal_weight x its
  // goal-energy weight (the largest 1): the predictor is fitted hardest where the planner's cost
  // reads it (for push, the block's keypoint). 0: every feature alike.
  double predictor_goal_weight = 0;
  // > 0: that phase starts from a predictor initialised afresh from this seed, and draws its
  // windows from a stream seeded with it; several runs of the phase on copies of one trained run
  // (the same encoder) with different seeds give an ensemble of predictors whose disagreement
  // tells where they are unsure (ControllerOptions::ensemble). 0: the phase continues the jointly
  // trained predictor.
  int64_t predictor_seed = 0;
  // With model.objective "reconstruction": the weight of the pixel reconstruction loss (mean
  // squared error per pixel and channel, images in [0, 1]).
  double reconstruction_weight = 1.0;
  // With model.proprio: the fraction of sub-trajectories whose joint state is hidden from the
  // predictor (its features set to zero throughout), so that the embedding alone must still
  // carry the arm's state and the encoder keeps learning it.
  double proprio_dropout = 0.5;
  // The goal energy the planner will lower: "all" (the distance over the whole embedding, for
  // reaching) or "object" (weighted toward what the joint state does not explain, plus a reaching
  // term of weight reach_weight; world_model/energy.h), set once training ends.
  std::string energy = "all";
  double reach_weight = 0.0;
  // With an object group and energy "object": how its coordinates weigh in the goal energy,
  // "uniform" (1 each) or "variance" (each keypoint by its variance over held-out frames, the
  // largest 1: the keypoints that follow the object, not those that stay put).
  std::string group_weights = "uniform";
  // With energy "object": how far behind the object (metres, on its far side from the goal) the
  // reaching term draws the hand; 0: onto the object (GoalEnergy::push_offset).
  double push_offset = 0.0;
  // With energy "object" and an object group: how the reaching term reads the hand, "probe" (the
  // arm keypoints that best tell the end effector, averaged) or "fit" (a map fitted from the arm's
  // keypoints to the object's units) or "state" (the robot's end effector, given with each image
  // and moved by the planned actions; ReachHand in energy.h).
  std::string reach_hand = "probe";
  // With reach_hand "state": metres above the object's height the hand is drawn while away from
  // the point behind it (GoalEnergy::approach_height); 0: none.
  double approach_height = 0.0;
  double grad_clip = 1.0;
  int64_t checkpoint_every = 250;
  int64_t log_every = 10;
  uint64_t seed = 0;
  double val_fraction = 0.1;
  int threads = 0;                 // 0: every core

  // The one list of options (config.json, checkpoints, train's flags read it).
  template <class Self, class F>
  static void Fields(Self& c, F&& f) {
    f("model", c.model);
    f("steps", c.steps);
    f("batch_size", c.batch_size);
    f("sequence_length", c.sequence_length);
    f("learning_rate", c.learning_rate);
    f("weight_decay", c.weight_decay);
    f("regularizer", c.regularizer);
    f("lambda", c.lambda);
    f("sigreg_slices", c.sigreg_slices);
    f("inverse_dynamics_weight", c.inverse_dynamics_weight);
    f("smoothness_weight", c.smoothness_weight);
    f("object_weight", c.object_weight);
    f("object_pair_gap", c.object_pair_gap);
    f("object_pair_still", c.object_pair_still);
    f("object_sharpness", c.object_sharpness);
    f("object_equivariance", c.object_equivariance);
    f("moving_share", c.moving_share);
    f("predictor_steps", c.predictor_steps);
    f("predictor_length", c.predictor_length);
    f("predictor_goal_weight", c.predictor_goal_weight);
    f("predictor_seed", c.predictor_seed);
    f("reconstruction_weight", c.reconstruction_weight);
    f("proprio_dropout", c.proprio_dropout);
    f("energy", c.energy);
    f("reach_weight", c.reach_weight);
    f("group_weights", c.group_weights);
    f("push_offset", c.push_offset);
    f("approach_height", c.approach_height);
    f("reach_hand", c.reach_hand);
    f("grad_clip", c.grad_clip);
    f("checkpoint_every", c.checkpoint_every);
    f("log_every", c.log_every);
    f("seed", c.seed);
    f("val_fraction", c.val_fraction);
    f("threads", c.threads);
  }
  // Throws std::invalid_argument naming the bad field.
  void Validate() const;
};

void to_json(nlohmann::json& j, const TrainConfig& c);
// Overrides the fields present in j; unknown keys are an error.
void from_json(const nlohmann::json& j, TrainConfig& c);

// Training defaults by robot ("panda7") and by robot and task ("panda7/push"): each entry edits
// a config; DefaultTrainConfig applies the robot's, then the robot-and-task's, over TrainConfig's
// own defaults. The experiments behind each are in docs/experiments/world-model.md and push.md.
// A user's robot may add its own: TrainDefaultsRegistry().Add("my_arm", [](TrainConfig& c) {...}).
// Robots read from a description file (a path ending in .json or .xml) take kDescribedArm's.
using TrainDefaults = std::function<void(TrainConfig&)>;
inline constexpr const char* kDescribedArm = "described-arm";
Registry<TrainDefaults>& TrainDefaultsRegistry();
TrainConfig DefaultTrainConfig(const std::string& robot, const std::string& task = "");

struct StepMetrics {
  int64_t step = 0;
  double loss = 0, teacher_forcing = 0, rollout = 0, regularizer = 0, inverse_dynamics = 0;
  double smoothness = 0;
  double proprio = 0;              // joint-state prediction loss (models with proprio)
  double object = 0;               // object group loss (models with an object group)
  double reconstruction = 0;       // pixel loss (the reconstruction objective)
  double equivariance = 0;         // the object group's reading in moved images (object_equivariance)
  double samples_per_second = 0;   // sub-trajectories per second over the run
  double elapsed = 0;              // seconds in this run
  // > 0 while the predictor phase runs (TrainConfig::predictor_steps): its steps done. Train then
  // reports every 10th of them and the last, with step the training's last and loss the phase's.
  int64_t predictor_step = 0;
};

// Raised when a loss or gradient is not finite; the last good checkpoint is kept.
class NonFiniteLoss : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct TrainResult {
  int64_t steps_done = 0;       // total optimizer steps in the final checkpoint
  double seconds = 0;           // wall time of this run (the final checkpoint and goal energy included)
  double samples_per_second = 0;  // sub-trajectories per second of the optimisation steps
  bool interrupted = false;
  // The predictor's phase on frozen embeddings (TrainConfig::predictor_steps): its wall time and
  // last loss; 0 without it.
  double predictor_seconds = 0;
  double predictor_loss = 0;
  // With a process group, over this run's steps: bytes this rank sent to all-reduces and
  // all-gathers per step, and seconds per step spent in collectives (waiting for the slowest rank
  // included).
  double communicated_bytes_per_step = 0;
  double communication_seconds_per_step = 0;
  // The same seconds for every rank, in rank order (a rank that waits less is a straggler).
  std::vector<double> communication_seconds_per_rank;
  WorldModel model{nullptr};
};

// Trains on data, writing out_dir/checkpoint.pt every checkpoint_every steps and at the end,
// and out_dir/metrics.csv every log_every steps. With resume, continues from
// out_dir/checkpoint.pt to the same result as an uninterrupted run of the same seed.
//
// With a process group (data-parallel training, docs/distributed.md) every rank calls Train on
// the same data and config: batch_size is the global batch, drawn alike on every rank, of which
// each rank computes batch_size / ranks sub-trajectories; the regulariser and the object group's
// loss are computed over the global batch (embeddings all-gathered); gradients are summed over
// the ranks and divided by their number. The result equals one process training on the global
// batch up to floating-point summation order, and a run may be resumed at any number of ranks.
// Rank 0 alone writes out_dir; to resume, every rank must read out_dir/checkpoint.pt (a shared
// filesystem, or a copy). A lost rank makes the others throw GroupError within the timeout.
TrainResult Train(const TrainConfig& config, const TrainingData& data, const std::string& out_dir,
                  bool resume, const std::function<void(const StepMetrics&)>& on_step = {},
                  const std::atomic<bool>* stop = nullptr, ProcessGroup* group = nullptr);

// Model metadata for a dataset and config (with proprio: joint-state statistics of data.train).
ModelMeta MakeMeta(const TrainConfig& config, const TrainingData& data);

// The training objective on one batch (training mode, with gradient): what Train minimises.
struct TrainingLosses {
  torch::Tensor total, teacher_forcing, rollout, regularizer, inverse_dynamics, smoothness, proprio,
      object, reconstruction, equivariance;
};
// The object group's loss: z [B, D] are embeddings of frames, z_pair [B, D] of other frames of
// the same episodes (pair_gap or more steps away). From its group alone, each frame must tell
// which of the batch's other frames is its pair (InfoNCE over minus the mean squared distance,
// both ways). The robot's body has moved on by then; what never moves is the same in every
// episode; what tells the episodes apart is the objects, which stay where they were left.
torch::Tensor ObjectGroupLoss(const torch::Tensor& z, const torch::Tensor& z_pair, const ModelConfig& config);

// One rank's share of a global batch in data-parallel training: its sub-trajectories start at
// offset of global_size, and gather(x) returns the global batch's x ([global rows, ...], rank
// order) from every rank's x, with this rank's rows carrying its gradient times the number of
// ranks (the gradient all-reduce divides by it). Without one, the batch is the whole batch.
struct BatchShard {
  int64_t offset = 0;
  int64_t global_size = 0;
  std::function<torch::Tensor(const torch::Tensor&)> gather;
};
// gather for a process group, as Train uses it.
BatchShard MakeBatchShard(ProcessGroup& group, int64_t global_batch);

TrainingLosses ComputeLosses(WorldModel& model, const TrainConfig& config, const Batch& batch,
                             int64_t step, const BatchShard* shard = nullptr);

}  // namespace jepa_mpc::world_model
