#pragma once

// Parallel, deterministic data collection: worker threads each own a task, a renderer and an
// exploration policy; episode k always uses the seed derived from (seed, k), so the file is the
// same whatever the thread count. Episodes are written in order, one commit each.

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "sim/dataset.h"
#include "sim/task.h"

namespace jepa_mpc::sim {

struct CollectOptions {
  std::string task = "reach2d";
  std::string robot;         // a registered robot; "": the task's default robot
  int episodes = 100;
  int steps = 0;             // control steps per episode; 0: the task's episode length
  int image_size = 64;       // square images (pixels)
  uint64_t seed = 0;
  int threads = 2;
  std::string out;           // HDF5 path
  bool resume = false;       // continue an existing file collected with the same settings
  bool overwrite = false;    // replace an existing file
  std::string mjcf_file;     // optional MJCF replacing the robot's built-in model
  std::string cameras;       // the observation's cameras, "+"-joined ("table+side"); "": the task's
  int antialias = -1;        // anti-aliasing samples per pixel of the images; -1: the task's
  // Shard shard_index of shard_count (0: no shards): only the episodes in ShardRange, so that n
  // processes or machines collect one dataset between them; MergeShards joins their files.
  int shard_index = 0;
  int shard_count = 0;
};

// The episodes [first, last) of shard i of n of a collection of `episodes`: consecutive blocks
// whose sizes differ by at most one.
std::pair<int, int> ShardRange(int episodes, int shard_index, int shard_count);
// Parses "i/n" (0 <= i < n). Throws std::invalid_argument naming the flag.
std::pair<int, int> ParseShard(const std::string& text, const std::string& flag);
// Checks shard index/count (count 0: no shards) against the number of items it splits (episodes,
// goals). Throws std::invalid_argument naming --shard.
void ValidateShard(int shard_index, int shard_count, int items, const std::string& noun);
// Checks that `shards` (shard index and the file or folder it came from, sorted by index) holds
// every shard 0..count-1 exactly once. Throws std::invalid_argument naming a duplicate or the
// missing ones, "of the <whole>".
void CheckShardSet(const std::vector<std::pair<int, std::string>>& shards, int count, const std::string& whole);

struct CollectProgress {
  int episodes_done = 0;     // complete episodes in the file
  int episodes_total = 0;
  int64_t frames = 0;        // frames collected in this run
  double seconds = 0;        // wall time of this run
};

struct CollectResult {
  int episodes_written = 0;  // in this run
  int episodes_in_file = 0;
  int64_t frames = 0;        // in this run
  double seconds = 0;
  bool interrupted = false;  // stopped by the stop flag
};

// What a dataset of `steps`-step episodes of this task's scene, images image_size square, holds.
DatasetInfo DatasetInfoFor(const Task& task, int image_size, int steps, uint64_t seed);

// The seed of episode k of a collection seeded with seed.
uint64_t EpisodeSeed(uint64_t seed, int k);

// Checks the options and the output path without writing anything. Throws
// std::invalid_argument naming the bad option.
void ValidateCollectOptions(const CollectOptions& options);

// An episode's arrays sized for `steps` frames of this task's scene rendered by `renderer`.
EpisodeData EmptyEpisode(const Task& task, const Renderer& renderer, int steps, uint64_t episode_seed);
// Records frame t of e from the scene as it is now: the image, the joint state, the end effector
// and the objects' positions (the action is the caller's).
void RecordFrame(Task& task, Renderer& renderer, int t, EpisodeData& e);
// Runs one episode of a task with the exploration policy and renders every frame.
EpisodeData RunEpisode(Task& task, Renderer& renderer, int steps, uint64_t episode_seed);

// A start and a goal taken from an exploration episode, as DINO-WM and LeWorldModel evaluate
// Push-T: the scene at step `start_step` and at `start_step + offset` of the episode `collect`
// would record for episode_seed.
struct ReplayGoal {
  SimState start, goal;
  int start_step = 0;
  double moved = 0;  // how far the task's tracked point moved from start to goal (m)
};
// The first window of the episode (of the task's length) in which the tracked point moves at
// least min_move; throws std::runtime_error if none does.
ReplayGoal MakeReplayGoal(Task& task, uint64_t episode_seed, int offset, double min_move);

// Joins the shard files of one collection (every shard, each complete) into one dataset at out,
// the same episode for episode as collecting it in one run: the file is the one a single run
// writes. Throws std::invalid_argument naming the file that is missing, incomplete, of another
// collection, or a duplicate. on_episode(done, total) after each episode.
// Returns the number of episodes written.
int MergeShards(const std::vector<std::string>& inputs, const std::string& out, bool overwrite,
                 const std::function<void(int, int)>& on_episode = {});

// Collects options.episodes episodes into options.out. on_progress is called from the calling
// thread after every committed episode. When *stop becomes true the workers finish nothing new
// and every complete episode stays in the file.
CollectResult Collect(const CollectOptions& options,
                      const std::function<void(const CollectProgress&)>& on_progress = {},
                      const std::atomic<bool>* stop = nullptr);

}  // namespace jepa_mpc::sim
