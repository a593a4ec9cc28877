#include "world_model/data.h"

#include <stdexcept>

namespace jepa_mpc::world_model {

Trajectories Trajectories::Slice(int64_t begin, int64_t end) const {
  return {images.slice(0, begin, end), actions.slice(0, begin, end), ee_pos.slice(0, begin, end),
          object_pos.slice(0, begin, end), qpos.slice(0, begin, end)};
}

Trajectories Trajectories::Cat(const std::vector<Trajectories>& parts) {
  auto field = [&](torch::Tensor Trajectories::*member) {
    std::vector<torch::Tensor> all;
    for (const Trajectories& p : parts) all.push_back(p.*member);
    return torch::cat(all);
  };
  return {field(&Trajectories::images), field(&Trajectories::actions), field(&Trajectories::ee_pos),
          field(&Trajectories::object_pos), field(&Trajectories::qpos)};
}

namespace {

// Every episode of one dataset as tensors.
Trajectories ReadEpisodes(const sim::DatasetReader& reader, const std::string& path) {
  const sim::DatasetInfo& info = reader.info();
  const int64_t E = reader.num_episodes();
  const int64_t T = info.episode_steps, H = info.image_height, W = info.image_width;
  const int64_t A = info.action_dim, O = info.num_objects, Q = info.qpos_dim;
  Trajectories all;
  all.images = torch::empty({E, T, 3, H, W}, torch::kUInt8);
  all.actions = torch::empty({E, T, A}, torch::kFloat32);
  all.ee_pos = torch::empty({E, T, 3}, torch::kFloat32);
  all.object_pos = torch::empty({E, T, 3 * O}, torch::kFloat32);
  all.qpos = torch::empty({E, T, Q}, torch::kFloat32);
  for (int64_t e = 0; e < E; ++e) {
    sim::EpisodeData ep = reader.Read(static_cast<int>(e));
    if (ep.length != T) {
      throw std::runtime_error("dataset '" + path + "' episode " + std::to_string(e) + " has " +
                               std::to_string(ep.length) + " steps, expected " + std::to_string(T));
    }
    // [T, H, W, 3] -> [T, 3, H, W]
    auto img = torch::from_blob(ep.images.data(), {T, H, W, 3}, torch::kUInt8);
    all.images[e].copy_(img.permute({0, 3, 1, 2}));
    all.actions[e].copy_(torch::from_blob(ep.actions.data(), {T, A}, torch::kFloat32));
    all.ee_pos[e].copy_(torch::from_blob(ep.ee_pos.data(), {T, 3}, torch::kFloat64));
    if (Q > 0) all.qpos[e].copy_(torch::from_blob(ep.qpos.data(), {T, Q}, torch::kFloat64));
    if (O > 0) {
      all.object_pos[e].copy_(torch::from_blob(ep.object_pos.data(), {T, 3 * O}, torch::kFloat64));
    }
  }
  if (!torch::isfinite(all.actions).all().item<bool>()) {
    throw std::runtime_error("dataset '" + path + "' has non-finite actions");
  }
  if (!torch::isfinite(all.qpos).all().item<bool>()) {
    throw std::runtime_error("dataset '" + path + "' has non-finite joint states (obs/qpos)");
  }
  return all;
}

}  // namespace

TrainingData LoadTrainingData(const std::string& path, double val_fraction, int64_t min_length,
                              const std::vector<std::string>& extra) {
  if (!(val_fraction > 0 && val_fraction < 1)) {
    throw std::invalid_argument("validation fraction " + std::to_string(val_fraction) +
                                " is out of range, expected 0 < f < 1");
  }
  sim::DatasetReader reader(path);
  const sim::DatasetInfo& info = reader.info();
  const int64_t E = reader.num_episodes();
  if (E < 2) {
    throw std::runtime_error("dataset '" + path + "' holds " + std::to_string(E) +
                             " episodes, expected at least 2 (one is held out)");
  }
  if (info.episode_steps < min_length) {
    throw std::runtime_error("dataset '" + path + "' has episodes of " + std::to_string(info.episode_steps) +
                             " steps, training needs at least " + std::to_string(min_length));
  }
  TrainingData data;
  data.info = info;
  const Trajectories all = ReadEpisodes(reader, path);
  const int64_t n_val = std::max<int64_t>(1, static_cast<int64_t>(E * val_fraction + 0.5));
  data.train = all.Slice(0, E - n_val);
  data.val = all.Slice(E - n_val, E);
  std::vector<Trajectories> parts{data.train};
  for (const std::string& more : extra) {
    sim::DatasetReader r(more);
    sim::DatasetInfo a = r.info().Whole(), b = info.Whole();
    a.seed = b.seed = 0;  // another collection of the same kind
    if (!a.SameCollection(b)) {
      throw std::runtime_error("extra dataset '" + more + "' is " + r.info().Describe() + ", camera " + r.info().camera +
                               " (anti-aliasing " + std::to_string(r.info().antialias) + "), expected data like '" +
                               path + "': " + info.Describe() + ", camera " + info.camera + " (anti-aliasing " +
                               std::to_string(info.antialias) + ")");
    }
    parts.push_back(ReadEpisodes(r, more));
    data.extra_episodes += parts.back().episodes();
  }
  if (parts.size() > 1) data.train = Trajectories::Cat(parts);
  return data;
}

TrainingData TrainingData::Primary() const {
  TrainingData p = *this;
  p.train = train.Slice(0, train.episodes() - extra_episodes);
  p.extra_episodes = 0;
  return p;
}

torch::Tensor ToFloatImages(const torch::Tensor& images) {
  return images.to(torch::kFloat32).div_(255.0);
}

namespace {

// Whether some object at `now` is more than `limit` (m) from where it was at `then` (3 values per
// object, as Trajectories::object_pos holds them).
bool ObjectsMoved(const float* then, const float* now, int64_t objects, double limit) {
  for (int64_t o = 0; o < 3 * objects; o += 3) {
    double d2 = 0;
    for (int k = 0; k < 3; ++k) {
      const double d = static_cast<double>(now[o + k]) - then[o + k];
      d2 += d * d;
    }
    if (d2 > limit * limit) return true;
  }
  return false;
}

}  // namespace

Window DrawWindow(int64_t E, int64_t T, int64_t length, std::mt19937_64& rng, const std::vector<Window>* favoured,
                  double favoured_share) {
  if (favoured_share > 0 && std::uniform_real_distribution<double>(0, 1)(rng) < favoured_share) {
    const Window& w = (*favoured)[std::uniform_int_distribution<size_t>(0, favoured->size() - 1)(rng)];
    TORCH_CHECK(w.episode >= 0 && w.episode < E && w.start >= 0 && w.start <= T - length, "favoured window (",
                w.episode, ", ", w.start, ") outside the data");
    return w;
  }
  const int64_t e = std::uniform_int_distribution<int64_t>(0, E - 1)(rng);
  return {e, std::uniform_int_distribution<int64_t>(0, T - length)(rng)};
}

Batch SampleBatch(const Trajectories& data, int64_t batch, int64_t length, std::mt19937_64& rng,
                  int64_t pair_gap, int64_t keep_begin, int64_t keep_end, const std::vector<Window>* favoured,
                  double favoured_share, double pair_still) {
  TORCH_CHECK(favoured_share >= 0 && favoured_share <= 1, "favoured share ", favoured_share, " outside [0, 1]");
  TORCH_CHECK(favoured_share == 0 || (favoured && !favoured->empty()), "a favoured share without favoured windows");
  if (keep_end < 0) keep_end = batch;
  TORCH_CHECK(0 <= keep_begin && keep_begin < keep_end && keep_end <= batch, "keep [", keep_begin, ", ",
              keep_end, ") of a batch of ", batch);
  const int64_t E = data.episodes(), T = data.length();
  TORCH_CHECK(length <= T, "sub-trajectory of ", length, " frames from episodes of ", T);
  std::vector<torch::Tensor> images, actions, qpos, pairs;
  // Object positions [E, T, 3 * objects], for still pairs.
  const int64_t objects = data.object_pos.defined() ? data.object_pos.size(2) / 3 : 0;
  torch::Tensor object_pos = objects > 0 && pair_still > 0 ? data.object_pos.contiguous() : torch::Tensor();
  const float* object = object_pos.defined() ? object_pos.data_ptr<float>() : nullptr;
  images.reserve(batch);
  actions.reserve(batch);
  qpos.reserve(batch);
  for (int64_t b = 0; b < batch; ++b) {
    const Window w = DrawWindow(E, T, length, rng, favoured, favoured_share);
    const int64_t e = w.episode, s = w.start;
    const bool keep = b >= keep_begin && b < keep_end;
    if (keep) {
      images.push_back(data.images[e].narrow(0, s, length));
      actions.push_back(data.actions[e].narrow(0, s, length));
      qpos.push_back(data.qpos[e].narrow(0, s, length));
    }
    int64_t still_pair = -1;
    if (pair_gap > 0 && pair_still > 0 && objects > 0) {
      // The frames far enough away at which no object has moved from where it was at s.
      std::vector<int64_t> still;
      const float* first = object + (e * T + s) * 3 * objects;
      for (int64_t t = 0; t < T; ++t) {
        if (std::abs(t - s) >= pair_gap && !ObjectsMoved(first, object + (e * T + t) * 3 * objects, objects, pair_still)) {
          still.push_back(t);
        }
      }
      if (!still.empty()) still_pair = still[std::uniform_int_distribution<size_t>(0, still.size() - 1)(rng)];
    }
    if (still_pair >= 0) {
      if (keep) pairs.push_back(data.images[e][still_pair]);
    } else if (pair_gap > 0) {
      // Frames before s - gap + 1 and from s + gap on.
      const int64_t before = std::max<int64_t>(0, s - pair_gap + 1), after = std::max<int64_t>(0, T - s - pair_gap);
      int64_t t = s > T - 1 - s ? 0 : T - 1;  // the farthest frame
      if (before + after > 0) {
        const int64_t i = std::uniform_int_distribution<int64_t>(0, before + after - 1)(rng);
        t = i < before ? i : s + pair_gap + (i - before);
      }
      if (keep) pairs.push_back(data.images[e][t]);
    }
  }
  Batch out{ToFloatImages(torch::stack(images)), torch::stack(actions), torch::stack(qpos), {}};
  if (pair_gap > 0) out.pair_images = ToFloatImages(torch::stack(pairs));
  return out;
}

std::vector<Window> MovingWindows(const Trajectories& data, int64_t length, double min_move) {
  std::vector<Window> windows;
  const int64_t E = data.episodes(), T = data.length();
  if (!data.object_pos.defined() || data.object_pos.size(2) == 0 || length > T || length < 1) return windows;
  const int64_t objects = data.object_pos.size(2) / 3;
  const torch::Tensor pos = data.object_pos.contiguous();  // [E, T, 3 * objects]
  const float* object = pos.data_ptr<float>();
  for (int64_t e = 0; e < E; ++e) {
    for (int64_t s = 0; s + length <= T; ++s) {
      const float* first = object + (e * T + s) * 3 * objects;
      bool moves = false;
      for (int64_t t = s + 1; t < s + length && !moves; ++t) {
        moves = ObjectsMoved(first, object + (e * T + t) * 3 * objects, objects, min_move);
      }
      if (moves) windows.push_back({e, s});
    }
  }
  return windows;
}

}  // namespace jepa_mpc::world_model
