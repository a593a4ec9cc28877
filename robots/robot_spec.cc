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

std::vector<std::string> RobotNames() { return {"reacher2d", "panda7"}; }

RobotSpec MakeRobot(const std::string& name, const SceneOptions& options) {
  if (options.offscreen_size < 16 || options.offscreen_size > 4096) {
    throw std::invalid_argument("offscreen size " + std::to_string(options.offscreen_size) +
                                " is out of range, expected 16..4096");
  }
  if (name == "reacher2d") return MakeReacher2d(options);
  if (name == "panda7") return MakePanda7(options);
  std::string known;
  for (const auto& n : RobotNames()) known += (known.empty() ? "" : ", ") + n;
  throw std::invalid_argument("unknown robot '" + name + "', expected one of: " + known);
}

}  // namespace jepa_mpc::robots
