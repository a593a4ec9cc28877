#pragma once

// Exploration policies for data collection. Each episode draws one behaviour:
//  - temporally correlated random actions (an Ornstein-Uhlenbeck process in action space);
//  - moving toward random targets (joint configurations, or end-effector points; for scenes
//    with a block, targets around and through the block, and grasp attempts that close the
//    gripper on the block and lift it);
//  - in scenes with a block: scripted pushes with noise (approach the block from a random side
//    above it, descend, push it a random distance, lift, repeat), or random actions kept near the
//    block at its height, so that the block moves in most episodes and in many frames.

#include <Eigen/Core>
#include <cstdint>
#include <random>

#include "sim/task.h"

namespace jepa_mpc::sim {

struct ExplorationOptions {
  double ou_theta = 0.15;        // pull toward zero per step
  double ou_sigma = 0.3;         // noise per step (stationary std ~0.57)
  double target_fraction = 0.5;  // probability an episode seeks targets instead of OU noise
  double target_noise = 0.2;     // OU noise added on top of target seeking
  // Scenes with a block: the probability of an episode of scripted pushes and of one of random
  // actions near the block; the rest split between OU noise and targets as above.
  double push_fraction = 0.8;
  double near_block_fraction = 0.12;
  double push_noise = 0.1;       // OU noise on scripted pushes (stationary std ~0.19)
};

class ExplorationPolicy {
 public:
  ExplorationPolicy(int action_dim, uint64_t seed, ExplorationOptions options = {});

  // Starts an episode (draws its behaviour). Call after task.Reset().
  void Reset(const Task& task);
  // Next normalised action in [-1, 1]^A for the task's current state.
  Eigen::VectorXd Act(const Task& task);

  enum class Mode { kNoise, kTargets, kPushes, kNearBlock };
  Mode mode() const { return mode_; }

 private:
  Eigen::VectorXd Noise(double sigma);
  void NewTarget(const Task& task);
  Eigen::VectorXd SeekJoints(const Task& task);
  Eigen::VectorXd SeekEndEffector(const Task& task);
  void NewPush(const Task& task);
  Eigen::VectorXd Push(const Task& task);
  Eigen::VectorXd NearBlock(const Task& task);
  // The end-effector action (and gripper) that moves toward goal, at most `speed` of the
  // largest step per axis.
  Eigen::VectorXd Toward(const Task& task, const Eigen::Vector3d& goal, double speed);
  double U(double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng_); }

  int dim_;
  ExplorationOptions options_;
  std::mt19937_64 rng_;
  Mode mode_ = Mode::kNoise;
  Eigen::VectorXd ou_;
  Eigen::VectorXd joint_target_;
  Eigen::Vector3d ee_target_ = Eigen::Vector3d::Zero();
  double grip_ = -1;      // gripper command in [-1, 1]
  int steps_left_ = 0;    // steps before a new target is drawn
  int phase_ = 0;         // 1-6: grasp attempt phases, 10-11: push, 0: free target
  int phase_steps_ = 0;   // steps spent in the current phase
  // Scripted pushes: the direction (unit, in the table plane), the point to push to, the speed.
  Eigen::Vector3d push_dir_ = Eigen::Vector3d::UnitX();
  Eigen::Vector3d push_to_ = Eigen::Vector3d::Zero();
  double push_speed_ = 1;
};

}  // namespace jepa_mpc::sim
