#pragma once

// Exploration policies for data collection. Each episode draws one of two behaviours:
//  - temporally correlated random actions (an Ornstein-Uhlenbeck process in action space);
//  - moving toward random targets (joint configurations, or end-effector points; for scenes
//    with a block, targets around and through the block so that the data holds contacts, and
//    grasp attempts that close the gripper on the block and lift it).

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
};

class ExplorationPolicy {
 public:
  ExplorationPolicy(int action_dim, uint64_t seed, ExplorationOptions options = {});

  // Starts an episode (draws its behaviour). Call after task.Reset().
  void Reset(const Task& task);
  // Next normalised action in [-1, 1]^A for the task's current state.
  Eigen::VectorXd Act(const Task& task);

  enum class Mode { kNoise, kTargets };
  Mode mode() const { return mode_; }

 private:
  Eigen::VectorXd Noise(double sigma);
  void NewTarget(const Task& task);
  Eigen::VectorXd SeekJoints(const Task& task);
  Eigen::VectorXd SeekEndEffector(const Task& task);
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
};

}  // namespace jepa_mpc::sim
