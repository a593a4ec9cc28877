#pragma once

// Closed-loop evaluation on a task's goals: the learned-model controller (one or more planners),
// the same planner on the true simulator (the oracle upper bound) and random actions, on the
// same seeded goals. Shared by the evaluate binary and the demo.

#include <array>
#include <atomic>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "control/controller.h"

namespace jepa_mpc::tools {

struct EvalOptions {
  std::string checkpoint;
  std::string task;                          // "": the checkpoint's task
  std::string mjcf_file;                     // the scene the data was collected in (collect --mjcf)
  std::vector<std::string> planners{"cem"};  // learned-model planners to run (cem, mppi, gd)
  ControllerOptions controller;              // their settings (planner is set per method)
  bool oracle = true;
  std::string oracle_planner = "cem";
  // The oracle's budget: 0 takes the largest of the learned planners' (samples, iterations).
  // A budget (samples x iterations) below a learned planner's is refused: the oracle must be an
  // upper bound in fact, not only in name.
  int oracle_samples = 0;
  int oracle_iterations = 0;
  int oracle_episodes = 0;  // the oracle runs on the first this many goals (0: all of them)
  // (Evaluate resolves the three 0s above in EvalReport::options; oracle_episodes also bounds
  // the perfect-predictor check's goals.)
  // Object tasks: the oracle scores distance + this * end effector to object distance (a shaped
  // true cost; the object's distance alone is flat until the arm touches it). 0: distance only;
  // NaN: the task's own (TaskEntry::demo, push 1), resolved in EvalReport::options.
  double oracle_reach_weight = std::numeric_limits<double>::quiet_NaN();
  // The perfect-predictor check: this learned-model planner ("": none), with the learned
  // planner's budget and no time limit, scoring the true future frames of each candidate (rendered
  // from the simulator) with the model's encoder and energy (Controller::FutureCosts). It fails
  // where the embedding or the energy fails and succeeds where only the predictor does. Costly
  // (every candidate's frames are rendered): it runs on the oracle's goals (oracle_episodes).
  std::string perfect_planner;
  bool random = true;
  int episodes = 50;
  int steps = 0;           // control steps per episode; 0: the task's episode length
  // Goals taken from exploration episodes (the Push-T protocol of DINO-WM and LeWorldModel): the
  // start is a state of a held-out episode `collect` would record, the goal the state
  // replay_offset steps later, the first such window in which the tracked point moves at least
  // replay_min_move. 0: the task's own goals.
  int replay_offset = 0;
  double replay_min_move = 0.05;
  uint64_t seed = 0;       // goals come from seed; the same seed gives the same goals
  int threads = 2;
  // Shard shard_index of shard_count (0: no shards): only the goals in sim::ShardRange, for n
  // processes or machines; MergeReports joins their folders into the tables of one run. Each
  // episode's planner is seeded from (planner seed, episode), so a goal's outcome does not depend
  // on which shard ran it.
  int shard_index = 0;
  int shard_count = 0;
  std::string out;         // folder for tables and videos; "" writes nothing
  // An HDF5 dataset (collect's format) to write the learned planners' episodes to, each as it
  // ends: the camera at the model's image size, the joint states, positions and the actions
  // applied. A planner's own episodes, for training the predictor where the planner takes it
  // (train --extra-data). A new file; "" writes none.
  std::string record;
  // Videos (videos/<method>_ep<N>_success|failure.mp4) of each method's first `videos` successes
  // and first `failure_videos` failures: the camera with the planner's intent drawn on it, the
  // goal, and the energy and distance curves.
  int videos = 2;
  int failure_videos = 8;
  int video_size = 256;
  bool contact_sheets = true;  // contact/<method>_ep<N>.jpg: start, middle, end beside the goal
  // Sampled candidates drawn beside a learned planner's plan. The plan is read from the predicted
  // embeddings by the linear probes train stores in quality.json beside the checkpoint (none there:
  // only the true future of the plan is drawn).
  int trace_candidates = 4;
  // Episodes (indices, as in episodes.csv) whose every learned step is explained in
  // explain.csv: the chosen plan, a hand-written push from the true state (object tasks) and
  // keeping still, each scored by the model in parts (Controller::ScorePlans), by the model's
  // encoder on its true future frames (the perfect-predictor cost) and by where it truly leaves
  // the object. It tells a planner that missed a better plan from a cost that prefers a worse
  // one. Needs `out`.
  std::vector<int> explain;
};

struct EpisodeResult {
  std::string method;
  int episode = 0;
  uint64_t seed = 0;
  bool success = false;       // judged at the end of the episode
  double final_distance = 0;  // m, at the end of the episode
  int first_success = -1;     // first step at which the task was met (first passage); -1: never
  int steps = 0;              // actions taken (the task's episode length)
  double initial_distance = 0;   // m, at the start
  std::vector<double> distance;  // per step, before the action (m), and once more at the end
  std::vector<double> energy;    // latent distance to the goal embedding, same steps
  std::vector<double> plan_ms;   // per action
  // Where things were, world frame (m): the goal position, and per step (as distance) the tracked
  // point (end effector or object) and the end effector, [x, y, z] each.
  std::array<double, 3> goal{};
  std::vector<std::array<double, 3>> tracked, effector;
  // Object tasks: the object's turn about the vertical per step (degrees; Task::TrackedYaw).
  std::vector<double> tracked_yaw_deg;
  // The object's distance from its goal as the learned planner's model reads it (m), per action
  // (Controller's ActInfo::object_distance); empty for other methods and models that cannot.
  std::vector<double> read_distance;
  // Object tasks: the end effector's distance to the object in the goal state (m; Task::ReachDistance
  // there): how near the goal image shows the hand to the block. NaN for tasks without an object.
  double goal_reach = std::nan("");
};

struct MethodSummary {
  std::string method;
  int episodes = 0;
  double success_rate = 0;         // at the end of the episode
  double first_passage_rate = 0;   // met at some step, whatever happened after
  double mean_final_distance = 0;  // m, at the end
  double mean_steps = 0;           // steps to the first passage, over the episodes that had one
  double plan_ms_median = 0, plan_ms_p95 = 0;
};

// Scores one episode from the task's judgement before each action and once at the end
// (met.size() == steps + 1) and the distances at the same moments: success and final distance
// at the end, first passage at the first step that met the task.
void ScoreEpisode(const std::vector<bool>& met, const std::vector<double>& distance, EpisodeResult& r);
// One method's rates over its episodes in results (others are skipped); episodes == 0 if none.
MethodSummary Summarize(const std::string& method, const std::vector<EpisodeResult>& results);
// Linear interpolation between order statistics (numpy's default); 0 for an empty list.
double Percentile(std::vector<double> values, double p);

struct EvalReport {
  std::string task, robot, checkpoint, success_rule;
  EvalOptions options;
  std::vector<MethodSummary> summary;
  std::vector<EpisodeResult> episodes;
  bool interrupted = false;
};

class LiveView;

// Throws std::invalid_argument for bad options or a checkpoint for another robot or task. With a
// live view, frames of every episode go to it while a page watches.
EvalReport Evaluate(const EvalOptions& options, const std::atomic<bool>* stop = nullptr, LiveView* live = nullptr);
// results.json, results.csv (one row per method), episodes.csv, steps.csv and episodes.json (every
// episode in full, what MergeReports reads) in folder.
void WriteReport(const EvalReport& report, const std::string& folder);
// Joins the folders of every shard of one evaluation (evaluate --shard i/n --out DIR) into out:
// the tables one run writes, the videos copied. Planning times are those each shard measured.
// Throws std::invalid_argument naming a folder that is missing, interrupted, a duplicate or of
// another evaluation.
EvalReport MergeReports(const std::vector<std::string>& folders, const std::string& out);
// The seed of goal `episode` of goal seed `seed` (a range no collection run uses by default).
uint64_t GoalSeed(uint64_t seed, int episode);
// The planner seed of an episode's learned and oracle planners.
uint64_t EpisodePlannerSeed(uint64_t planner_seed, int episode);
// The table as aligned text.
std::string FormatTable(const EvalReport& report);

}  // namespace jepa_mpc::tools
