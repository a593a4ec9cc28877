#pragma once

// jepa_mpc::Controller: goal-image control for your own loop. Load a trained world model, show it
// the goal image once, then call Act() with each new camera image to get the next action.
// Each call encodes the image, plans a short action sequence in the model's representation
// space (receding horizon, warm started from the previous plan) and returns its first action.
//
//   jepa_mpc::Controller controller("model/checkpoint.pt");
//   controller.SetGoal({goal_rgb, 64, 64});
//   while (running) {
//     std::vector<float> action = controller.Act({camera_rgb, 64, 64});  // each in [-1, 1]
//     robot.Apply(action);
//   }
//
// A model trained with proprioception (proprio_dim() > 0) also needs the robot's joint state
// with each image: controller.Act({camera_rgb, 64, 64}, joint_angles). A model whose reaching
// term reads the hand from the robot (hand_dim() == 3, train --reach-hand state) needs the end
// effector's position in metres, in the frame the training data recorded it (the robot's base):
// controller.Act({camera_rgb, 64, 64}, joint_angles, {x, y, z}).
//
// No globals: one instance per thread (instances are independent). Errors are exceptions:
// std::invalid_argument for bad input (wrong image size, bad options), std::runtime_error for an
// unreadable checkpoint. This header needs nothing but the C++ standard library.

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace jepa_mpc {

struct ControllerOptions {
  std::string planner = "cem";    // a registered planner: cem | cem-mean (its plan the elites'
                                  // mean) | mppi | gd (Adam through the differentiable model) |
                                  // cem-gd (CEM, then Adam from its plan; each stage gets the
                                  // budget) | your own (planner/factory.h)
  int horizon = 8;                // planned steps
  int samples = 0;                // candidates per iteration (0: cem 64, cem-mean and mppi 512, gd 8)
  int elites = 0;                 // cem/mppi elites (0: cem 16, cem-mean and mppi 64)
  double temperature = 0;         // mppi: elites weighted by exp(-cost / temperature) (0: 0.5)
  int iterations = 0;             // planner iterations per action (gd: Adam steps; 0: cem and cem-mean 2, others 4)
  int action_repeat = 1;          // control steps each planned action is held (frame skip): the
                                  // plan looks horizon * action_repeat steps ahead; replans each step
  double time_budget = 0.02;      // seconds of planning per Act(), anytime: an iteration starts only
                                  // when it should end within it (the first always runs); 0: none
  uint64_t seed = 0;              // planner randomness; the same seed gives the same actions
  bool sum_over_horizon = true;   // cost summed over the horizon (false: last step only)
  // The goal judged after a withdrawal (world_model::GoalCostOptions): each plan is followed in
  // the model by withdraw_steps of withdraw_action (for push: {0, 0, 1}, the hand lifted), and
  // its distance to the goal taken there. 0: along the plan.
  int withdraw_steps = 0;
  std::vector<float> withdraw_action;
  bool l1 = false;                // L1 distance instead of L2
  // A model trained with the object keypoints' spread: hold the object's distance while it is
  // hidden (world_model::GoalCostOptions::hidden_spread); 0: off.
  double hidden_spread = 0;
  // With hidden_spread: hold the hidden object's place instead of its distance, so that the
  // reaching term still draws the hand to where it was last seen
  // (world_model::GoalCostOptions::hold_place).
  bool hold_place = false;
  // More predictors for the same model (checkpoints of the same trained run, each from
  // `train --resume --predictor-seed S` on a copy of it): every plan is predicted by each, its
  // cost is their mean plus disagreement_weight x their spread where the goal is judged, so the
  // planner avoids plans only some predictors believe in. Each adds a rollout per candidate.
  std::vector<std::string> ensemble;
  double disagreement_weight = 0;
  // A model with an object group: the arm's keypoints in the distance to the goal, each weighed
  // this much (world_model::GoalCostOptions::arm_weight); 0: the object energy's alone.
  double arm_weight = 0;
  // A model with the object's table map: the distance to the goal read on the table, in metres
  // (world_model::GoalCostOptions::table_energy), not in the image.
  bool table_energy = false;
  // The predictor's hidden layers multiplied in bfloat16 while planning
  // (world_model::PredictorImpl::set_bfloat16_hidden): faster rollouts on CPUs with AVX-512 BF16,
  // slightly different predictions (docs/performance.md, "Rollouts in bfloat16").
  bool bfloat16 = false;
  // Push models: the distance from the goal (metres) within which the reaching term lets the
  // hand go (world_model::GoalCostOptions::reach_fade).
  double reach_fade = 0.01;
  // Push models: a predicted object moves only where the hand's path could touch it, the hand
  // at most this high above the object's height (m; world_model::GoalCostOptions::contact_height).
  // NaN (the default): the object's height for a push model that reads the hand from the robot
  // (push: 0.025 m), off for others; options() then holds the number. 0: off.
  double contact_height = std::nan("");
};
// The controller sets no process-wide state. Torch's thread pool belongs to the application:
// call at::set_num_threads(n) (or set OMP_NUM_THREADS) once at start-up. On a laptop, as many
// threads as physical cores; with several controllers in threads, 1 each.

// An RGB image: height x width x 3 bytes, rows top to bottom. Not owned.
struct ImageView {
  const uint8_t* rgb = nullptr;
  int height = 0;
  int width = 0;
};

// What the last Act() did.
struct ActInfo {
  double energy = 0;          // distance of the current image's embedding to the goal's
  double planned_cost = 0;    // the chosen plan's cost in the model
  double seconds = 0;         // wall time of Act(), encoding included
  int iterations = 0;         // planner iterations run
  bool fallback = false;      // every candidate cost was non-finite: the action is zero
  // The object's distance from its place in the goal image as the model reads it (m;
  // world_model::LatentGoalCost::ObjectDistance), NaN for a model that cannot read it.
  double object_distance = std::nan("");
};

// What the last Act() intends, for drawing it: the embeddings the model predicts along the chosen
// plan and along a few candidate sequences drawn around it.
struct PlanPreview {
  int sequences = 0;  // 1 + candidates; sequence 0 is the chosen plan
  int steps = 0;      // control steps ahead (horizon x action_repeat, less what is spent)
  int action_dim = 0;
  int dim = 0;        // embedding size
  std::vector<float> actions;     // [sequences][steps][action_dim], each in [-1, 1]
  std::vector<float> embeddings;  // [sequences][steps][dim]: predicted after each action
};

// How the model scores one action sequence (Controller::ScorePlans).
struct PlanScore {
  double cost = 0;      // as the planner scores it: distance + reach
  double distance = 0;  // the distance to the goal's part
  double reach = 0;     // the reaching term's part (0 for a model without one)
  // The object's predicted distance from its place in the goal image after the last action (m),
  // NaN for a model that cannot read it.
  double object_distance = std::nan("");
};

class Controller {
 public:
  // Throws std::runtime_error for a missing or unreadable checkpoint and std::invalid_argument
  // for bad options (unknown planner, non-positive sizes, NaN budget).
  explicit Controller(const std::string& checkpoint, ControllerOptions options = {});
  ~Controller();
  Controller(Controller&&) noexcept;
  Controller& operator=(Controller&&) noexcept;

  // The model's expectations: images image_size() x image_size() from camera() of robot().
  // camera() names several cameras joined by '+' ("front+side") when each image holds their
  // views side by side, left to right, each averaged down to image_size() / views columns
  // (what sim::Renderer::Render(data, sim.camera_ids()) draws).
  std::string robot() const;
  std::string task() const;
  std::string camera() const;
  // Anti-aliasing samples per pixel of the training images (-1: not recorded); render with it.
  int antialias() const;
  int image_size() const;
  int action_dim() const;
  // Joint-state values Act() needs with each image: the arm's joint angles (rad), then the
  // finger opening (m) on a robot with a gripper, as `collect` records them. 0: images alone.
  int proprio_dim() const;
  // End-effector position values Act() needs with each image: 3 for a model whose reaching term
  // reads the hand from the robot (x, y, z in metres, as `collect` records obs/ee_pos), else 0.
  int hand_dim() const;
  const ControllerOptions& options() const;

  // Sets the goal; also starts a new episode (see Reset). Throws std::invalid_argument for an
  // image that is not image_size() x image_size() RGB.
  void SetGoal(const ImageView& goal);
  // The next action, action_dim() values in [-1, 1]. Throws std::logic_error without a goal and
  // std::invalid_argument for a joint state that is not proprio_dim() finite values or a hand
  // position that is not hand_dim() finite values.
  std::vector<float> Act(const ImageView& observation, const std::vector<double>& joint_state = {},
                         const std::vector<double>& hand = {});
  const ActInfo& last() const;
  // The last Act()'s plan and `candidates` sequences drawn around it (Gaussian, std `spread`,
  // clipped to [-1, 1], from `seed`), rolled out in the model from the same context. Costs one
  // model rollout of 1 + candidates sequences. Throws std::logic_error before any Act() and
  // std::invalid_argument for negative candidates or spread.
  PlanPreview Preview(int candidates = 4, float spread = 0.2f, uint64_t seed = 0);
  // Records the action the robot actually applied after the last Act(), when it differs from
  // the returned one (clipped by a safety layer, overridden by a person): the next plan's context
  // then holds what happened, not what was planned. Throws std::logic_error before any Act() and
  // std::invalid_argument for a size other than action_dim() or non-finite values (the values
  // are clipped to [-1, 1], as the model was trained).
  void SetAppliedAction(const std::vector<float>& action);
  // Scores `count` action sequences from the last Act()'s context (its image, history and hand),
  // as the planner scored its candidates, in parts: actions holds count x steps x action_dim()
  // values in [-1, 1], one per control step (as PlanPreview::actions; the plan's action repeat
  // is not applied again). With an ensemble the parts are the first predictor's. For explaining
  // a plan: set the chosen one (Preview(0).actions) beside another the planner did not choose.
  // Throws std::logic_error before any Act() and std::invalid_argument for a size that is not a
  // positive multiple of count x action_dim() or values outside [-1, 1].
  std::vector<PlanScore> ScorePlans(const std::vector<float>& actions, int count);
  // Distance of an image's embedding to the goal's (the energy the planner lowers).
  double Energy(const ImageView& observation);
  // Scores observed futures the way the planner scores predicted ones: frames holds
  // frames.size() / steps sequences of `steps` images each (sequence after sequence), what the
  // camera saw after each action; returns each sequence's cost from the images' embeddings (the
  // energy, plus the reaching term, summed over the steps or the last step's alone as
  // options().sum_over_horizon). Given the true future of candidate plans (rendered from a
  // simulator) this is planning with a perfect predictor, which tells what the embedding and the
  // energy can do from what the predictor's errors cost. Throws std::logic_error without a goal
  // and std::invalid_argument for a count that is not a positive multiple of steps or a wrong
  // image size. A model that reads the hand from the robot (hand_dim() == 3) also needs where the
  // end effector was at each frame: hands, 3 values per frame in the frames' order.
  std::vector<double> FutureCosts(const std::vector<ImageView>& frames, int steps,
                                  const std::vector<double>& hands = {});
  // Forgets the frame history and the warm start (call between episodes).
  void Reset();
  // Starts the planner's random stream anew from seed: with one seed per episode, an episode's
  // actions do not depend on the episodes before it (evaluate --shard relies on this).
  void Reseed(uint64_t seed);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace jepa_mpc
