#include "sim/collector.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <condition_variable>
#include <exception>
#include <filesystem>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "sim/exploration.h"
#include "sim/robot_description.h"

namespace jepa_mpc::sim {

namespace {

uint64_t SplitMix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

TaskOptions MakeTaskOptions(const CollectOptions& o) {
  TaskOptions t;
  t.mjcf_file = o.mjcf_file;
  t.robot = o.robot;
  t.cameras = o.cameras;
  if (o.antialias >= 0) t.antialias = o.antialias;
  return t;
}

DatasetInfo MakeInfo(const CollectOptions& o, Task& task, int steps) {
  DatasetInfo info = DatasetInfoFor(task, o.image_size, steps, o.seed);
  if (o.shard_count > 0) {
    const auto [first, last] = ShardRange(o.episodes, o.shard_index, o.shard_count);
    info.shard_index = o.shard_index;
    info.shard_count = o.shard_count;
    info.first_episode = first;
    info.shard_episodes = last - first;
  }
  return info;
}

}  // namespace

DatasetInfo DatasetInfoFor(const Task& task, int image_size, int steps, uint64_t seed) {
  const Simulation& sim = task.sim();
  DatasetInfo info;
  info.robot = sim.spec().name;
  info.task = task.info().name;
  info.action_mode = robots::ActionModeName(sim.spec().action_mode);
  info.camera = sim.camera_label();
  info.antialias = sim.antialias();
  info.control_period = sim.spec().control_period;
  info.image_height = info.image_width = image_size;
  info.action_dim = task.action_dim();
  info.qpos_dim = sim.num_arm_joints() + (sim.has_gripper() ? 1 : 0);
  info.num_objects = sim.num_objects();
  info.seed = seed;
  info.episode_steps = steps;
  return info;
}

uint64_t EpisodeSeed(uint64_t seed, int k) {
  return SplitMix64(SplitMix64(seed) ^ static_cast<uint64_t>(k));
}

std::pair<int, int> ShardRange(int episodes, int i, int n) {
  const auto at = [&](int k) { return static_cast<int>(static_cast<int64_t>(episodes) * k / n); };
  return {at(i), at(i + 1)};
}

std::pair<int, int> ParseShard(const std::string& text, const std::string& flag) {
  int i = -1, n = -1;
  char rest = 0;
  if (std::sscanf(text.c_str(), "%d/%d%c", &i, &n, &rest) != 2 || n < 1 || i < 0 || i >= n) {
    throw std::invalid_argument(flag + " is '" + text + "', expected i/n with 0 <= i < n (e.g. 0/4)");
  }
  return {i, n};
}

void ValidateShard(int i, int n, int items, const std::string& noun) {
  if (n < 0 || (n > 0 && (i < 0 || i >= n))) {
    throw std::invalid_argument("--shard is " + std::to_string(i) + "/" + std::to_string(n) +
                                ", expected i/n with 0 <= i < n");
  }
  if (n > items) {
    throw std::invalid_argument("--shard " + std::to_string(i) + "/" + std::to_string(n) + " splits " +
                                std::to_string(items) + " " + noun + " into more shards than " + noun +
                                ": expected n <= --episodes");
  }
}

void CheckShardSet(const std::vector<std::pair<int, std::string>>& shards, int count, const std::string& whole) {
  std::string missing;
  size_t k = 0;
  for (int i = 0; i < count; ++i) {
    if (k < shards.size() && shards[k].first == i) {
      if (k + 1 < shards.size() && shards[k + 1].first == i) {
        throw std::invalid_argument("'" + shards[k + 1].second + "' and '" + shards[k].second + "' are both shard " +
                                    std::to_string(i) + "/" + std::to_string(count));
      }
      ++k;
    } else {
      missing += (missing.empty() ? "" : ", ") + std::to_string(i) + "/" + std::to_string(count);
    }
  }
  if (!missing.empty()) throw std::invalid_argument("missing shard " + missing + " of the " + whole);
}

void ValidateCollectOptions(const CollectOptions& o) {
  TaskRegistry().Get(o.task);
  if (!o.robot.empty()) MakeRobotSpec(o.robot);  // an unknown robot or a bad description, first
  if (o.episodes <= 0) {
    throw std::invalid_argument("--episodes is " + std::to_string(o.episodes) +
                                ", expected a positive count");
  }
  if (o.steps < 0 || o.steps > 100000) {
    throw std::invalid_argument("--steps is " + std::to_string(o.steps) +
                                ", expected 1..100000 (or 0 for the task's episode length)");
  }
  if (o.image_size < 8) {
    throw std::invalid_argument("--image-size is " + std::to_string(o.image_size) +
                                ", expected at least 8 pixels");
  }
  ValidateShard(o.shard_index, o.shard_count, o.episodes, "episodes");
  if (o.threads < 1 || o.threads > 256) {
    throw std::invalid_argument("--threads is " + std::to_string(o.threads) + ", expected 1..256");
  }
  if (o.out.empty()) throw std::invalid_argument("--out is empty, expected an HDF5 file path");
  if (o.resume && o.overwrite) {
    throw std::invalid_argument("--resume and --overwrite contradict each other");
  }
  namespace fs = std::filesystem;
  const fs::path out(o.out);
  const fs::path dir = out.has_parent_path() ? out.parent_path() : fs::path(".");
  if (!fs::is_directory(dir)) {
    throw std::invalid_argument("output directory '" + dir.string() + "' does not exist");
  }
  if (access(dir.c_str(), W_OK) != 0) {
    throw std::invalid_argument("output directory '" + dir.string() + "' is not writable");
  }
  if (fs::is_directory(out)) throw std::invalid_argument("--out '" + o.out + "' is a directory");
  if (o.resume && !fs::exists(out)) {
    throw std::invalid_argument("--resume: '" + o.out + "' does not exist");
  }
  if (!o.resume && !o.overwrite && fs::exists(out)) {
    throw std::invalid_argument("output '" + o.out +
                                "' already exists (use --resume to continue it or --overwrite)");
  }
  // Builds the scene once: a bad MJCF file or an image larger than the offscreen buffer
  // is reported here, before any file is written.
  auto task = MakeTask(o.task, MakeTaskOptions(o));
  const mjModel* m = task->sim().model();
  if (o.image_size > m->vis.global.offwidth || o.image_size > m->vis.global.offheight) {
    throw std::invalid_argument("--image-size " + std::to_string(o.image_size) +
                                " exceeds the offscreen buffer " +
                                std::to_string(m->vis.global.offwidth) + "x" +
                                std::to_string(m->vis.global.offheight));
  }
}

namespace {
ExplorationPolicy EpisodePolicy(uint64_t episode_seed, const Task& task) {
  return ExplorationPolicy(task.action_dim(), SplitMix64(episode_seed ^ 0xA5A5A5A5ull));
}
}  // namespace

ReplayGoal MakeReplayGoal(Task& task, uint64_t episode_seed, int offset, double min_move) {
  if (offset < 1) throw std::invalid_argument("replay offset must be at least one step");
  task.Reset(episode_seed);
  ExplorationPolicy policy = EpisodePolicy(episode_seed, task);
  policy.Reset(task);
  const int steps = task.info().episode_steps;
  std::vector<SimState> states{task.sim().GetState()};
  for (int t = 0; t < steps; ++t) {
    task.Step(policy.Act(task));
    states.push_back(task.sim().GetState());
  }
  // Positions as the states give them (the task measures its start and goal this way).
  std::vector<Eigen::Vector3d> tracked;
  for (const SimState& s : states) {
    task.sim().SetState(s);
    tracked.push_back(task.TrackedPosition());
  }
  for (int t = 0; t + offset <= steps; ++t) {
    const double moved = (tracked[t + offset] - tracked[t]).norm();
    if (moved >= min_move) return {states[t], states[t + offset], t, moved};
  }
  throw std::runtime_error("episode seed " + std::to_string(episode_seed) + ": the tracked point never moves " +
                           std::to_string(min_move) + " m in " + std::to_string(offset) + " steps");
}

EpisodeData EmptyEpisode(const Task& task, const Renderer& renderer, int steps, uint64_t episode_seed) {
  const Simulation& sim = task.sim();
  const size_t T = static_cast<size_t>(steps), Q = sim.num_arm_joints() + (sim.has_gripper() ? 1 : 0);
  EpisodeData e;
  e.length = steps;
  e.seed = episode_seed;
  e.images.resize(T * renderer.height() * renderer.width() * 3);
  e.qpos.resize(T * Q);
  e.ee_pos.resize(T * 3);
  e.object_pos.resize(T * 3 * sim.num_objects());
  e.actions.resize(T * task.action_dim());
  return e;
}

void RecordFrame(Task& task, Renderer& renderer, int t, EpisodeData& e) {
  Simulation& sim = task.sim();
  const size_t H = renderer.height(), W = renderer.width(), O = sim.num_objects();
  renderer.Render(sim.data(), sim.camera_ids(), e.images.data() + static_cast<size_t>(t) * H * W * 3);
  const std::vector<double> q = sim.joint_state();
  std::copy(q.begin(), q.end(), e.qpos.begin() + static_cast<ptrdiff_t>(t) * q.size());
  const Eigen::Vector3d ee = sim.ee_pos();
  for (int i = 0; i < 3; ++i) e.ee_pos[t * 3 + i] = ee[i];
  for (size_t o = 0; o < O; ++o) {
    const Eigen::Vector3d p = sim.object_pos(static_cast<int>(o));
    for (int i = 0; i < 3; ++i) e.object_pos[(t * O + o) * 3 + i] = p[i];
  }
}

EpisodeData RunEpisode(Task& task, Renderer& renderer, int steps, uint64_t episode_seed) {
  task.Reset(episode_seed);
  ExplorationPolicy policy = EpisodePolicy(episode_seed, task);
  policy.Reset(task);
  const int A = task.action_dim();
  EpisodeData e = EmptyEpisode(task, renderer, steps, episode_seed);
  for (int t = 0; t < steps; ++t) {
    RecordFrame(task, renderer, t, e);
    const Eigen::VectorXd a = policy.Act(task);
    for (int i = 0; i < A; ++i) e.actions[t * A + i] = static_cast<float>(a[i]);
    task.Step(a);
  }
  return e;
}

CollectResult Collect(const CollectOptions& o,
                      const std::function<void(const CollectProgress&)>& on_progress,
                      const std::atomic<bool>* stop) {
  ValidateCollectOptions(o);
  const auto t0 = std::chrono::steady_clock::now();
  auto probe = MakeTask(o.task, MakeTaskOptions(o));
  const int steps = o.steps > 0 ? o.steps : probe->info().episode_steps;
  const DatasetInfo info = MakeInfo(o, *probe, steps);
  probe.reset();
  DatasetWriter writer =
      o.resume ? DatasetWriter::Resume(o.out, info) : DatasetWriter::Create(o.out, info, o.overwrite);

  CollectResult result;
  // This run's episodes: the collection's [first, first + count), file entries 0..count-1.
  const int first = info.sharded() ? info.first_episode : 0;
  const int count = info.sharded() ? info.shard_episodes : o.episodes;
  const int start = writer.num_episodes();
  const int threads = std::max(1, std::min(o.threads, count - start));
  std::mutex mu;
  std::condition_variable cv;
  std::map<int, EpisodeData> ready;
  int next = start, written = start;
  bool quit = false;
  std::exception_ptr error;

  auto worker = [&] {
    try {
      auto task = MakeTask(o.task, MakeTaskOptions(o));
      RenderOptions ro;
      ro.width = ro.height = o.image_size;
      Renderer renderer(task->sim().model(), ro);
      for (;;) {
        int k;
        {
          std::unique_lock<std::mutex> lock(mu);
          // Stay at most a few episodes ahead of the writer to bound memory.
          cv.wait(lock, [&] { return quit || next - written < 2 * threads; });
          if (quit || next >= count) return;
          k = next++;
        }
        EpisodeData e = RunEpisode(*task, renderer, steps, EpisodeSeed(o.seed, first + k));
        std::lock_guard<std::mutex> lock(mu);
        ready.emplace(k, std::move(e));
        cv.notify_all();
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu);
      if (!error) error = std::current_exception();
      quit = true;
      cv.notify_all();
    }
  };
  std::vector<std::thread> pool;
  for (int i = 0; i < threads && start < count; ++i) pool.emplace_back(worker);

  auto finish = [&] {
    {
      std::lock_guard<std::mutex> lock(mu);
      quit = true;
    }
    cv.notify_all();
    for (auto& t : pool) t.join();
  };
  try {
    while (written < count) {
      EpisodeData e;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait_for(lock, std::chrono::milliseconds(100), [&] {
          return ready.count(written) || error || (stop && stop->load());
        });
        if (error) break;
        auto it = ready.find(written);
        if (it == ready.end()) {
          if (stop && stop->load()) {
            result.interrupted = true;
            break;
          }
          continue;
        }
        e = std::move(it->second);
        ready.erase(it);
      }
      writer.Append(e);
      result.frames += e.length;
      {
        std::lock_guard<std::mutex> lock(mu);
        ++written;
      }
      cv.notify_all();
      result.episodes_written++;
      if (on_progress) {
        on_progress({written, count, result.frames,
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()});
      }
    }
  } catch (...) {
    finish();
    throw;
  }
  finish();
  if (error) std::rethrow_exception(error);
  result.episodes_in_file = writer.num_episodes();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

int MergeShards(const std::vector<std::string>& inputs, const std::string& out, bool overwrite,
                 const std::function<void(int, int)>& on_episode) {
  if (inputs.empty()) throw std::invalid_argument("nothing to merge: give the shard files");
  if (!overwrite && std::filesystem::exists(out)) {
    throw std::invalid_argument("output '" + out + "' already exists (use --overwrite to replace it)");
  }
  struct Shard {
    std::string path;
    DatasetInfo info;
    int total;
  };
  std::vector<Shard> shards;
  for (const std::string& path : inputs) {
    if (std::filesystem::exists(out) && std::filesystem::equivalent(path, out)) {
      throw std::invalid_argument("merge: the output '" + out + "' is also an input");
    }
    DatasetReader reader(path);
    const DatasetInfo& info = reader.info();
    if (!info.sharded()) {
      throw std::invalid_argument("'" + path + "' is not a shard (collect --shard i/n writes shards)");
    }
    if (reader.num_episodes() != info.shard_episodes) {
      throw std::invalid_argument("shard '" + path + "' holds " + std::to_string(reader.num_episodes()) + " of its " +
                                  std::to_string(info.shard_episodes) + " episodes: finish it with collect --shard " +
                                  std::to_string(info.shard_index) + "/" + std::to_string(info.shard_count) +
                                  " --resume");
    }
    shards.push_back({path, info, reader.num_episodes()});
  }
  std::sort(shards.begin(), shards.end(),
            [](const Shard& a, const Shard& b) { return a.info.shard_index < b.info.shard_index; });
  const DatasetInfo& first = shards.front().info;
  const DatasetInfo whole = first.Whole();
  std::vector<std::pair<int, std::string>> indices;
  for (const Shard& s : shards) {
    if (!s.info.Whole().SameCollection(whole) || s.info.shard_count != first.shard_count) {
      throw std::invalid_argument("'" + s.path + "' holds " + s.info.Describe() + ", '" + shards.front().path +
                                  "' " + first.Describe() + ": shards of one collection must agree");
    }
    indices.emplace_back(s.info.shard_index, s.path);
  }
  CheckShardSet(indices, first.shard_count, "collection");
  // Contiguous blocks from episode 0: the split collect makes.
  int next = 0;
  for (const Shard& s : shards) {
    if (s.info.first_episode != next) {
      throw std::invalid_argument("shard '" + s.path + "' starts at episode " + std::to_string(s.info.first_episode) +
                                  ", expected " + std::to_string(next));
    }
    next += s.info.shard_episodes;
  }
  DatasetWriter writer = DatasetWriter::Create(out, whole, overwrite);
  for (const Shard& s : shards) {
    DatasetReader reader(s.path);
    for (int e = 0; e < s.total; ++e) {
      EpisodeData episode = reader.Read(e);
      const int k = s.info.first_episode + e;
      if (episode.seed != EpisodeSeed(whole.seed, k)) {
        throw std::invalid_argument("episode " + std::to_string(e) + " of '" + s.path +
                                    "' was not collected as the collection's episode " + std::to_string(k));
      }
      writer.Append(episode);
      if (on_episode) on_episode(writer.num_episodes(), next);
    }
  }
  return writer.num_episodes();
}

}  // namespace jepa_mpc::sim
