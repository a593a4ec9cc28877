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

namespace {
// Where scripted pushes keep the block (m): inside the push task's goal region and a margin.
constexpr double kBlockXMin = 0.33, kBlockXMax = 0.67, kBlockYMax = 0.23;
constexpr double kAbove = 0.075;  // end-effector height that clears the block when moving over it
bool BlockInRegion(const Eigen::Vector3d& p) {
  return p.x() > kBlockXMin && p.x() < kBlockXMax && std::abs(p.y()) < kBlockYMax;
}
// Scenes with a block and an end-effector action space get the scripted pushes.
bool PushesBlock(const Task& task) {
  return task.sim().num_objects() > 0 && task.sim().spec().action_mode == ActionMode::kEndEffectorDelta;
}
}  // namespace

void ExplorationPolicy::Reset(const Task& task) {
  ou_.setZero();
  grip_ = -1;
  phase_ = 0;
  steps_left_ = 0;
  const bool block = PushesBlock(task);
  const double r = block ? U(0, 1) : 1.0;  // scenes without a block draw as they always did
  if (block && r < options_.push_fraction) {
    mode_ = Mode::kPushes;
    NewPush(task);
    return;
  }
  if (block && r < options_.push_fraction + options_.near_block_fraction) {
    mode_ = Mode::kNearBlock;
    return;
  }
  mode_ = U(0, 1) < options_.target_fraction ? Mode::kTargets : Mode::kNoise;
  if (mode_ == Mode::kTargets) NewTarget(task);
}


void ExplorationPolicy::NewPush(const Task& task) {
  const Eigen::Vector3d block = task.sim().object_pos(0);
  // A direction and length that keep the block in the region; the standoff is where the fingers
  // (about 2 cm around the end effector) sit beside a 5 cm block, plus a gap.
  const double standoff = 0.045 + U(0.005, 0.025);
  double reach = 0;
  for (int attempt = 0; attempt < 20; ++attempt) {
    const double angle = U(-M_PI, M_PI);
    push_dir_ = {std::cos(angle), std::sin(angle), 0};
    reach = U(0.02, 0.14);  // past the block centre: the block moves about reach + 4.5 cm
    if (BlockInRegion(block + (reach + 0.045) * push_dir_)) break;
    if (attempt == 19) {  // back toward the region's centre
      const Eigen::Vector3d to_centre(0.5 - block.x(), -block.y(), 0);
      push_dir_ = to_centre.normalized();
      reach = std::clamp(to_centre.norm() - 0.045 - U(0.0, 0.08), 0.0, 0.12);
    }
  }
  const Eigen::Vector3d side(-push_dir_.y(), push_dir_.x(), 0);
  const Eigen::Vector3d offset = U(-0.015, 0.015) * side;  // off-centre pushes turn the block
  const double height = U(0.012, 0.03);
  ee_target_ = block - standoff * push_dir_ + offset;
  ee_target_.z() = height;
  push_to_ = block + reach * push_dir_ + offset;
  push_to_.z() = height;
  push_speed_ = U(0.25, 0.7);
  grip_ = U(0, 1) < 0.7 ? 1 : -1;
  phase_ = 20;
  phase_steps_ = 0;
}

Eigen::VectorXd ExplorationPolicy::Toward(const Task& task, const Eigen::Vector3d& goal, double speed) {
  const Eigen::Vector3d ee = task.sim().ee_pos();
  const auto& scale = task.sim().spec().action_scale;
  Eigen::VectorXd a = Eigen::VectorXd::Zero(dim_);
  for (int i = 0; i < 3; ++i) a[i] = std::clamp((goal[i] - ee[i]) / scale[i], -speed, speed);
  if (dim_ == 4) a[3] = grip_;
  return a;
}

Eigen::VectorXd ExplorationPolicy::Push(const Task& task) {
  // Phases: 20 over the start point, 21 down beside the block, 22 push, 23 lift, then the next.
  const Eigen::Vector3d ee = task.sim().ee_pos();
  ++phase_steps_;
  Eigen::Vector3d goal;
  double speed = 1;
  switch (phase_) {
    case 20:
      goal = ee_target_;
      goal.z() = std::max(kAbove, ee_target_.z());
      // Low beside the block, rise before moving across: fingers sweeping into its top edge
      // squeeze it out sideways at speed.
      if (ee.z() < kAbove - 0.015 &&
          (ee - task.sim().object_pos(0)).head<2>().norm() < 0.1) {
        goal.head<2>() = ee.head<2>();
      }
      if (((ee - ee_target_).head<2>().norm() < 0.015 && ee.z() < goal.z() + 0.02) || phase_steps_ > 30) {
        phase_ = 21, phase_steps_ = 0;
      }
      break;
    case 21:
      // Down beside the block; the push starts only once the fingers are at its height.
      goal = ee_target_;
      if ((ee - goal).norm() < 0.012 || (phase_steps_ > 8 && ee.z() < goal.z() + 0.015)) {
        phase_ = 22, phase_steps_ = 0;
      } else if (phase_steps_ > 16) {
        NewPush(task);
      }
      break;
    case 22:
      goal = push_to_;
      speed = push_speed_;
      if ((ee - goal).norm() < 0.012 || phase_steps_ > 15) phase_ = 23, phase_steps_ = 0;
      break;
    default:
      goal = ee;
      goal.z() = kAbove + 0.01;
      if (phase_steps_ >= 2) NewPush(task);
      break;
  }
  return Toward(task, goal, speed);
}

Eigen::VectorXd ExplorationPolicy::NearBlock(const Task& task) {
  // A point near the block at about its height, redrawn every few steps, sought loosely.
  if (--steps_left_ <= 0) {
    const Eigen::Vector3d block = task.sim().object_pos(0);
    const double angle = U(-M_PI, M_PI), r = U(0.0, 0.1);
    ee_target_ = block + Eigen::Vector3d(r * std::cos(angle), r * std::sin(angle), 0);
    ee_target_.z() = U(0.015, 0.06);
    steps_left_ = static_cast<int>(U(4, 12));
    if (dim_ == 4 && U(0, 1) < 0.2) grip_ = -grip_;
  }
  return Toward(task, ee_target_, 1.0) * 0.6;
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
  // A block knocked out of the region is pushed back, so that the data keep showing it.
  if (mode_ != Mode::kPushes && PushesBlock(task) && !BlockInRegion(task.sim().object_pos(0))) {
    mode_ = Mode::kPushes;
    NewPush(task);
  }
  if (mode_ == Mode::kNoise) return Noise(options_.ou_sigma);
  if (mode_ == Mode::kPushes || mode_ == Mode::kNearBlock) {
    Eigen::VectorXd a = mode_ == Mode::kPushes ? Push(task) : NearBlock(task);
    a += Noise(mode_ == Mode::kPushes ? options_.push_noise : options_.ou_sigma);
    if (dim_ == 4) a[3] = grip_;
    return a.cwiseMax(-1.0).cwiseMin(1.0);
  }
  if (--steps_left_ <= 0) NewTarget(task);
  Eigen::VectorXd a = task.sim().spec().action_mode == ActionMode::kEndEffectorDelta
                          ? SeekEndEffector(task)
                          : SeekJoints(task);
  a += Noise(options_.target_noise);
  return a.cwiseMax(-1.0).cwiseMin(1.0);
}

}  // namespace jepa_mpc::sim
