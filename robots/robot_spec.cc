#include "robots/robot_spec.h"

#include <stdexcept>

namespace jepa_mpc::robots {

const char* ActionModeName(ActionMode mode) {
  switch (mode) {
    case ActionMode::kJointPositionDelta:
      return "joint_position_delta";
    case ActionMode::kJointVelocity:
      return "joint_velocity";
    case ActionMode::kEndEffectorDelta:
      return "end_effector_delta";
  }
  return "unknown";
}

const char* DriveName(Drive drive) {
  switch (drive) {
    case Drive::kPosition:
      return "position";
    case Drive::kMotor:
      return "motor";
    case Drive::kVelocity:
      return "velocity";
  }
  return "unknown";
}

Registry<RobotEntry>& RobotRegistry() {
  static Registry<RobotEntry> registry = [] {
    Registry<RobotEntry> r("robot");
    r.Add("reacher2d", {MakeReacher2d, "reach2d", "planar 2-link arm seen from above, joint-delta actions"});
    r.Add("panda7", {MakePanda7, "reach3d",
                     "7-DoF Panda-like arm with a gripper, end-effector-delta actions through IK"});
    return r;
  }();
  return registry;
}

std::vector<std::string> RobotNames() { return RobotRegistry().Names(); }

RobotSpec MakeRobot(const std::string& name, const SceneOptions& options) {
  if (options.offscreen_size < 16 || options.offscreen_size > 4096) {
    throw std::invalid_argument("offscreen size " + std::to_string(options.offscreen_size) +
                                " is out of range, expected 16..4096");
  }
  RobotSpec spec = RobotRegistry().Get(name).make(options);
  spec.offscreen_size = options.offscreen_size;
  spec.offscreen_samples = options.antialias;
  return spec;
}

}  // namespace jepa_mpc::robots
