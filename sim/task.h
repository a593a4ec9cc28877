#pragma once

// Goal-image tasks: a task resets its scene from a seed, samples a reachable goal state, renders
// the goal image from that state, and judges success from the true state.

#include <Eigen/Core>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "sim/action_space.h"
#include "sim/renderer.h"
#include "sim/simulation.h"
#include "util/registry.h"

namespace jepa_mpc::sim {

struct TaskOptions {
  int offscreen_size = 256;  // offscreen render buffer (pixels, square)
  std::string mjcf_file;     // replace the robot's built-in MJCF with this file ("" = built-in)
  std::string robot;         // a registered robot or a description file (sim/robot_description.h);
                             // "": the task's default robot
  // The observation's cameras by their MJCF names, left to right, joined by "+" ("table+side",
  // as Simulation::camera_label writes them); "": the task's own.
  std::string cameras;
  // Anti-aliasing samples per pixel of the observation (robots::SceneOptions::antialias; -1: the
  // robot model's own); unset: the task's own. A model sees images rendered as its training data
  // were: its checkpoint says how (-1 for one trained before this was recorded).
  std::optional<int> antialias;
};

struct TaskInfo {
  std::string name;
  std::string robot;
  int episode_steps = 0;           // control steps per episode
  double success_threshold = 0;    // m
  std::string success_rule;        // human-readable rule, printed with every result
};

class Task {
 public:
  virtual ~Task() = default;

  const TaskInfo& info() const { return info_; }
  Simulation& sim() { return *sim_; }
  const Simulation& sim() const { return *sim_; }
  ActionSpace& action_space() { return *action_space_; }
  int action_dim() const { return action_space_->dim(); }

  // Resets the scene to a start state and samples a goal, both from seed.
  void Reset(uint64_t seed);
  // Applies one normalised action for one control period.
  void Step(const Eigen::VectorXd& action);

  // The goal state (robot and objects placed at the goal) and the point that must reach it.
  const SimState& goal_state() const { return goal_state_; }
  const Eigen::Vector3d& goal_position() const { return goal_pos_; }
  // Puts the scene in `start` and makes `goal` the goal state: the tracked point's position in
  // it becomes the goal position (for goals taken from recorded episodes).
  void SetStartAndGoal(const SimState& start, const SimState& goal);
  // Renders the scene in its goal state; the current state is restored afterwards.
  Image RenderGoal(Renderer& renderer);

  // Puts this task (same name) in other's state: simulator state, goal and episode flags.
  // Used to roll candidates out in copies (the oracle).
  virtual void CopyStateFrom(const Task& other);

  // The point that must reach goal_position() (end effector or block), world frame (m).
  virtual Eigen::Vector3d TrackedPosition() const = 0;
  // Distance (m) between TrackedPosition() and goal_position(), in the task's metric.
  virtual double Distance() const;
  virtual bool Success() const { return Distance() < info_.success_threshold; }
  // Object tasks: the object's turn about the vertical (rad; the task's own goal image shows it
  // at 0, a replayed goal frame as recorded). NaN for tasks that track the end effector.
  virtual double TrackedYaw() const { return std::nan(""); }
  // Object tasks: the end effector's distance (m) to the object it must move, the reaching part
  // of a shaped cost. 0 for tasks without an object.
  virtual double ReachDistance() const { return 0; }
  // ReachDistance() in the goal state: how near the goal image shows the end effector to the
  // object; the current state is restored afterwards.
  double GoalReachDistance();

 protected:
  // info.robot is set from spec.
  Task(TaskInfo info, robots::RobotSpec spec, const TaskOptions& options);
  // Puts sim() in the start state and sets goal_state_ / goal_pos_.
  virtual void DoReset(std::mt19937_64& rng) = 0;
  virtual void OnStep() {}
  // Clears per-episode flags when the start state is set from outside (SetStartAndGoal).
  virtual void OnReset() {}

  TaskInfo info_;
  std::unique_ptr<Simulation> sim_;
  std::unique_ptr<ActionSpace> action_space_;
  SimState goal_state_;
  Eigen::Vector3d goal_pos_ = Eigen::Vector3d::Zero();
};

// The task registry. A task is built on a robot spec: the registry builds the robot the options
// name (or the task's default robot) with the scene the task needs (its objects, its cameras),
// then the factory builds the task on it. A factory throws std::invalid_argument when the robot
// lacks what the task needs (an end-effector action mode, an object).
struct TaskEntry {
  std::string default_robot;
  robots::SceneOptions scene;  // what the task asks of the robot (offscreen size set per call)
  std::function<std::unique_ptr<Task>(robots::RobotSpec, const TaskOptions&)> make;
  std::string summary;         // one line for --help and the docs
  double target_success = NAN; // the success rate this project aims for (reports draw it); NAN: none
  // What the demo uses for this task (docs/experiments/ has the measurements behind them).
  struct Demo {
    int episodes = 300;              // exploration episodes collected
    int action_repeat = 1;           // control steps each planned action is held
    double oracle_reach_weight = 0;  // shaped oracle cost for object tasks (evaluate --oracle-reach-weight)
    int oracle_episodes = 0;         // goals the oracle runs on (0: all; the true simulator is slow)
    int horizon = 0;                 // planning horizon in planned actions (0: the planner's default)
  } demo;
};
// Holds reach2d, reach (any arm), reach3d, push and pick_place on first use. Add your own with
// TaskRegistry().Add("my_task", {"panda7", {}, MakeMyTask, "..."}); examples in docs/extending.md.
Registry<TaskEntry>& TaskRegistry();

// Builds a registered task on options.robot (default: the task's robot). Throws
// std::invalid_argument naming the known tasks or robots, or what the robot lacks.
std::unique_ptr<Task> MakeTask(const std::string& name, const TaskOptions& options = {});
std::vector<std::string> TaskNames();
// The robot a task runs on by default, and the default task of a robot (each throws for an
// unknown name, listing the known ones).
std::string RobotForTask(const std::string& task);
std::string DefaultTaskForRobot(const std::string& robot);

}  // namespace jepa_mpc::sim
