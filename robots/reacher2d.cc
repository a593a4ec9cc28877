// Planar two-link arm seen from above, in the spirit of dm_control's Reacher.
// Joint position-delta actions with stiff, critically damped servos that settle within one
// control period, so a single image shows the whole state.
#include <stdexcept>
#include <string>

#include "robots/mjcf_text.h"
#include "robots/robot_spec.h"

namespace jepa_mpc::robots {

namespace {

const char* kReacher2dMjcf = R"(
<mujoco model="reacher2d">
  <compiler angle="radian" autolimits="true"/>
  <option timestep="0.0025" integrator="Euler"/>
  <visual>
    <global offwidth="@OFFSCREEN@" offheight="@OFFSCREEN@"/>
    <quality offsamples="0" numslices="16" numstacks="8"/>
    <headlight ambient="0.3 0.3 0.3" diffuse="0.4 0.4 0.4" specular="0 0 0"/>
  </visual>
  <default>
    <joint damping="3" armature="0.01"/>
    <geom contype="0" conaffinity="0" density="500"/>
    <position kp="200"/>
  </default>
  <worldbody>
    <light name="top" pos="0 0 1.5" dir="0 0 -1" directional="true" diffuse="0.3 0.3 0.3"/>
    <geom name="floor" type="plane" size="0.3 0.3 0.01" rgba="0.55 0.55 0.5 1"/>
    <geom name="root" type="cylinder" size="0.022 0.01" pos="0 0 0.01" rgba="0.25 0.25 0.25 1"/>
    <body name="upper_arm" pos="0 0 0.02">
      <joint name="shoulder" type="hinge" axis="0 0 1"/>
      <geom name="upper_arm" type="capsule" fromto="0 0 0 0.12 0 0" size="0.012"
            rgba="0.15 0.35 0.75 1"/>
      <body name="forearm" pos="0.12 0 0">
        <joint name="elbow" type="hinge" axis="0 0 1" range="-2.8 2.8"/>
        <geom name="forearm" type="capsule" fromto="0 0 0 0.1 0 0" size="0.01"
              rgba="0.2 0.65 0.35 1"/>
        <geom name="fingertip" type="sphere" pos="0.11 0 0" size="0.016" rgba="0.9 0.2 0.15 1"/>
        <site name="fingertip" pos="0.11 0 0" size="0.005"/>
      </body>
    </body>
    <camera name="top" pos="0 0 0.75" fovy="40"/>
  </worldbody>
  <actuator>
    <position name="shoulder" joint="shoulder" ctrllimited="false"/>
    <position name="elbow" joint="elbow" ctrlrange="-2.8 2.8"/>
  </actuator>
</mujoco>
)";

}  // namespace

RobotSpec MakeReacher2d(const SceneOptions& options) {
  RobotSpec spec;
  spec.name = "reacher2d";
  if (options.block) throw std::invalid_argument("reacher2d has no block scene (no table to put one on)");
  spec.mjcf = ReplaceAll(kReacher2dMjcf, "@OFFSCREEN@", std::to_string(options.offscreen_size));
  spec.arm_joints = {"shoulder", "elbow"};
  spec.arm_actuators = {"shoulder", "elbow"};
  spec.end_effector_site = "fingertip";
  spec.cameras = {"top"};
  if (!options.cameras.empty()) spec.cameras = options.cameras;
  spec.action_mode = ActionMode::kJointPositionDelta;
  spec.action_scale = {0.25, 0.25};  // rad per control period
  spec.control_period = 0.05;
  spec.home_qpos = {0.0, 0.0};
  spec.workspace = {-0.25, 0.25, -0.25, 0.25, 0.0, 0.05};
  return spec;
}

}  // namespace jepa_mpc::robots
