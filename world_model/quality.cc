#include "world_model/quality.h"

#include <cmath>
#include <random>
#include <sstream>

#include "world_model/goal_cost.h"
#include "world_model/losses.h"

namespace jepa_mpc::world_model {

torch::Tensor EncodeAll(WorldModel& model, const Trajectories& data, int64_t batch) {
  const int64_t E = data.episodes(), T = data.length();
  auto flat = data.images.reshape({E * T, 3, data.images.size(3), data.images.size(4)});
  std::vector<torch::Tensor> parts;
  for (int64_t i = 0; i < E * T; i += batch) {
    parts.push_back(model->Encode(ToFloatImages(flat.slice(0, i, std::min(E * T, i + batch)))));
  }
  return torch::cat(parts).reshape({E, T, -1});
}

torch::Tensor RidgeFit(const torch::Tensor& x_train, const torch::Tensor& y_train, double ridge) {
  auto xt = x_train.to(torch::kDouble), yt = y_train.to(torch::kDouble);
  auto mx = xt.mean(0, true), my = yt.mean(0, true);
  auto xc = xt - mx, yc = yt - my;
  const int64_t D = xt.size(1);
  auto gram = torch::matmul(xc.t(), xc) / xt.size(0);
  const double scale = gram.diagonal().mean().item<double>() + 1e-12;
  auto w = torch::linalg::solve(gram + ridge * scale * torch::eye(D, torch::kDouble),
                                torch::matmul(xc.t(), yc) / xt.size(0), true);
  return torch::cat({w, my - torch::matmul(mx, w)});
}

double RidgeProbeR2(const torch::Tensor& x_train, const torch::Tensor& y_train,
                    const torch::Tensor& x_test, const torch::Tensor& y_test, double ridge) {
  const auto fit = RidgeFit(x_train, y_train, ridge);
  const int64_t D = fit.size(0) - 1;
  auto pred = torch::matmul(x_test.to(torch::kDouble), fit.narrow(0, 0, D)) + fit.narrow(0, D, 1);
  auto yte = y_test.to(torch::kDouble);
  const double sse = (pred - yte).pow(2).sum().item<double>();
  const double sst = (yte - yte.mean(0, true)).pow(2).sum().item<double>();
  return sst > 0 ? 1.0 - sse / sst : NAN;
}

namespace {
torch::Tensor Ranks(const torch::Tensor& v) {
  auto order = v.argsort();
  auto ranks = torch::empty_like(v, torch::kDouble);
  ranks.index_put_({order}, torch::arange(v.size(0), torch::kDouble));
  return ranks;
}
}  // namespace

double SpearmanCorrelation(const torch::Tensor& a, const torch::Tensor& b) {
  auto ra = Ranks(a.flatten()), rb = Ranks(b.flatten());
  ra = ra - ra.mean();
  rb = rb - rb.mean();
  return ((ra * rb).sum() / (ra.norm() * rb.norm() + 1e-12)).item<double>();
}

QualityReport EvaluateQuality(WorldModel& model, const TrainingData& data, uint64_t seed,
                              const GoalSet* goals) {
  torch::NoGradGuard no_grad;
  QualityReport r;
  const Trajectories& val = data.val;
  auto z = EncodeAll(model, val);  // [E, T, D]
  const int64_t E = z.size(0), T = z.size(1), D = z.size(2), W = model->history();
  r.latent_dim = D;
  auto state = model->State(z, val.qpos);  // [E, T, S]: rollouts start from true states

  // Scenes with objects: at horizon 5 the ratio is also taken over the windows in which the
  // first object moves, on the object group's coordinates (the whole embedding without one).
  const bool objects = val.object_pos.size(2) >= 3;
  const auto group = model->meta().config.object_keypoints > 0 ? ObjectGroupIndices(model->meta().config)
                                                               : torch::arange(D, torch::kLong);
  for (int h : r.horizons) {
    if (W - 1 + h >= T) {
      r.prediction_ratio.push_back(NAN);
      continue;
    }
    double err = 0, base = 0, err_moved = 0, base_moved = 0;
    const bool moved_windows = objects && h == 5;
    for (int64_t s = W - 1; s + h < T; s += 2) {
      auto context = state.narrow(1, s - W + 1, W);            // [E, W, S]
      auto past = val.actions.narrow(1, s - W + 1, W - 1);     // [E, W-1, A]
      auto acts = val.actions.narrow(1, s, h);                 // [E, h, A]
      model->eval();
      auto pred = RolloutPredictor(model->predictor, context, past, acts).select(1, h - 1).narrow(-1, 0, D);
      auto target = z.select(1, s + h);
      err += (pred - target).pow(2).sum().item<double>();
      base += (z.select(1, s) - target).pow(2).sum().item<double>();
      if (moved_windows) {
        // Windows in which the first object moved more than 1 cm (on the table plane).
        auto moved = (val.object_pos.select(1, s + h).narrow(1, 0, 2) - val.object_pos.select(1, s).narrow(1, 0, 2))
                         .norm(2, -1) > 0.01;
        if (moved.any().item<bool>()) {
          auto pick = [&](const torch::Tensor& x) { return x.index({moved}).index_select(1, group); };
          err_moved += (pick(pred) - pick(target)).pow(2).sum().item<double>();
          base_moved += (pick(z.select(1, s)) - pick(target)).pow(2).sum().item<double>();
          r.object_moved_windows += moved.sum().item<int64_t>();
        }
      }
    }
    if (moved_windows && base_moved > 0) r.prediction_ratio_object_moved = err_moved / base_moved;
    r.prediction_ratio.push_back(base > 0 ? err / base : NAN);
  }

  auto flat = z.reshape({E * T, D});
  r.effective_rank = EffectiveRank(flat);
  auto std = flat.std(0);
  r.dim_std.assign(std.data_ptr<float>(), std.data_ptr<float>() + D);

  // Probes: fit on (a sample of) training embeddings, score on held-out ones.
  const int64_t max_train_episodes = std::min<int64_t>(data.train.episodes(), 4000 / std::max<int64_t>(1, T) + 1);
  const Trajectories train = data.train.Slice(0, max_train_episodes);
  auto zt = EncodeAll(model, train).reshape({-1, D});
  r.probe_r2_ee = RidgeProbeR2(zt, train.ee_pos.reshape({-1, 3}), flat, val.ee_pos.reshape({-1, 3}));
  r.probe_ee = RidgeFit(zt, train.ee_pos.reshape({-1, 3}));
  if (val.object_pos.size(2) >= 3) {
    r.probe_r2_object =
        RidgeProbeR2(zt, train.object_pos.narrow(2, 0, 3).reshape({-1, 3}), flat,
                     val.object_pos.narrow(2, 0, 3).reshape({-1, 3}));
    r.probe_object = RidgeFit(zt, train.object_pos.narrow(2, 0, 3).reshape({-1, 3}));
  }

  // Plannability: embedding distance against end-effector distance over random pairs.
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int64_t> pick(0, E * T - 1);
  r.pairs = std::min<int64_t>(4000, E * T * (E * T - 1) / 2);
  auto ia = torch::empty({r.pairs}, torch::kLong), ib = torch::empty({r.pairs}, torch::kLong);
  for (int64_t i = 0; i < r.pairs; ++i) {
    int64_t a = pick(rng), b = pick(rng);
    while (b == a) b = pick(rng);
    ia[i] = a, ib[i] = b;
  }
  auto ee = val.ee_pos.reshape({-1, 3});
  auto dz = (flat.index_select(0, ia) - flat.index_select(0, ib)).norm(2, 1);
  auto de = (ee.index_select(0, ia) - ee.index_select(0, ib)).norm(2, 1);
  r.spearman_ee = SpearmanCorrelation(dz, de);

  if (goals && goals->images.defined() && goals->images.size(0) > 0) {
    const int64_t G = goals->images.size(0);
    if (goals->object && val.object_pos.size(2) < 3) {
      throw std::invalid_argument("goal set tracks an object, the dataset records none");
    }
    TORCH_CHECK(goals->positions.dim() == 2 && goals->positions.size(0) == G && goals->positions.size(1) == 3,
                "goal positions must be [G, 3]");
    LatentGoalCost cost(model);
    auto zg = model->Encode(goals->images.to(torch::kFloat32));  // [G, D]
    auto tracked = (goals->object ? val.object_pos.narrow(2, 0, 3) : val.ee_pos).reshape({-1, 3});
    std::uniform_int_distribution<int64_t> pick_goal(0, G - 1);
    r.task_pairs = std::min<int64_t>(4000, E * T * G);
    auto energy = torch::empty({r.task_pairs}, torch::kDouble), dist = torch::empty({r.task_pairs}, torch::kDouble);
    for (int64_t i = 0; i < r.task_pairs; ++i) {
      const int64_t f = pick(rng), g = pick_goal(rng);
      cost.SetGoalEmbedding(zg[g]);
      energy[i] = cost.Distance(flat[f]).item<double>();
      dist[i] = (tracked[f].to(torch::kDouble) - goals->positions[g].to(torch::kDouble)).norm().item<double>();
    }
    r.spearman_task = SpearmanCorrelation(energy, dist);
  }
  return r;
}

nlohmann::json QualityReport::ToJson() const {
  nlohmann::json j;
  for (size_t i = 0; i < horizons.size(); ++i) {
    j["prediction_ratio_h" + std::to_string(horizons[i])] = prediction_ratio[i];
  }
  if (!std::isnan(prediction_ratio_object_moved)) {
    j["prediction_ratio_object_moved_h5"] = prediction_ratio_object_moved;
    j["object_moved_windows"] = object_moved_windows;
  }
  j["effective_rank"] = effective_rank;
  j["latent_dim"] = latent_dim;
  j["dim_std"] = dim_std;
  j["probe_r2_ee"] = probe_r2_ee;
  if (!std::isnan(probe_r2_object)) j["probe_r2_object"] = probe_r2_object;
  auto rows = [](const torch::Tensor& probe) {
    nlohmann::json m = nlohmann::json::array();
    auto p = probe.to(torch::kDouble).contiguous();
    for (int64_t i = 0; i < p.size(0); ++i) {
      m.push_back(std::vector<double>(p[i].data_ptr<double>(), p[i].data_ptr<double>() + p.size(1)));
    }
    return m;
  };
  if (probe_ee.defined()) j["probe_ee"] = rows(probe_ee);
  if (probe_object.defined()) j["probe_object"] = rows(probe_object);
  j["spearman_ee"] = spearman_ee;
  j["pairs"] = pairs;
  if (!std::isnan(spearman_task)) {
    j["spearman_task"] = spearman_task;
    j["task_pairs"] = task_pairs;
  }
  return j;
}

std::string QualityReport::Summary() const {
  std::ostringstream s;
  s.precision(3);
  s << "prediction error / copy baseline:";
  for (size_t i = 0; i < horizons.size(); ++i) s << " h" << horizons[i] << " " << prediction_ratio[i];
  if (!std::isnan(prediction_ratio_object_moved)) {
    s << "\nwhile the object moves (> 1 cm in 5 steps, " << object_moved_windows
      << " windows): h5 " << prediction_ratio_object_moved;
  }
  double min_std = 1e9;
  for (double v : dim_std) min_std = std::min(min_std, v);
  s << "\neffective rank " << effective_rank << " of " << latent_dim << " (min dim std " << min_std
    << ")\nprobe R^2 end effector " << probe_r2_ee;
  if (!std::isnan(probe_r2_object)) s << ", object " << probe_r2_object;
  s << "\nplannability: Spearman(embedding distance, end-effector distance) " << spearman_ee
    << " over " << pairs << " pairs";
  if (!std::isnan(spearman_task)) {
    s << "\ntask plannability: Spearman(goal energy, task distance to goal) " << spearman_task << " over "
      << task_pairs << " frame-goal pairs";
  }
  return s.str();
}

}  // namespace jepa_mpc::world_model
