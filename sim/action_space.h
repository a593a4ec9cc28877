#pragma once

// Normalised action spaces: every action is a vector in [-1, 1]^A that is turned into servo
// targets for one control period (spec().control_period seconds).

#include <Eigen/Core>
#include <memory>

#include "sim/ik.h"
#include "sim/simulation.h"

namespace jepa_mpc::sim {

class ActionSpace {
 public:
  virtual ~ActionSpace() = default;
  // The action space the robot spec asks for (spec.action_mode).
  static std::unique_ptr<ActionSpace> Make(const Simulation& sim);

  int dim() const { return dim_; }
  // Applies one action (dim() values; clipped to [-1, 1]) and advances one control period.
  // Throws std::invalid_argument on a wrong size or a non-finite value.
  void Step(Simulation& sim, const Eigen::VectorXd& action);

 protected:
  explicit ActionSpace(int dim) : dim_(dim) {}
  virtual void DoStep(Simulation& sim, const Eigen::VectorXd& action) = 0;

 private:
  int dim_;
};

// Joint space. kJointPositionDelta: target = qpos + a * scale (rad), held for the period.
// kJointVelocity: the target ramps from qpos at a * scale (rad/s) during the period.
class JointActionSpace : public ActionSpace {
 public:
  JointActionSpace(const Simulation& sim, bool velocity);

 protected:
  void DoStep(Simulation& sim, const Eigen::VectorXd& action) override;

 private:
  bool velocity_;
  Eigen::VectorXd scale_;
};

// End-effector Cartesian delta (dx, dy, dz [, gripper]): target = ee + a[0:3] * scale (m),
// clipped to the workspace box, reached by damped-least-squares IK that also holds the
// end-effector orientation of the home pose. a[3] in [-1, 1] maps to gripper open..closed
// (absent when the robot spec holds the gripper: gripper_hold).
class EndEffectorDeltaActionSpace : public ActionSpace {
 public:
  explicit EndEffectorDeltaActionSpace(const Simulation& sim);

  // IK target for the end effector (also used to move the arm to a pose at reset).
  IkResult SolvePose(const Simulation& sim, const Eigen::Vector3d& target);
  const Eigen::Matrix3d& hold_rotation() const { return hold_rot_; }

 protected:
  void DoStep(Simulation& sim, const Eigen::VectorXd& action) override;

 private:
  DifferentialIk ik_;
  Eigen::Matrix3d hold_rot_;
  Eigen::VectorXd home_;
  Eigen::Vector3d scale_;
  Eigen::Vector3d lo_, hi_;
};

}  // namespace jepa_mpc::sim
