#include "sim/task.h"

#include <cmath>
#include <stdexcept>

namespace jepa_mpc::sim {

namespace {

double Uniform(std::mt19937_64& rng, double lo, double hi) {
  return std::uniform_real_distribution<double>(lo, hi)(rng);
}


// ---------------------------------------------------------------------------------------------
class Reach2dTask : public Task {
 public:
  Reach2dTask(const TaskOptions& options)
      : Task({"reach2d", "reacher2d", 50, 0.02, "fingertip within 2 cm of the goal fingertip"},
             robots::MakeRobot("reacher2d", {false, options.offscreen_size, {}, false}), options) {}
  Eigen::Vector3d TrackedPosition() const override { return sim_->ee_pos(); }

 protected:
  void DoReset(std::mt19937_64& rng) override {
    auto random_pose = [&] {
      Eigen::VectorXd q(2);
      q << Uniform(rng, -M_PI, M_PI), Uniform(rng, -2.6, 2.6);
      return q;
    };
    const Eigen::VectorXd start = random_pose();
    sim_->SetArmPose(start);
    const Eigen::Vector3d start_tip = sim_->ee_pos();
    do {
      sim_->SetArmPose(random_pose());
    } while ((sim_->ee_pos() - start_tip).norm() < 0.05);
    goal_state_ = sim_->GetState();
    goal_pos_ = sim_->ee_pos();
    sim_->SetArmPose(start);
  }
};

// ---------------------------------------------------------------------------------------------
// Shared by the panda7 tasks: poses are set through IK with the end effector pointing down.
class PandaTask : public Task {
 public:
  using Task::Task;

 protected:
  EndEffectorDeltaActionSpace& ee_space() {
    return static_cast<EndEffectorDeltaActionSpace&>(*action_space_);
  }
  // Moves the arm (kinematically) so the end effector is at p; returns false if IK misses by
  // more than 1 mm.
  bool PlaceEndEffector(const Eigen::Vector3d& p) {
    IkResult r = ee_space().SolvePose(*sim_, p);
    sim_->SetArmPose(r.q);
    return r.position_error < 1e-3;
  }
  Eigen::Vector3d RandomInWorkspace(std::mt19937_64& rng, double margin) {
    const auto& w = sim_->spec().workspace;
    return {Uniform(rng, w[0] + margin, w[1] - margin), Uniform(rng, w[2] + margin, w[3] - margin),
            Uniform(rng, w[4] + margin, w[5] - margin)};
  }
};

class Reach3dTask : public PandaTask {
 public:
  Reach3dTask(const TaskOptions& options)
      : PandaTask({"reach3d", "panda7", 60, 0.04, "end effector within 4 cm of the goal position"},
                  robots::MakeRobot("panda7", {false, options.offscreen_size, {}, false}), options) {}
  Eigen::Vector3d TrackedPosition() const override { return sim_->ee_pos(); }

 protected:
  void DoReset(std::mt19937_64& rng) override {
    for (int attempt = 0;; ++attempt) {
      if (attempt == 1000) throw std::runtime_error("reach3d: no reachable goal found");
      sim_->Reset();
      if (!PlaceEndEffector(RandomInWorkspace(rng, 0.03))) continue;
      const SimState start = sim_->GetState();
      const Eigen::Vector3d start_ee = sim_->ee_pos();
      sim_->Reset();
      const Eigen::Vector3d goal = RandomInWorkspace(rng, 0.03);
      if ((goal - start_ee).norm() < 0.1 || !PlaceEndEffector(goal)) continue;
      goal_state_ = sim_->GetState();
      goal_pos_ = sim_->ee_pos();
      sim_->SetState(start);
      return;
    }
  }
};

// Push and pick-and-place: a block on the table, a goal position for it on the table.
class BlockTask : public PandaTask {
 public:
  // The block tasks see the table from the "table" camera: the front and side views of reach3d
  // show a 4 cm block as 5 pixels of a 64 x 64 image, this one a 5 cm block as about 25.
  BlockTask(TaskInfo info, const TaskOptions& options, bool gripper_closed)
      : PandaTask(std::move(info),
                  robots::MakeRobot("panda7", {true, options.offscreen_size, {"table"}, gripper_closed}),
                  options) {}
  Eigen::Vector3d TrackedPosition() const override { return sim_->object_pos(0); }
  double ReachDistance() const override { return (sim_->ee_pos() - sim_->object_pos(0)).norm(); }
  void CopyStateFrom(const Task& other) override {
    Task::CopyStateFrom(other);
    lifted_ = static_cast<const BlockTask&>(other).lifted_;
  }

 protected:
  static constexpr double kHalf = 0.025;  // block half size (m)
  static inline const Eigen::Vector3d kReady{0.3, 0.0, 0.15};
  void DoReset(std::mt19937_64& rng) override {
    sim_->Reset();
    // The arm starts (and the goal image shows it) in a ready pose: the hand 15 cm above the table
    // at the near edge of the workspace, in the table camera's view and behind the block's
    // region. At the home pose the hand is above the view's top edge, where the embedding has
    // nothing to see it by, and a planner cannot tell where it is against the block.
    if (!PlaceEndEffector(kReady)) throw std::runtime_error(info_.name + ": the ready pose is out of reach");
    const Eigen::Vector3d start(Uniform(rng, 0.4, 0.6), Uniform(rng, -0.15, 0.15), kHalf);
    Eigen::Vector3d goal;
    do {
      const double angle = Uniform(rng, -M_PI, M_PI), dist = Uniform(rng, 0.10, 0.20);
      goal = start + Eigen::Vector3d(dist * std::cos(angle), dist * std::sin(angle), 0);
    } while (goal.x() < 0.35 || goal.x() > 0.65 || std::abs(goal.y()) > 0.2);
    // The goal image shows the block at the goal and the arm in the ready pose, away from it.
    sim_->SetObjectPosition(0, goal);
    goal_state_ = sim_->GetState();
    goal_pos_ = goal;
    sim_->SetObjectPosition(0, start);
    lifted_ = false;
  }

  void OnReset() override { lifted_ = false; }

  bool lifted_ = false;
};

// Push holds the gripper closed: its actions are end-effector moves only (fingers opening against
// the block launched it tens of centimetres in exploration).
class PushTask : public BlockTask {
 public:
  PushTask(const TaskOptions& options)
      : BlockTask({"push", "panda7", 100, 0.03, "block centre within 3 cm of the goal position"},
                  options, /*gripper_closed=*/true) {}
};

class PickPlaceTask : public BlockTask {
 public:
  PickPlaceTask(const TaskOptions& options)
      : BlockTask({"pick_place", "panda7", 150, 0.03,
                   "block lifted at least 4 cm, then within 3 cm of the goal position"},
                  options, /*gripper_closed=*/false) {}
  bool Success() const override { return lifted_ && Distance() < info_.success_threshold; }

 protected:
  void OnStep() override {
    if (sim_->object_pos(0).z() > kHalf + 0.04) lifted_ = true;
  }
};

}  // namespace

// -----------------------------------------------------------------------------------------------
Task::Task(TaskInfo info, robots::RobotSpec spec, const TaskOptions& options)
    : info_(std::move(info)) {
  if (options.mjcf_file.empty()) {
    sim_ = std::make_unique<Simulation>(std::move(spec));
  } else {
    sim_ = std::make_unique<Simulation>(std::move(spec), LoadModelFromFile(options.mjcf_file));
  }
  action_space_ = ActionSpace::Make(*sim_);
}

void Task::Reset(uint64_t seed) {
  std::mt19937_64 rng(seed);
  sim_->Reset();
  DoReset(rng);
  sim_->data()->time = 0;
}

void Task::Step(const Eigen::VectorXd& action) {
  action_space_->Step(*sim_, action);
  OnStep();
}

double Task::Distance() const { return (TrackedPosition() - goal_pos_).norm(); }

void Task::CopyStateFrom(const Task& other) {
  if (other.info_.name != info_.name) {
    throw std::invalid_argument("cannot copy the state of task '" + other.info_.name + "' into '" +
                                info_.name + "'");
  }
  sim_->SetState(other.sim_->GetState());
  goal_state_ = other.goal_state_;
  goal_pos_ = other.goal_pos_;
}

void Task::SetStartAndGoal(const SimState& start, const SimState& goal) {
  sim_->SetState(goal);
  goal_state_ = goal;
  goal_pos_ = TrackedPosition();
  sim_->SetState(start);
  OnReset();
}

Image Task::RenderGoal(Renderer& renderer) {
  const SimState current = sim_->GetState();
  sim_->SetState(goal_state_);
  Image image = renderer.Render(sim_->data(), sim_->camera_ids());
  sim_->SetState(current);
  return image;
}

std::vector<std::string> TaskNames() { return {"reach2d", "reach3d", "push", "pick_place"}; }

std::string RobotForTask(const std::string& task) {
  if (task == "reach2d") return "reacher2d";
  if (task == "reach3d" || task == "push" || task == "pick_place") return "panda7";
  std::string known;
  for (const auto& n : TaskNames()) known += (known.empty() ? "" : ", ") + n;
  throw std::invalid_argument("unknown task '" + task + "', expected one of: " + known);
}

std::string DefaultTaskForRobot(const std::string& robot) {
  if (robot == "reacher2d") return "reach2d";
  if (robot == "panda7") return "reach3d";
  robots::MakeRobot(robot);  // throws with the list of known robots
  return "";
}

std::unique_ptr<Task> MakeTask(const std::string& name, const TaskOptions& options) {
  RobotForTask(name);  // validates the name
  std::unique_ptr<Task> task;
  if (name == "reach2d") task = std::make_unique<Reach2dTask>(options);
  if (name == "reach3d") task = std::make_unique<Reach3dTask>(options);
  if (name == "push") task = std::make_unique<PushTask>(options);
  if (name == "pick_place") task = std::make_unique<PickPlaceTask>(options);
  return task;
}

}  // namespace jepa_mpc::sim
