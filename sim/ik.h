#pragma once

// Damped-least-squares differential inverse kinematics for the arm of a Simulation, with
// Jacobians from MuJoCo, a null-space pull toward a rest pose and joint limits respected.

#include <Eigen/Core>

#include "sim/simulation.h"

namespace jepa_mpc::sim {

struct IkOptions {
  int max_iterations = 200;
  double position_tolerance = 1e-4;  // m
  double rotation_tolerance = 1e-3;  // rad
  double damping = 1e-2;             // lambda of (J J^T + lambda^2 I)
  double rotation_weight = 0.3;      // m per rad in the stacked error
  double nullspace_gain = 0.05;      // pull toward the rest pose, per iteration
  double max_step = 0.2;             // largest joint change per iteration (rad)
};

struct IkResult {
  Eigen::VectorXd q;             // (n_arm) joint angles, within limits
  double position_error = 0;     // m
  double rotation_error = 0;     // rad (0 when orientation is free)
  int iterations = 0;
  bool converged = false;
};

class DifferentialIk {
 public:
  // Works on simulations of sim's model (scratch data is allocated for it).
  explicit DifferentialIk(const Simulation& sim, IkOptions options = {});

  // Joint angles that put the end-effector site of sim at target_pos (world, m) and, when
  // target_rot is given, at that orientation. Starts from seed (n_arm); other joints stay as in
  // sim's data, which is not changed. rest (n_arm, optional) is the posture the redundant
  // directions are pulled toward.
  IkResult Solve(const Simulation& sim, const Eigen::VectorXd& seed,
                 const Eigen::Vector3d& target_pos,
                 const Eigen::Matrix3d* target_rot = nullptr,
                 const Eigen::VectorXd* rest = nullptr);

 private:
  const mjModel* model_;
  IkOptions options_;
  DataPtr scratch_;
};

}  // namespace jepa_mpc::sim
