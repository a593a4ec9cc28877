#pragma once

#include <array>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "util/registry.h"

namespace jepa_mpc::robots {

// How a normalised action in [-1, 1]^A is turned into actuator targets.
enum class ActionMode {
  kJointPositionDelta,  // joint position target = qpos + a * action_scale (rad)
  kJointVelocity,       // joint position target ramps at a * action_scale (rad/s) over the period
  kEndEffectorDelta,    // end-effector target = ee + a[0:3] * action_scale (m), then IK; a[3] grips
};

const char* ActionModeName(ActionMode mode);

// How the arm's actuators are driven toward the joint targets an action sets.
enum class Drive {
  kPosition,  // position servos (MuJoCo <position> or an affine-bias <general>): ctrl = target
  kMotor,     // torque motors: a joint-space PD layer, torque = kp (target - q) - kd qdot
  kVelocity,  // velocity servos: ctrl = kp (target - q), a joint speed (rad/s)
};

const char* DriveName(Drive drive);

// The camera a described robot gets when its model has none: MuJoCo's free camera looking at
// `lookat` from `distance` (m), at `azimuth` and `elevation` (degrees, as in MuJoCo's viewer).
// Cameras named kAddedCamera in RobotSpec::cameras render from it.
struct AddedCamera {
  std::array<double, 3> lookat{0, 0, 0};
  double distance = 1;
  double azimuth = 90;
  double elevation = -45;
};
inline constexpr const char* kAddedCamera = "added_camera";

// Scene options a task may ask for on top of the bare robot.
struct SceneOptions {
  bool block = false;  // a free 5 cm cube on the table (panda7 only)
  int offscreen_size = 256;  // offscreen buffer (pixels, square); renders may not exceed it
  // The observation's cameras, by their MJCF names, left to right; empty: the robot's default.
  std::vector<std::string> cameras;
  // Hold the gripper closed and leave it out of the action (pushing needs no grasp).
  bool gripper_closed = false;
  // A viscous drag on the block (RobotSpec::object_drag_linear): it moves while it is pushed and
  // stops soon after. For pushing; a block carried in a grasp would feel it too.
  bool block_drag = false;
  // Multisample anti-aliasing of the offscreen render: samples per pixel (MuJoCo's
  // visual/quality offsamples); -1: the robot model's own (the built-in robots': 0). Without it a
  // block moved by less than a pixel's width renders the same image: a 64 x 64 view of the table
  // shows no change for 37% of 2 mm moves of the block, 3% with 4 samples.
  int antialias = -1;
};

// Everything the simulator needs to know about a robot besides its MJCF.
struct RobotSpec {
  std::string name;
  std::string mjcf;                         // complete MJCF document
  // When set, the model is read from this MJCF file instead (its <include>s and assets are found
  // relative to it) and mjcf is unused; offscreen_size then sets the offscreen buffer.
  std::string mjcf_file;
  int offscreen_size = 256;
  int offscreen_samples = -1;  // anti-aliasing samples per pixel; -1: the MJCF's own (SceneOptions::antialias)
  std::vector<std::string> arm_joints;      // hinge or slide joints driven by the action, in order
  std::vector<std::string> arm_actuators;   // actuators, one per arm joint, driven as arm_drive
  Drive arm_drive = Drive::kPosition;
  // kMotor: N m/rad and N m s/rad (kd is added to the joints' damping); kVelocity: kp in 1/s.
  std::vector<double> pd_kp, pd_kd;
  // Joint ranges (rad or m) that replace the model's, by joint name (for joints it leaves
  // unlimited): the simulation sets them as limits.
  std::vector<std::pair<std::string, std::array<double, 2>>> joint_ranges;
  std::string gripper_actuator;             // position actuator closing the gripper ("" if none)
  std::array<double, 2> gripper_range{0, 0};  // gripper actuator target: open, closed
  // >= 0: the gripper is held at this closure (0 open, 1 closed) and is not part of the action.
  double gripper_hold = -1;
  // The end effector: a site, or else a point fixed in a body (offset in the body's frame, m).
  std::string end_effector_site;
  std::string end_effector_body;
  std::array<double, 3> end_effector_offset{0, 0, 0};
  // The observation: these cameras' views side by side, left to right, in one image (each view
  // rendered at the full image size, then averaged down to width / cameras.size() columns).
  std::vector<std::string> cameras;
  AddedCamera added_camera;                 // used by cameras named kAddedCamera
  std::vector<std::string> objects;         // free bodies in the scene (e.g. "block")
  // A viscous drag on the objects, on top of the contacts' friction: a force of -linear x their
  // horizontal velocity (N s/m) and a torque of -angular x their angular velocity (N m s/rad).
  // With it a pushed block moves while it is pushed and stops soon after, instead of sliding on
  // for as far as the push happened to throw it.
  double object_drag_linear = 0, object_drag_angular = 0;
  ActionMode action_mode = ActionMode::kJointPositionDelta;
  std::vector<double> action_scale;         // per action dimension, see ActionMode
  double control_period = 0.05;             // seconds per action (a multiple of the timestep)
  // End-effector actions: the fraction of the control period over which the arm's servo targets
  // move from the current pose to the new one (0: at once). Stiff servos given the whole step at
  // once move the hand several times faster than commanded at first, and a block it meets
  // flies off at that speed.
  double target_ramp = 0;
  std::vector<double> home_qpos;            // arm joint angles (rad) at reset
  // Axis-aligned box (m) the end effector is kept in: xmin, xmax, ymin, ymax, zmin, zmax.
  std::array<double, 6> workspace{-1, 1, -1, 1, -1, 1};

  int action_dim() const { return static_cast<int>(action_scale.size()); }
};

// The robot registry. A builder gets the scene a task asks for and throws std::invalid_argument
// when the robot cannot provide it (e.g. a block on an arm without a table).
struct RobotEntry {
  std::function<RobotSpec(const SceneOptions&)> make;
  std::string default_task;  // what collect runs on this robot when no task is named
  std::string summary;       // one line for --help and the docs
};
// Holds reacher2d and panda7 on first use; add your own arm with
// RobotRegistry().Add("my_arm", {MakeMyArm, "reach3d", "my 6-DoF arm"}).
Registry<RobotEntry>& RobotRegistry();

// Builds a registered robot. Throws std::invalid_argument naming the known robots, or for an
// offscreen size out of range.
RobotSpec MakeRobot(const std::string& name, const SceneOptions& options = {});
std::vector<std::string> RobotNames();

// Individual builders (used by MakeRobot).
RobotSpec MakeReacher2d(const SceneOptions& options);
RobotSpec MakePanda7(const SceneOptions& options);

}  // namespace jepa_mpc::robots
