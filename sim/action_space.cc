#include "sim/action_space.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace jepa_mpc::sim {

using robots::ActionMode;

std::unique_ptr<ActionSpace> ActionSpace::Make(const Simulation& sim) {
  switch (sim.spec().action_mode) {
    case ActionMode::kJointPositionDelta:
      return std::make_unique<JointActionSpace>(sim, false);
    case ActionMode::kJointVelocity:
      return std::make_unique<JointActionSpace>(sim, true);
    case ActionMode::kEndEffectorDelta:
      return std::make_unique<EndEffectorDeltaActionSpace>(sim);
  }
  throw std::invalid_argument("unknown action mode");
}

void ActionSpace::Step(Simulation& sim, const Eigen::VectorXd& action) {
  if (action.size() != dim_) {
    throw std::invalid_argument("action has " + std::to_string(action.size()) +
                                " values, expected " + std::to_string(dim_));
  }
  if (!action.allFinite()) throw std::invalid_argument("action contains NaN or infinity");
  DoStep(sim, action.cwiseMax(-1.0).cwiseMin(1.0));
}

JointActionSpace::JointActionSpace(const Simulation& sim, bool velocity)
    : ActionSpace(static_cast<int>(sim.spec().action_scale.size())), velocity_(velocity) {
  if (dim() != sim.num_arm_joints()) {
    throw std::invalid_argument("joint action space of '" + sim.spec().name + "' needs " +
                                std::to_string(sim.num_arm_joints()) + " action scales, got " +
                                std::to_string(dim()));
  }
  scale_ = Eigen::Map<const Eigen::VectorXd>(sim.spec().action_scale.data(), dim());
}

void JointActionSpace::DoStep(Simulation& sim, const Eigen::VectorXd& action) {
  const Eigen::VectorXd q0 = sim.arm_qpos();
  if (!velocity_) {
    sim.SetArmTargets(q0 + action.cwiseProduct(scale_));
    sim.Advance();
    return;
  }
  const double dt = sim.model()->opt.timestep;
  for (int i = 1; i <= sim.substeps(); ++i) {
    sim.SetArmTargets(q0 + action.cwiseProduct(scale_) * (dt * i));
    sim.Substep();
  }
}

EndEffectorDeltaActionSpace::EndEffectorDeltaActionSpace(const Simulation& sim)
    : ActionSpace(sim.has_gripper() && sim.spec().gripper_hold < 0 ? 4 : 3), ik_(sim) {
  const auto& spec = sim.spec();
  if (static_cast<int>(spec.action_scale.size()) != dim()) {
    throw std::invalid_argument("end-effector action space of '" + spec.name + "' needs " +
                                std::to_string(dim()) + " action scales, got " +
                                std::to_string(spec.action_scale.size()));
  }
  scale_ = Eigen::Vector3d(spec.action_scale[0], spec.action_scale[1], spec.action_scale[2]);
  lo_ = Eigen::Vector3d(spec.workspace[0], spec.workspace[2], spec.workspace[4]);
  hi_ = Eigen::Vector3d(spec.workspace[1], spec.workspace[3], spec.workspace[5]);
  home_ = Eigen::Map<const Eigen::VectorXd>(spec.home_qpos.data(), spec.home_qpos.size());
  // The orientation to hold is the one at the home pose.
  Simulation home(sim);
  home.Reset();
  hold_rot_ = home.ee_rot();
}

IkResult EndEffectorDeltaActionSpace::SolvePose(const Simulation& sim,
                                                const Eigen::Vector3d& target) {
  return ik_.Solve(sim, sim.arm_qpos(), target.cwiseMax(lo_).cwiseMin(hi_), &hold_rot_, &home_);
}

void EndEffectorDeltaActionSpace::DoStep(Simulation& sim, const Eigen::VectorXd& action) {
  const Eigen::Vector3d target = sim.ee_pos() + action.head<3>().cwiseProduct(scale_);
  const Eigen::VectorXd q = SolvePose(sim, target).q;
  if (dim() == 4) sim.SetGripper(0.5 * (action[3] + 1.0));
  if (sim.spec().target_ramp > 0) {
    sim.Advance(sim.arm_qpos(), q, sim.spec().target_ramp);
  } else {
    sim.SetArmTargets(q);
    sim.Advance();
  }
}

}  // namespace jepa_mpc::sim
