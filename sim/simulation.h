#pragma once

// A robot scene in MuJoCo: the model (shared, read-only) and one mjData, with the names of the
// robot spec resolved to ids once. Copies share the model and duplicate the data, so an oracle
// can roll candidates out in parallel copies.

#include <Eigen/Core>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "robots/robot_spec.h"
#include "sim/mj.h"

namespace jepa_mpc::sim {

// The physics diverged (MuJoCo's bad-acceleration warning): the state is not usable. Rollouts
// that search over actions (the oracle) treat it as an infinite cost; anything else is an error.
class SimulationUnstable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Everything needed to put a scene back where it was.
struct SimState {
  double time = 0;
  std::vector<double> qpos;  // (nq)
  std::vector<double> qvel;  // (nv)
  std::vector<double> act;   // (na)
  std::vector<double> ctrl;  // (nu)
  std::vector<double> arm_targets;  // (n_arm) joint targets the arm's drive holds
};

// The label datasets and checkpoints give a list of cameras: their names joined by "+"
// ("front+side"), and back; ParseCameraLabel throws std::invalid_argument for an empty name.
std::string CameraLabel(const std::vector<std::string>& cameras);
std::vector<std::string> ParseCameraLabel(const std::string& label);

class Simulation {
 public:
  // Compiles spec.mjcf and resolves every name in the spec. Throws std::runtime_error for a bad
  // MJCF and std::invalid_argument for a spec that does not match the model.
  explicit Simulation(robots::RobotSpec spec);
  // Uses a compiled model (e.g. loaded from a user's MJCF file) with the spec's names. The model
  // is adapted to the spec first: offscreen buffer, joint ranges, the added camera's placement.
  Simulation(robots::RobotSpec spec, ModelPtr model);
  Simulation(const Simulation& other);
  Simulation& operator=(const Simulation&) = delete;

  const robots::RobotSpec& spec() const { return spec_; }
  const mjModel* model() const { return model_.get(); }
  mjData* data() { return data_.get(); }
  const mjData* data() const { return data_.get(); }

  // Home pose: arm at spec().home_qpos, servos holding it, gripper open, objects at their
  // MJCF positions, velocities zero; kinematics computed.
  void Reset();
  // Sets arm joint angles (rad, n_arm) and the servo targets to them, zero velocity, forward.
  void SetArmPose(const Eigen::VectorXd& q);
  // Sets a free body's position (m), turned by yaw (rad) about the vertical (0: identity
  // orientation), zero velocity; forward.
  void SetObjectPosition(int object, const Eigen::Vector3d& pos, double yaw = 0);

  // Arm joint targets (rad, n_arm), clipped to the joint limits: servo set-points, or what the
  // PD layer of a motor- or velocity-driven arm steers to.
  void SetArmTargets(const Eigen::VectorXd& q);
  const Eigen::VectorXd& arm_targets() const { return targets_; }
  // Gripper servo target from g in [0, 1]: 0 open, 1 closed.
  void SetGripper(double g);
  // One physics step with gravity and Coriolis compensation on the arm joints (and the PD layer's
  // controls for a motor- or velocity-driven arm).
  void Substep();
  // One control period: substeps() physics steps. Throws std::runtime_error if the physics
  // became unstable (MuJoCo's bad-acceleration warning). As after mj_step, body and site
  // positions are those at the start of the last substep (2 ms behind qpos).
  void Advance();
  // The same, with the arm servo targets moving linearly from `from` to `to` (rad, n_arm) over the
  // first `ramp` fraction of the substeps, then held at `to`: the arm moves at about the
  // commanded speed instead of jumping to the target at the servos' pace.
  void Advance(const Eigen::VectorXd& from, const Eigen::VectorXd& to, double ramp);
  int substeps() const { return substeps_; }

  int num_arm_joints() const { return static_cast<int>(arm_qpos_adr_.size()); }
  bool has_gripper() const { return gripper_actuator_ >= 0; }
  Eigen::VectorXd arm_qpos() const;                 // (n_arm) rad
  Eigen::VectorXd arm_lower() const { return lower_; }  // (n_arm) joint limits, rad
  Eigen::VectorXd arm_upper() const { return upper_; }
  bool arm_limited(int i) const { return limited_[i]; }
  double gripper_opening() const;                   // finger joint position (m), 0 if none
  // The joint state a dataset records as obs/qpos and a proprioceptive model needs: the arm's
  // joint angles, then the finger opening on a robot with a gripper.
  std::vector<double> joint_state() const;
  Eigen::Vector3d ee_pos() const { return EePos(data_.get()); }  // end effector, world frame (m)
  Eigen::Matrix3d ee_rot() const { return EeRot(data_.get()); }  // its frame's orientation
  // The same for another mjData of this model (after mj_kinematics), and the end effector's
  // translational and rotational Jacobians (3 x nv each, row-major; jacr may be null; needs
  // mj_comPos).
  Eigen::Vector3d EePos(const mjData* d) const;
  Eigen::Matrix3d EeRot(const mjData* d) const;
  void EeJacobian(const mjData* d, double* jacp, double* jacr) const;
  int num_objects() const { return static_cast<int>(object_bodies_.size()); }
  Eigen::Vector3d object_pos(int i) const;          // free body position (m)
  double object_yaw(int i) const;                   // its turn about the vertical (rad, -pi..pi)
  int camera_id() const { return cameras_[0]; }     // spec().cameras[0]
  const std::vector<int>& camera_ids() const { return cameras_; }  // spec().cameras, in order
  // The observation's cameras as datasets and checkpoints name them: "front", "front+side".
  std::string camera_label() const;
  // Anti-aliasing samples per pixel of the offscreen render (0: none).
  int antialias() const;
  const std::vector<int>& arm_qpos_adr() const { return arm_qpos_adr_; }
  const std::vector<int>& arm_dof_adr() const { return arm_dof_adr_; }

  SimState GetState() const;
  void SetState(const SimState& state);  // also recomputes kinematics (mj_forward)

 private:
  void Resolve();

  robots::RobotSpec spec_;
  std::shared_ptr<const mjModel> model_;
  DataPtr data_;
  std::vector<int> arm_qpos_adr_, arm_dof_adr_, arm_actuators_;
  Eigen::VectorXd lower_, upper_, targets_, gear_;
  std::vector<bool> limited_;
  int gripper_actuator_ = -1, gripper_qpos_adr_ = -1;
  int ee_site_ = -1, ee_body_ = -1;  // a site, or else a point in a body
  Eigen::Vector3d ee_offset_ = Eigen::Vector3d::Zero();
  std::vector<int> cameras_;
  std::vector<int> object_bodies_, object_qpos_adr_, object_dof_adr_;
  int substeps_ = 1;
};

}  // namespace jepa_mpc::sim
