#include "sim/ik.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace jepa_mpc::sim {

DifferentialIk::DifferentialIk(const Simulation& sim, IkOptions options)
    : model_(sim.model()), options_(options), scratch_(MakeData(sim.model())) {}

IkResult DifferentialIk::Solve(const Simulation& sim, const Eigen::VectorXd& seed,
                               const Eigen::Vector3d& target_pos,
                               const Eigen::Matrix3d* target_rot, const Eigen::VectorXd* rest) {
  const mjModel* m = sim.model();
  if (m != model_) throw std::invalid_argument("IK: simulation has another model than the solver");
  mjData* d = scratch_.get();
  const int n = sim.num_arm_joints();
  const auto& qadr = sim.arm_qpos_adr();
  const auto& dadr = sim.arm_dof_adr();
  const Eigen::VectorXd lower = sim.arm_lower(), upper = sim.arm_upper();
  std::memcpy(d->qpos, sim.data()->qpos, sizeof(mjtNum) * m->nq);

  const int rows = target_rot ? 6 : 3;
  Eigen::Matrix<double, 3, Eigen::Dynamic, Eigen::RowMajor> jacp(3, m->nv), jacr(3, m->nv);
  Eigen::MatrixXd J(rows, n);
  Eigen::VectorXd err(rows);
  IkResult result;
  result.q = seed.cwiseMax(lower).cwiseMin(upper);

  for (int it = 0;; ++it) {
    for (int i = 0; i < n; ++i) d->qpos[qadr[i]] = result.q[i];
    mj_kinematics(m, d);
    mj_comPos(m, d);
    const Eigen::Vector3d pos = sim.EePos(d);
    err.head<3>() = target_pos - pos;
    result.position_error = err.head<3>().norm();
    result.rotation_error = 0;
    if (target_rot) {
      const Eigen::Matrix3d rot = sim.EeRot(d);
      // Rotation error as an axis-angle vector in the world frame: log(R_target R^T).
      const Eigen::Matrix3d delta = (*target_rot) * rot.transpose();
      mjtNum quat[4], mat[9], vel[3];
      for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 3; ++c) mat[3 * r + c] = delta(r, c);
      mju_mat2Quat(quat, mat);
      mju_quat2Vel(vel, quat, 1.0);
      err.tail<3>() = options_.rotation_weight * Eigen::Map<Eigen::Vector3d>(vel);
      result.rotation_error = Eigen::Map<Eigen::Vector3d>(vel).norm();
    }
    result.iterations = it;
    result.converged = result.position_error < options_.position_tolerance &&
                       result.rotation_error < options_.rotation_tolerance;
    if (result.converged || it >= options_.max_iterations) break;

    sim.EeJacobian(d, jacp.data(), target_rot ? jacr.data() : nullptr);
    for (int i = 0; i < n; ++i) {
      J.block<3, 1>(0, i) = jacp.col(dadr[i]);
      if (target_rot) J.block<3, 1>(3, i) = options_.rotation_weight * jacr.col(dadr[i]);
    }
    const double lambda2 = options_.damping * options_.damping;
    const Eigen::MatrixXd JJt = J * J.transpose() + lambda2 * Eigen::MatrixXd::Identity(rows, rows);
    const Eigen::LDLT<Eigen::MatrixXd> ldlt(JJt);
    Eigen::VectorXd dq = J.transpose() * ldlt.solve(err);
    if (rest && options_.nullspace_gain > 0) {
      const Eigen::MatrixXd pinv = J.transpose() * ldlt.solve(Eigen::MatrixXd::Identity(rows, rows));
      const Eigen::MatrixXd null = Eigen::MatrixXd::Identity(n, n) - pinv * J;
      dq += null * (options_.nullspace_gain * (*rest - result.q));
    }
    const double norm = dq.cwiseAbs().maxCoeff();
    if (norm > options_.max_step) dq *= options_.max_step / norm;
    result.q = (result.q + dq).cwiseMax(lower).cwiseMin(upper);
  }
  return result;
}

}  // namespace jepa_mpc::sim
