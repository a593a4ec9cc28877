#pragma once

// Episode datasets in one HDF5 file, in a robomimic-like layout:
//   /data                          attrs: robot, task, action_mode, camera, control_period,
//                                         image_height, image_width, action_dim, qpos_dim,
//                                         num_objects, seed, episode_steps, format_version,
//                                         total (number of complete episodes); a shard of a
//                                         collection (collect --shard) also shard_index,
//                                         shard_count, first_episode, shard_episodes
//   /data/demo_<k>/obs/image       T x H x W x 3 uint8 (chunked, deflate-compressed)
//   /data/demo_<k>/obs/qpos        T x Q float64: arm joint angles (rad) [, finger opening (m)]
//   /data/demo_<k>/obs/ee_pos      T x 3 float64 (m, world)
//   /data/demo_<k>/obs/object_pos  T x 3 float64 per object (only when the scene has objects)
//   /data/demo_<k>/actions         T x A float32 in [-1, 1]; actions[t] is applied at obs[t]
//                                  attrs: num_samples, seed
// The file is closed between episodes and `total` is written last, so a killed writer leaves
// a readable file holding every complete episode; readers trust `total`, not the group count.

#include <cstdint>
#include <string>
#include <vector>

namespace jepa_mpc::sim {

constexpr int kDatasetFormatVersion = 1;

struct DatasetInfo {
  std::string robot;
  std::string task;
  std::string action_mode;
  std::string camera;
  // Anti-aliasing samples per pixel the images were rendered with; -1: not recorded (files
  // written before it was: the robot model's own).
  int antialias = -1;
  double control_period = 0;
  int image_height = 0;
  int image_width = 0;
  int action_dim = 0;
  int qpos_dim = 0;
  int num_objects = 0;
  uint64_t seed = 0;
  int episode_steps = 0;
  int format_version = kDatasetFormatVersion;
  // A shard of a collection split over processes or machines (collect --shard i/n): the
  // collection's episodes [first_episode, first_episode + shard_episodes), stored as this file's
  // demo_0, demo_1, ... shard_count 0: a whole collection.
  int shard_index = 0;
  int shard_count = 0;
  int first_episode = 0;
  int shard_episodes = 0;

  bool sharded() const { return shard_count > 0; }
  // The whole collection a shard belongs to: this info without the shard fields.
  DatasetInfo Whole() const {
    DatasetInfo w = *this;
    w.shard_index = w.shard_count = w.first_episode = w.shard_episodes = 0;
    return w;
  }
  // The fields that must agree for two runs to write into one file (--resume).
  bool SameCollection(const DatasetInfo& other) const;
  std::string Describe() const;  // one line, for messages
};

struct EpisodeData {
  int length = 0;                 // T
  uint64_t seed = 0;              // the episode's own seed
  std::vector<uint8_t> images;    // T * H * W * 3
  std::vector<double> qpos;       // T * qpos_dim
  std::vector<double> ee_pos;     // T * 3
  std::vector<double> object_pos; // T * 3 * num_objects
  std::vector<float> actions;     // T * action_dim

  bool operator==(const EpisodeData& o) const;
};

class DatasetWriter {
 public:
  // Creates a new file. Throws std::runtime_error if it exists (unless overwrite) or cannot be
  // written.
  static DatasetWriter Create(const std::string& path, const DatasetInfo& info, bool overwrite);
  // Opens an existing file to append to. Throws std::runtime_error if it is missing, unreadable,
  // or was collected with other settings; drops an incomplete trailing episode.
  static DatasetWriter Resume(const std::string& path, const DatasetInfo& info);

  const DatasetInfo& info() const { return info_; }
  int num_episodes() const { return total_; }
  // Appends one episode as demo_<num_episodes()> and commits it (file flushed and closed).
  // Throws std::invalid_argument if the sizes do not match info().
  void Append(const EpisodeData& episode);

 private:
  void AppendUnchecked(const EpisodeData& episode);
  DatasetWriter(std::string path, DatasetInfo info, int total)
      : path_(std::move(path)), info_(std::move(info)), total_(total) {}
  std::string path_;
  DatasetInfo info_;
  int total_ = 0;
};

class DatasetReader {
 public:
  // Throws std::runtime_error naming the path if it is missing, not HDF5, or not a dataset of
  // this format.
  explicit DatasetReader(const std::string& path);
  ~DatasetReader();
  DatasetReader(const DatasetReader&) = delete;
  DatasetReader& operator=(const DatasetReader&) = delete;

  const DatasetInfo& info() const { return info_; }
  int num_episodes() const { return total_; }
  EpisodeData Read(int episode) const;

 private:
  std::string path_;
  int64_t file_ = -1;
  DatasetInfo info_;
  int total_ = 0;
};

}  // namespace jepa_mpc::sim
