#pragma once

// Bring your own arm: a robot is either a registered name (reacher2d, panda7) or a description
// file, read here into the same RobotSpec the built-in robots give.
//
// A description is a JSON file beside the user's MJCF (docs/own-arm.md lists its fields):
//
//   {"mjcf": "my_arm.xml", "end_effector": "tool_site", "action_mode": "joint_delta"}
//
// or the MJCF file itself, every field then inferred from the model: the arm's joints are the
// hinge and slide joints its actuators drive, the end effector the last arm body's first site (or
// the tip of its geoms), the camera the model's first camera (or one the tool adds, looking at
// the workspace), the home pose the keyframe "home" (or qpos0), the workspace the box the end
// effector covers over random poses, motors get a joint-space PD layer. JSON beside the MJCF
// rather than MuJoCo <custom> elements: a vendor's model stays untouched, and nested fields
// (a camera placement, gains per joint) read as what they are.

#include <nlohmann/json.hpp>
#include <string>

#include "robots/robot_spec.h"

namespace jepa_mpc::sim {

// True when `robot` names a description file (ends in .json or .xml) rather than a registered
// robot.
bool IsRobotFile(const std::string& robot);

// Reads a description (.json beside an MJCF, or an MJCF .xml alone) and infers what it leaves
// out. The spec's name is the file's absolute path, so datasets and checkpoints that record it
// rebuild the same robot. Throws std::invalid_argument (or std::runtime_error for a file MuJoCo
// cannot load) with one line naming the file and the field.
robots::RobotSpec LoadRobotDescription(const std::string& path, const robots::SceneOptions& scene = {});

// A registered robot by name or a description file by path.
robots::RobotSpec MakeRobotSpec(const std::string& robot, const robots::SceneOptions& scene = {});

// The default task of a description file: its "task" field, or "reach".
std::string DescriptionTask(const std::string& path);

// Every field of a spec in the description's terms (the defaults filled in), for `inspect
// --robot` and the docs.
nlohmann::json DescribeSpec(const robots::RobotSpec& spec);

}  // namespace jepa_mpc::sim
