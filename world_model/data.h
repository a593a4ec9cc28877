#pragma once

// A collected dataset held in memory as tensors, split by episode into training and held-out
// parts, with random sub-trajectory sampling for training.

#include <torch/torch.h>

#include <random>
#include <vector>
#include <string>

#include "sim/dataset.h"

namespace jepa_mpc::world_model {

struct Trajectories {
  torch::Tensor images;      // [E, T, 3, H, W] uint8
  torch::Tensor actions;     // [E, T, A] float32
  torch::Tensor ee_pos;      // [E, T, 3] float32 (m)
  torch::Tensor object_pos;  // [E, T, 3 * objects] float32 (m); [E, T, 0] without objects
  torch::Tensor qpos;        // [E, T, Q] float32: joint angles (rad) [, finger opening (m)]

  int64_t episodes() const { return images.size(0); }
  int64_t length() const { return images.size(1); }
  // Episodes [begin, end).
  Trajectories Slice(int64_t begin, int64_t end) const;
  // The episodes of parts one after another (each field concatenated once).
  static Trajectories Cat(const std::vector<Trajectories>& parts);
};

struct TrainingData {
  sim::DatasetInfo info;
  Trajectories train, val;
  // The last extra_episodes training episodes come from extra datasets (LoadTrainingData).
  int64_t extra_episodes = 0;
  // The data without them: what the statistics a model keeps (joint-state normalisation, goal
  // energy) and the quality report are computed on, so that extra episodes change what the model
  // is trained on and nothing else.
  TrainingData Primary() const;
};

// Loads every episode of an HDF5 dataset; the last val_fraction of the episodes (at least one)
// are held out. The episodes of the `extra` datasets (e.g. a planner's own episodes, evaluate
// --record) join the training part only, so the held-out episodes stay those of `path`; each must
// be of the same robot, task, cameras, image size, actions and episode length. Throws
// std::runtime_error for an empty, malformed or too-short dataset or an extra one of another kind.
TrainingData LoadTrainingData(const std::string& path, double val_fraction, int64_t min_length,
                              const std::vector<std::string>& extra = {});

// uint8 images [..., 3, H, W] -> float in [0, 1].
torch::Tensor ToFloatImages(const torch::Tensor& images);

// Random sub-trajectories of `length` frames: images [B, L, 3, H, W] float, actions [B, L, A],
// joint states [B, L, Q].
struct Batch {
  torch::Tensor images;
  torch::Tensor actions;
  torch::Tensor qpos;
  // With pair_gap > 0: for each sub-trajectory, one more frame of its episode at least pair_gap
  // steps from its first frame (the farthest frame when the episode is too short),
  // [B, 3, H, W] float; undefined otherwise.
  torch::Tensor pair_images;
};
// A sub-trajectory: episode and first frame.
struct Window {
  int64_t episode = 0, start = 0;
};
// pair_gap 0 draws exactly the random numbers it drew before pairs existed. With keep_end >= 0
// only the sub-trajectories [keep_begin, keep_end) of the `batch` drawn are returned: the share
// of one rank in data-parallel training, where every rank draws the same global batch. With
// favoured_share > 0 each sub-trajectory is drawn from `favoured` (windows of `length` frames,
// not empty) with that probability, else uniformly; 0 draws what it drew before the option.
// With pair_still > 0 the pair frame is drawn among those, pair_gap or more steps away, at which
// every object is within pair_still (m) of where it was at the first frame (the hand has moved,
// the objects have not); the draw above when there is none.
Batch SampleBatch(const Trajectories& data, int64_t batch, int64_t length, std::mt19937_64& rng,
                  int64_t pair_gap = 0, int64_t keep_begin = 0, int64_t keep_end = -1,
                  const std::vector<Window>* favoured = nullptr, double favoured_share = 0,
                  double pair_still = 0);

// One sub-trajectory of `length` frames from E episodes of T: with probability favoured_share
// one of `favoured` (not empty then), else uniformly. The draw SampleBatch makes for each row.
Window DrawWindow(int64_t E, int64_t T, int64_t length, std::mt19937_64& rng, const std::vector<Window>* favoured,
                  double favoured_share);

// The windows of `length` frames in which some object moves: its position at some frame is more
// than min_move (m) from where it was at the window's first frame. None without objects.
std::vector<Window> MovingWindows(const Trajectories& data, int64_t length, double min_move);

}  // namespace jepa_mpc::world_model
