#include "sim/simulation.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace jepa_mpc::sim {

namespace {

ModelPtr LoadSpecModel(const robots::RobotSpec& spec) {
  if (!spec.mjcf_file.empty()) return LoadModelFromFile(spec.mjcf_file);
  return LoadModelFromString(spec.mjcf, "MJCF of robot '" + spec.name + "'");
}

// What the spec asks of the model beyond its MJCF: an offscreen buffer of at least the spec's
// size, joint ranges for joints it leaves unlimited, and the free camera placed where the
// robot's added camera looks from.
ModelPtr AdaptModel(const robots::RobotSpec& spec, ModelPtr model) {
  mjModel* m = model.get();
  if (!m) throw std::invalid_argument("robot '" + spec.name + "': no model");
  m->vis.global.offwidth = std::max(m->vis.global.offwidth, spec.offscreen_size);
  m->vis.global.offheight = std::max(m->vis.global.offheight, spec.offscreen_size);
  if (spec.offscreen_samples < -1 || spec.offscreen_samples > 16) {
    throw std::invalid_argument("robot '" + spec.name + "': anti-aliasing samples " +
                                std::to_string(spec.offscreen_samples) +
                                " is out of range, expected 0..16 (or -1: the robot model's own)");
  }
  if (spec.offscreen_samples >= 0) m->vis.quality.offsamples = spec.offscreen_samples;
  for (const auto& [joint, range] : spec.joint_ranges) {
    const int j = RequireId(m, mjOBJ_JOINT, joint);
    if (!(range[0] < range[1])) {
      throw std::invalid_argument("range of joint '" + joint + "' is empty: " + std::to_string(range[0]) +
                                  " .. " + std::to_string(range[1]));
    }
    m->jnt_limited[j] = 1;
    m->jnt_range[2 * j] = range[0];
    m->jnt_range[2 * j + 1] = range[1];
  }
  if (spec.arm_drive == robots::Drive::kMotor) {
    // The PD layer's damping is MuJoCo's joint damping, which the integrator treats implicitly:
    // stable at any gain, where damping computed into ctrl each step is not.
    for (size_t i = 0; i < spec.arm_joints.size() && i < spec.pd_kd.size(); ++i) {
      m->dof_damping[m->jnt_dofadr[RequireId(m, mjOBJ_JOINT, spec.arm_joints[i])]] += spec.pd_kd[i];
    }
  }
  if (std::find(spec.cameras.begin(), spec.cameras.end(), robots::kAddedCamera) != spec.cameras.end()) {
    // The renderer's free camera (mjv_defaultFreeCamera) looks at stat.center from
    // 1.5 * stat.extent, at the model's azimuth and elevation.
    const auto& c = spec.added_camera;
    for (int k = 0; k < 3; ++k) m->stat.center[k] = c.lookat[k];
    m->stat.extent = c.distance / 1.5;
    m->vis.global.azimuth = static_cast<float>(c.azimuth);
    m->vis.global.elevation = static_cast<float>(c.elevation);
  }
  return model;
}

}  // namespace

Simulation::Simulation(robots::RobotSpec spec) : Simulation(spec, LoadSpecModel(spec)) {}

Simulation::Simulation(robots::RobotSpec spec, ModelPtr model)
    : spec_(std::move(spec)), model_(AdaptModel(spec_, std::move(model))) {
  data_ = MakeData(model_.get());
  Resolve();
  Reset();
}

Simulation::Simulation(const Simulation& other)
    : spec_(other.spec_), model_(other.model_), data_(MakeData(other.model_.get())) {
  mj_copyData(data_.get(), model_.get(), other.data_.get());
  Resolve();
  targets_ = other.targets_;
}

void Simulation::Resolve() {
  const mjModel* m = model_.get();
  const int n = static_cast<int>(spec_.arm_joints.size());
  if (n == 0 || spec_.arm_actuators.size() != spec_.arm_joints.size()) {
    throw std::invalid_argument("robot spec '" + spec_.name +
                                "' needs one actuator per arm joint, and at least one joint");
  }
  if (static_cast<int>(spec_.home_qpos.size()) != n) {
    throw std::invalid_argument("robot spec '" + spec_.name + "' home pose has " +
                                std::to_string(spec_.home_qpos.size()) + " values, expected " +
                                std::to_string(n));
  }
  arm_qpos_adr_.clear();
  arm_dof_adr_.clear();
  arm_actuators_.clear();
  lower_.resize(n);
  upper_.resize(n);
  limited_.assign(n, false);
  gear_.resize(n);
  for (int i = 0; i < n; ++i) {
    const int j = RequireId(m, mjOBJ_JOINT, spec_.arm_joints[i]);
    if (m->jnt_type[j] != mjJNT_HINGE && m->jnt_type[j] != mjJNT_SLIDE) {
      throw std::invalid_argument("arm joint '" + spec_.arm_joints[i] + "' is not a hinge or slide joint");
    }
    arm_qpos_adr_.push_back(m->jnt_qposadr[j]);
    arm_dof_adr_.push_back(m->jnt_dofadr[j]);
    limited_[i] = m->jnt_limited[j];
    lower_[i] = limited_[i] ? m->jnt_range[2 * j] : -INFINITY;
    upper_[i] = limited_[i] ? m->jnt_range[2 * j + 1] : INFINITY;
    const int a = RequireId(m, mjOBJ_ACTUATOR, spec_.arm_actuators[i]);
    if (m->actuator_trntype[a] != mjTRN_JOINT || m->actuator_trnid[2 * a] != j) {
      throw std::invalid_argument("actuator '" + spec_.arm_actuators[i] + "' does not drive arm joint '" +
                                  spec_.arm_joints[i] + "'");
    }
    arm_actuators_.push_back(a);
    gear_[i] = m->actuator_gear[6 * a];
    if (gear_[i] == 0) throw std::invalid_argument("actuator '" + spec_.arm_actuators[i] + "' has gear 0");
  }
  if (spec_.arm_drive != robots::Drive::kPosition &&
      (static_cast<int>(spec_.pd_kp.size()) != n ||
       (spec_.arm_drive == robots::Drive::kMotor && static_cast<int>(spec_.pd_kd.size()) != n))) {
    throw std::invalid_argument("robot spec '" + spec_.name + "': a " + robots::DriveName(spec_.arm_drive) +
                                "-driven arm needs PD gains for each of its " + std::to_string(n) + " joints");
  }
  targets_ = Eigen::VectorXd::Zero(n);
  gripper_actuator_ = -1;
  gripper_qpos_adr_ = -1;
  if (!spec_.gripper_actuator.empty()) {
    gripper_actuator_ = RequireId(m, mjOBJ_ACTUATOR, spec_.gripper_actuator);
    const int j = m->actuator_trnid[2 * gripper_actuator_];
    gripper_qpos_adr_ = m->jnt_qposadr[j];
  }
  ee_site_ = ee_body_ = -1;
  if (!spec_.end_effector_site.empty()) {
    ee_site_ = RequireId(m, mjOBJ_SITE, spec_.end_effector_site);
  } else if (!spec_.end_effector_body.empty()) {
    ee_body_ = RequireId(m, mjOBJ_BODY, spec_.end_effector_body);
    ee_offset_ = Eigen::Vector3d(spec_.end_effector_offset[0], spec_.end_effector_offset[1],
                                 spec_.end_effector_offset[2]);
  } else {
    throw std::invalid_argument("robot spec '" + spec_.name + "' names no end-effector site or body");
  }
  if (spec_.cameras.empty()) throw std::invalid_argument("robot spec '" + spec_.name + "' has no camera");
  cameras_.clear();
  for (const auto& name : spec_.cameras) {
    cameras_.push_back(name == robots::kAddedCamera && mj_name2id(m, mjOBJ_CAMERA, name.c_str()) < 0
                           ? -1  // the free camera, placed by AdaptModel
                           : RequireId(m, mjOBJ_CAMERA, name));
  }
  object_bodies_.clear();
  object_qpos_adr_.clear();
  object_dof_adr_.clear();
  for (const auto& name : spec_.objects) {
    const int b = RequireId(m, mjOBJ_BODY, name);
    const int j = m->body_jntadr[b];
    if (j < 0 || m->jnt_type[j] != mjJNT_FREE) {
      throw std::invalid_argument("object '" + name + "' is not a free body");
    }
    object_bodies_.push_back(b);
    object_qpos_adr_.push_back(m->jnt_qposadr[j]);
    object_dof_adr_.push_back(m->jnt_dofadr[j]);
  }
  const double ratio = spec_.control_period / m->opt.timestep;
  substeps_ = static_cast<int>(std::lround(ratio));
  if (substeps_ < 1 || std::abs(ratio - substeps_) > 1e-6) {
    throw std::invalid_argument("control period " + std::to_string(spec_.control_period) +
                                " s is not a multiple of the timestep " +
                                std::to_string(m->opt.timestep) + " s");
  }
}

void Simulation::Reset() {
  mj_resetData(model_.get(), data_.get());
  SetArmPose(Eigen::Map<const Eigen::VectorXd>(spec_.home_qpos.data(), spec_.home_qpos.size()));
  SetGripper(0.0);
  if (spec_.gripper_hold >= 0 && has_gripper()) {
    // A held gripper starts where it is held: let its servo close it (the arm servos hold the
    // arm), then start from rest at time 0.
    SetGripper(spec_.gripper_hold);
    for (int i = 0; i < 100; ++i) Substep();
    mju_zero(data_->qvel, model_->nv);
    data_->time = 0;
  }
  mj_forward(model_.get(), data_.get());
}

void Simulation::SetArmPose(const Eigen::VectorXd& q) {
  for (int i = 0; i < num_arm_joints(); ++i) {
    data_->qpos[arm_qpos_adr_[i]] = q[i];
    data_->qvel[arm_dof_adr_[i]] = 0;
  }
  SetArmTargets(q);
  mj_forward(model_.get(), data_.get());
}

void Simulation::SetObjectPosition(int object, const Eigen::Vector3d& pos, double yaw) {
  double* q = data_->qpos + object_qpos_adr_.at(object);
  q[0] = pos.x();
  q[1] = pos.y();
  q[2] = pos.z();
  q[3] = std::cos(yaw / 2);
  q[4] = q[5] = 0;
  q[6] = std::sin(yaw / 2);
  for (int k = 0; k < 6; ++k) data_->qvel[object_dof_adr_[object] + k] = 0;
  mj_forward(model_.get(), data_.get());
}

void Simulation::SetArmTargets(const Eigen::VectorXd& q) {
  for (int i = 0; i < num_arm_joints(); ++i) {
    targets_[i] = std::clamp(q[i], lower_[i], upper_[i]);
    // A position servo's length is gear * q.
    if (spec_.arm_drive == robots::Drive::kPosition) data_->ctrl[arm_actuators_[i]] = gear_[i] * targets_[i];
  }
}

void Simulation::SetGripper(double g) {
  if (gripper_actuator_ < 0) return;
  g = std::clamp(g, 0.0, 1.0);
  data_->ctrl[gripper_actuator_] =
      spec_.gripper_range[0] + g * (spec_.gripper_range[1] - spec_.gripper_range[0]);
}

void Simulation::Substep() {
  const mjModel* m = model_.get();
  mjData* d = data_.get();
  mj_step1(m, d);
  for (int dof : arm_dof_adr_) d->qfrc_applied[dof] = d->qfrc_bias[dof];
  if (spec_.object_drag_linear > 0 || spec_.object_drag_angular > 0) {
    // A free joint's velocity: the linear part in the world frame, the angular in the body's.
    for (int dof : object_dof_adr_) {
      for (int k = 0; k < 2; ++k) d->qfrc_applied[dof + k] = -spec_.object_drag_linear * d->qvel[dof + k];
      for (int k = 3; k < 6; ++k) d->qfrc_applied[dof + k] = -spec_.object_drag_angular * d->qvel[dof + k];
    }
  }
  if (spec_.arm_drive != robots::Drive::kPosition) {
    for (int i = 0; i < num_arm_joints(); ++i) {
      const double err = targets_[i] - d->qpos[arm_qpos_adr_[i]];
      const int a = arm_actuators_[i];
      // Motor: a joint torque through gear and gain (its damping term is the joint damping added
      // in AdaptModel); velocity servo: a joint speed. MuJoCo clamps ctrl to the ctrlrange.
      d->ctrl[a] = spec_.arm_drive == robots::Drive::kMotor
                       ? spec_.pd_kp[i] * err / (gear_[i] * m->actuator_gainprm[mjNGAIN * a])
                       : spec_.pd_kp[i] * err * gear_[i];
    }
  }
  mj_step2(m, d);
}

void Simulation::Advance() { Advance(Eigen::VectorXd(), Eigen::VectorXd(), 0); }

void Simulation::Advance(const Eigen::VectorXd& from, const Eigen::VectorXd& to, double ramp) {
  const int ramp_steps = static_cast<int>(std::lround(std::clamp(ramp, 0.0, 1.0) * substeps_));
  for (int i = 0; i < substeps_; ++i) {
    if (i < ramp_steps) SetArmTargets(from + (to - from) * (static_cast<double>(i + 1) / ramp_steps));
    Substep();
  }
  if (data_->warning[mjWARN_BADQACC].number > 0) {
    data_->warning[mjWARN_BADQACC].number = 0;
    throw SimulationUnstable("simulation of '" + spec_.name +
                             "' became unstable (bad accelerations) at t=" +
                             std::to_string(data_->time) + " s");
  }
}

Eigen::VectorXd Simulation::arm_qpos() const {
  Eigen::VectorXd q(num_arm_joints());
  for (int i = 0; i < num_arm_joints(); ++i) q[i] = data_->qpos[arm_qpos_adr_[i]];
  return q;
}

double Simulation::gripper_opening() const {
  return gripper_qpos_adr_ >= 0 ? data_->qpos[gripper_qpos_adr_] : 0.0;
}

std::string CameraLabel(const std::vector<std::string>& cameras) {
  std::string label;
  for (const auto& name : cameras) label += (label.empty() ? "" : "+") + name;
  return label;
}

std::vector<std::string> ParseCameraLabel(const std::string& label) {
  std::vector<std::string> cameras;
  for (size_t start = 0;;) {
    const size_t end = label.find('+', start);
    cameras.push_back(label.substr(start, end - start));
    if (cameras.back().empty()) throw std::invalid_argument("cameras '" + label + "' name an empty camera");
    if (end == std::string::npos) return cameras;
    start = end + 1;
  }
}

std::string Simulation::camera_label() const { return CameraLabel(spec_.cameras); }

int Simulation::antialias() const { return model_->vis.quality.offsamples; }

std::vector<double> Simulation::joint_state() const {
  const Eigen::VectorXd q = arm_qpos();
  std::vector<double> s(q.data(), q.data() + q.size());
  if (has_gripper()) s.push_back(gripper_opening());
  return s;
}

using RowMajor3 = Eigen::Matrix<double, 3, 3, Eigen::RowMajor>;  // MuJoCo's 3x3 matrices

Eigen::Vector3d Simulation::EePos(const mjData* d) const {
  if (ee_site_ >= 0) return Eigen::Map<const Eigen::Vector3d>(d->site_xpos + 3 * ee_site_);
  return Eigen::Map<const Eigen::Vector3d>(d->xpos + 3 * ee_body_) +
         Eigen::Map<const RowMajor3>(d->xmat + 9 * ee_body_) * ee_offset_;
}

Eigen::Matrix3d Simulation::EeRot(const mjData* d) const {
  if (ee_site_ >= 0) return Eigen::Map<const RowMajor3>(d->site_xmat + 9 * ee_site_);
  return Eigen::Map<const RowMajor3>(d->xmat + 9 * ee_body_);
}

void Simulation::EeJacobian(const mjData* d, double* jacp, double* jacr) const {
  if (ee_site_ >= 0) return mj_jacSite(model_.get(), d, jacp, jacr, ee_site_);
  const Eigen::Vector3d p = EePos(d);
  mj_jac(model_.get(), d, jacp, jacr, p.data(), ee_body_);
}

Eigen::Vector3d Simulation::object_pos(int i) const {
  return Eigen::Map<const Eigen::Vector3d>(data_->xpos + 3 * object_bodies_.at(i));
}

double Simulation::object_yaw(int i) const {
  const double* q = data_->xquat + 4 * object_bodies_.at(i);  // w, x, y, z
  return std::atan2(2 * (q[0] * q[3] + q[1] * q[2]), 1 - 2 * (q[2] * q[2] + q[3] * q[3]));
}

SimState Simulation::GetState() const {
  const mjModel* m = model_.get();
  const mjData* d = data_.get();
  SimState s;
  s.time = d->time;
  s.qpos.assign(d->qpos, d->qpos + m->nq);
  s.qvel.assign(d->qvel, d->qvel + m->nv);
  s.act.assign(d->act, d->act + m->na);
  s.ctrl.assign(d->ctrl, d->ctrl + m->nu);
  s.arm_targets.assign(targets_.data(), targets_.data() + targets_.size());
  return s;
}

void Simulation::SetState(const SimState& s) {
  const mjModel* m = model_.get();
  mjData* d = data_.get();
  if (static_cast<int>(s.qpos.size()) != m->nq || static_cast<int>(s.qvel.size()) != m->nv ||
      static_cast<int>(s.act.size()) != m->na || static_cast<int>(s.ctrl.size()) != m->nu ||
      (!s.arm_targets.empty() && static_cast<int>(s.arm_targets.size()) != num_arm_joints())) {
    throw std::invalid_argument("simulation state does not match model '" + spec_.name + "'");
  }
  d->time = s.time;
  std::copy(s.qpos.begin(), s.qpos.end(), d->qpos);
  std::copy(s.qvel.begin(), s.qvel.end(), d->qvel);
  std::copy(s.act.begin(), s.act.end(), d->act);
  std::copy(s.ctrl.begin(), s.ctrl.end(), d->ctrl);
  if (!s.arm_targets.empty()) targets_ = Eigen::Map<const Eigen::VectorXd>(s.arm_targets.data(), num_arm_joints());
  mj_forward(m, d);
}

}  // namespace jepa_mpc::sim
