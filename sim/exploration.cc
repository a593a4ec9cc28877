#include "sim/exploration.h"

#include <algorithm>
#include <cmath>

namespace jepa_mpc::sim {

using robots::ActionMode;

ExplorationPolicy::ExplorationPolicy(int action_dim, uint64_t seed, ExplorationOptions options)
    : dim_(action_dim), options_(options), rng_(seed), ou_(Eigen::VectorXd::Zero(action_dim)) {}

Eigen::VectorXd ExplorationPolicy::Noise(double sigma) {
  std::normal_distribution<double> n(0.0, 1.0);
  for (int i = 0; i < dim_; ++i) ou_[i] = (1.0 - options_.ou_theta) * ou_[i] + sigma * n(rng_);
  ou_ = ou_.cwiseMax(-1.0).cwiseMin(1.0);
  return ou_;
}

void ExplorationPolicy::Reset(const Task& task) {
  ou_.setZero();
  mode_ = U(0, 1) < options_.target_fraction ? Mode::kTargets : Mode::kNoise;
  grip_ = -1;
  phase_ = 0;
  steps_left_ = 0;
  if (mode_ == Mode::kTargets) NewTarget(task);
}

void ExplorationPolicy::NewTarget(const Task& task) {
  const Simulation& sim = task.sim();
  steps_left_ = static_cast<int>(U(8, 25));
  if (sim.spec().action_mode != ActionMode::kEndEffectorDelta) {
    const int n = sim.num_arm_joints();
    joint_target_.resize(n);
    for (int i = 0; i < n; ++i) {
      const double lo = sim.arm_limited(i) ? sim.arm_lower()[i] : -M_PI;
      const double hi = sim.arm_limited(i) ? sim.arm_upper()[i] : M_PI;
      joint_target_[i] = U(lo, hi);
    }
    return;
  }
  const auto& w = sim.spec().workspace;
  ee_target_ = {U(w[0], w[1]), U(w[2], w[3]), U(w[4], w[5])};
  phase_ = 0;
  if (sim.num_objects() > 0) {
    const Eigen::Vector3d block = sim.object_pos(0);
    const double r = U(0, 1);
    if (r < 0.4) {
      // Push: start beside the block at its height, then drive through it.
      const double angle = U(-M_PI, M_PI);
      const Eigen::Vector3d dir(std::cos(angle), std::sin(angle), 0);
      ee_target_ = block - 0.08 * dir;
      ee_target_.z() = U(w[4], 0.03);
      joint_target_ = Eigen::Vector3d(block + 0.12 * dir);  // where to push to afterwards
      joint_target_[2] = ee_target_.z();
      phase_ = 10;
    } else if (r < 0.7 && dim_ == 4) {
      phase_ = 1;  // grasp attempt, see SeekEndEffector
      phase_steps_ = 0;
    }
  }
}

Eigen::VectorXd ExplorationPolicy::SeekJoints(const Task& task) {
  const Simulation& sim = task.sim();
  const Eigen::VectorXd q = sim.arm_qpos();
  const auto& scale = sim.spec().action_scale;
  Eigen::VectorXd a(dim_);
  for (int i = 0; i < dim_; ++i) {
    double err = joint_target_[i] - q[i];
    if (!sim.arm_limited(i)) err = std::remainder(err, 2 * M_PI);
    a[i] = err / scale[i];
  }
  return a;
}

Eigen::VectorXd ExplorationPolicy::SeekEndEffector(const Task& task) {
  const Simulation& sim = task.sim();
  const Eigen::Vector3d ee = sim.ee_pos();
  const auto& scale = sim.spec().action_scale;
  Eigen::Vector3d goal = ee_target_;
  if (phase_ >= 1 && phase_ < 10) {
    // Grasp attempt: above the block, open; descend; close; lift; carry; release.
    const Eigen::Vector3d block = sim.object_pos(0);
    steps_left_ = 2;  // the phases choose the targets; give up after 80 steps
    ++phase_steps_;
    auto next = [&](int phase) { phase_ = phase, phase_steps_ = 0; };
    switch (phase_) {
      case 1:
        goal = block + Eigen::Vector3d(0, 0, 0.08);
        grip_ = -1;
        if ((ee - goal).norm() < 0.02) next(2);
        break;
      case 2:
        goal = block + Eigen::Vector3d(0, 0, 0.005);
        if ((ee - goal).norm() < 0.012 || phase_steps_ > 20) next(3);
        break;
      case 3:
        goal = ee;
        grip_ = 1;
        if (phase_steps_ >= 4) next(4), ee_target_ = ee + Eigen::Vector3d(0, 0, U(0.08, 0.2));
        break;
      case 4:
        if ((ee - goal).norm() < 0.02 || phase_steps_ > 15) {
          next(5);
          const auto& w = sim.spec().workspace;
          ee_target_ = {U(w[0], w[1]), U(w[2], w[3]), U(0.03, 0.2)};
        }
        break;
      case 5:
        if ((ee - goal).norm() < 0.02 || phase_steps_ > 25) next(6);
        break;
      default:
        grip_ = -1;
        goal = ee;
        if (phase_steps_ >= 4) steps_left_ = 0;
        break;
    }
    if (phase_steps_ > 80) steps_left_ = 0;
  } else if (phase_ == 10 && (ee - ee_target_).norm() < 0.02) {
    // Push phase two: drive through the block.
    ee_target_ = joint_target_.head<3>();
    phase_ = 11;
    steps_left_ = 15;
  }
  Eigen::VectorXd a(dim_);
  for (int i = 0; i < 3; ++i) a[i] = (goal[i] - ee[i]) / scale[i];
  if (dim_ == 4) {
    if (phase_ == 0 && U(0, 1) < 0.1) grip_ = -grip_;
    a[3] = grip_;
  }
  return a;
}

Eigen::VectorXd ExplorationPolicy::Act(const Task& task) {
  if (mode_ == Mode::kNoise) return Noise(options_.ou_sigma);
  if (--steps_left_ <= 0) NewTarget(task);
  Eigen::VectorXd a = task.sim().spec().action_mode == ActionMode::kEndEffectorDelta
                          ? SeekEndEffector(task)
                          : SeekJoints(task);
  a += Noise(options_.target_noise);
  return a.cwiseMax(-1.0).cwiseMin(1.0);
}

}  // namespace jepa_mpc::sim
