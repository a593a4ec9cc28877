// A 7-DoF arm with the Franka Panda's kinematic structure (Craig's modified DH parameters from
// Franka's public documentation) and joint limits, a parallel two-finger gripper, on a table,
// seen by two fixed cameras. Built from primitive geoms only. Links are light and the servos
// stiff and near critically damped, so an end-effector step settles within one control period
// (mean tracking error ~0.6 mm, residual speed ~5 cm/s): one image shows the whole state.
//
// Body i of the chain sits at pos = (a, -d sin(alpha), d cos(alpha)) with quat = Rx(alpha) in
// its parent, which is the DH transform RotX(alpha) TransX(a) RotZ(theta) TransZ(d).
#include <string>

#include "robots/mjcf_text.h"
#include "robots/robot_spec.h"

namespace jepa_mpc::robots {

namespace {

const char* kPanda7Mjcf = R"(
<mujoco model="panda7">
  <compiler angle="radian" autolimits="true"/>
  <option timestep="0.002" integrator="Euler" cone="elliptic" impratio="5"/>
  <size nconmax="200" njmax="600"/>
  <visual>
    <global offwidth="@OFFSCREEN@" offheight="@OFFSCREEN@"/>
    <quality offsamples="0" numslices="16" numstacks="8"/>
    <headlight ambient="0.3 0.3 0.3" diffuse="0.35 0.35 0.35" specular="0 0 0"/>
  </visual>
  <default>
    <joint damping="120" armature="0.05"/>
    <geom contype="0" conaffinity="0" density="150" rgba="0.92 0.92 0.92 1"/>
    <default class="dark">
      <geom rgba="0.25 0.25 0.28 1"/>
    </default>
    <default class="finger">
      <geom type="box" contype="1" conaffinity="1" condim="4" friction="1.5 0.01 0.001"
            solref="0.005 1" rgba="0.25 0.25 0.28 1" density="2000"/>
      <joint type="slide" damping="10" armature="0.01" range="0 0.04"/>
    </default>
  </default>
  <worldbody>
    <light name="key" pos="0.6 -0.6 1.5" dir="-0.3 0.3 -1" directional="true" diffuse="0.35 0.35 0.35"/>
    <geom name="table" type="plane" size="1 1 0.01" pos="0.3 0 0" rgba="0.6 0.55 0.47 1"
          contype="1" conaffinity="1" friction="0.5 0.005 0.0001"/>
    <body name="link0">
      <geom type="cylinder" size="0.07 0.05" pos="0 0 0.05" class="dark"/>
      <geom type="capsule" fromto="0 0 0.05 0 0 0.27" size="0.06"/>
      <body name="link1" pos="0 0 0.333">
        <joint name="joint1" range="-2.8973 2.8973"/>
        <geom type="cylinder" fromto="0 0 -0.06 0 0 0.06" size="0.06" class="dark"/>
        <body name="link2" quat="0.70710678 -0.70710678 0 0">
          <joint name="joint2" range="-1.7628 1.7628"/>
          <geom type="capsule" fromto="0 0 0 0 -0.26 0" size="0.06"/>
          <body name="link3" pos="0 -0.316 0" quat="0.70710678 0.70710678 0 0">
            <joint name="joint3" range="-2.8973 2.8973"/>
            <geom type="capsule" fromto="0 0 -0.06 0.0825 0 0" size="0.055"/>
            <body name="link4" pos="0.0825 0 0" quat="0.70710678 0.70710678 0 0">
              <joint name="joint4" range="-3.0718 -0.0698"/>
              <geom type="cylinder" fromto="0 0 -0.06 0 0 0.06" size="0.055" class="dark"/>
              <geom type="capsule" fromto="0 0 0 -0.0825 0.384 0" size="0.05"/>
              <body name="link5" pos="-0.0825 0.384 0" quat="0.70710678 -0.70710678 0 0">
                <joint name="joint5" range="-2.8973 2.8973" damping="40"/>
                <geom type="capsule" fromto="0 0 -0.12 0 0 0" size="0.045"/>
                <body name="link6" quat="0.70710678 0.70710678 0 0">
                  <joint name="joint6" range="-0.0175 3.7525" damping="40"/>
                  <geom type="cylinder" fromto="0 0 -0.05 0 0 0.05" size="0.045" class="dark"/>
                  <geom type="capsule" fromto="0 0 0 0.088 0 0" size="0.04"/>
                  <body name="link7" pos="0.088 0 0" quat="0.70710678 0.70710678 0 0">
                    <joint name="joint7" range="-2.8973 2.8973" damping="40"/>
                    <geom type="cylinder" fromto="0 0 -0.02 0 0 0.09" size="0.04" class="dark"/>
                    <body name="hand" pos="0 0 0.107" quat="0.92387953 0 0 -0.38268343">
                      <geom name="hand" type="box" size="0.025 0.1 0.025" pos="0 0 0.03"
                            contype="1" conaffinity="1" rgba="0.92 0.92 0.92 1"/>
                      <site name="ee" pos="0 0 0.1034" size="0.01" rgba="1 0 0 0"/>
                      <body name="finger_left" pos="0 0 0.0584">
                        <joint name="finger_left" axis="0 1 0" class="finger"/>
                        <geom name="finger_left" size="0.01 0.008 0.0235" pos="0 0.008 0.0236"
                              class="finger"/>
                      </body>
                      <body name="finger_right" pos="0 0 0.0584">
                        <joint name="finger_right" axis="0 -1 0" class="finger"/>
                        <geom name="finger_right" size="0.01 0.008 0.0235" pos="0 -0.008 0.0236"
                              class="finger"/>
                      </body>
                    </body>
                  </body>
                </body>
              </body>
            </body>
          </body>
        </body>
      </body>
    </body>
    @OBJECTS@
    <!-- front: aimed at the workspace centre (0.475, 0, 0.2) from 1.1 m, 65 deg above the table,
         the whole workspace in frame; side: from +y, 34 deg above the table, aimed at
         (0.47, 0, 0.15), so that motion along the front camera's line of sight shows and the
         hand is mostly seen against the table. -->
    <camera name="front" pos="0.940 0 1.197" xyaxes="0 1 0 -0.906 0 0.423" fovy="55"/>
    <camera name="side" pos="0.47 1.1 0.9" xyaxes="-1 0 0 0 -0.563 0.826" fovy="55"/>
    <!-- table: the block tasks' observation. From 0.98 m in front, 40 deg above the table, aimed
         at (0.45, 0, 0.1): the block's goal region (x 0.35..0.65, y -0.2..0.2) spans about 40 x 24
         pixels of a 64 x 64 image, and the hand, whose palm hides what lies below it from steeper
         views, leaves the block in sight in 97% of exploration frames (at 71 deg: 74-89%). -->
    <camera name="table" pos="1.2 0 0.72" xyaxes="0 1 0 -0.637 0 0.771" fovy="40"/>
  </worldbody>
  <contact>
    <exclude body1="finger_left" body2="finger_right"/>
  </contact>
  <equality>
    <joint joint1="finger_right" joint2="finger_left" polycoef="0 1 0 0 0" solref="0.005 1"/>
  </equality>
  <actuator>
    <general name="joint1" joint="joint1" biastype="affine" gainprm="10000" biasprm="0 -10000" ctrlrange="-2.8973 2.8973"/>
    <general name="joint2" joint="joint2" biastype="affine" gainprm="10000" biasprm="0 -10000" ctrlrange="-1.7628 1.7628"/>
    <general name="joint3" joint="joint3" biastype="affine" gainprm="10000" biasprm="0 -10000" ctrlrange="-2.8973 2.8973"/>
    <general name="joint4" joint="joint4" biastype="affine" gainprm="10000" biasprm="0 -10000" ctrlrange="-3.0718 -0.0698"/>
    <general name="joint5" joint="joint5" biastype="affine" gainprm="4000" biasprm="0 -4000" ctrlrange="-2.8973 2.8973"/>
    <general name="joint6" joint="joint6" biastype="affine" gainprm="4000" biasprm="0 -4000" ctrlrange="-0.0175 3.7525"/>
    <general name="joint7" joint="joint7" biastype="affine" gainprm="4000" biasprm="0 -4000" ctrlrange="-2.8973 2.8973"/>
    <position name="gripper" joint="finger_left" kp="300" ctrlrange="0 0.04"/>
  </actuator>
</mujoco>
)";

const char* kBlock = R"(
    <body name="block" pos="0.5 0 0.025">
      <freejoint name="block"/>
      <!-- Sliding friction 0.5 on the table (MuJoCo takes the larger of the two geoms'): a push
           at the fingers' height slides the block instead of tipping it over and rolling it away,
           as at 1.5; the fingers' 1.5 (and torsional friction) still hold it in a grasp. 300 g
           and softer contacts: in exploration a lighter, stiffer block was knocked out of the
           arm's reach in 6% of the frames and thrown more than 4 cm up in 6% of the episodes
           (now 4% and none). -->
      <geom name="block" type="box" size="0.025 0.025 0.025" mass="0.3" contype="1" conaffinity="1"
            condim="3" friction="0.5 0.01 0.001" solref="0.02 1" rgba="0.85 0.15 0.1 1"/>
    </body>)";

}  // namespace

RobotSpec MakePanda7(const SceneOptions& options) {
  RobotSpec spec;
  spec.name = "panda7";
  spec.mjcf = ReplaceAll(kPanda7Mjcf, "@OFFSCREEN@", std::to_string(options.offscreen_size));
  spec.mjcf = ReplaceAll(spec.mjcf, "@OBJECTS@", options.block ? kBlock : "");
  if (options.block) spec.objects = {"block"};
  if (options.block && options.block_drag) {
    // Time constants of 0.3 kg / 6 N s/m = 50 ms (one control period) and, for the cube's 1.25e-4
    // kg m^2 about each axis, 1.25e-4 / 0.0025 = 50 ms. Without it the block slid on after a push
    // for as far as the contact happened to throw it: from the true state (block position and
    // velocity, hand, joints) and the next 5 actions an MLP predicted the block's displacement
    // with 0.24 of the copy baseline's error; with it, 0.06 (300 episodes each; push.md).
    spec.object_drag_linear = 6.0;
    spec.object_drag_angular = 0.0025;
  }
  spec.arm_joints = {"joint1", "joint2", "joint3", "joint4", "joint5", "joint6", "joint7"};
  spec.arm_actuators = spec.arm_joints;
  spec.gripper_actuator = "gripper";
  spec.gripper_range = {0.04, 0.0};
  spec.end_effector_site = "ee";
  // One camera flattens depth: moving the hand along the line of sight barely changes its image,
  // so image distances cannot tell near from far (measured in the README). Two views side by side
  // in one image give the encoder depth.
  spec.cameras = {"front", "side"};
  if (!options.cameras.empty()) spec.cameras = options.cameras;
  spec.action_mode = ActionMode::kEndEffectorDelta;
  spec.action_scale = {0.025, 0.025, 0.025, 1.0};  // m per control period; gripper open..closed
  if (options.gripper_closed) {
    spec.gripper_hold = 1.0;
    spec.action_scale.pop_back();
  }
  spec.control_period = 0.05;
  // The hand moves over the first half of each period and settles in the second: a block pushed
  // at full speed (0.5 m/s) leaves at 0.5-0.9 m/s, where a target given at once launched it at
  // 1.5-2.1 m/s.
  spec.target_ramp = 0.5;
  spec.home_qpos = {0.0, -0.3, 0.0, -2.2, 0.0, 1.9, 0.785398};
  spec.workspace = {0.25, 0.7, -0.3, 0.3, 0.015, 0.45};
  return spec;
}

}  // namespace jepa_mpc::robots
