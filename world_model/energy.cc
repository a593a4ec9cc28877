#include "world_model/energy.h"

#include <algorithm>

#include <cmath>
#include <stdexcept>
#include <string>
#include <tuple>

#include "world_model/quality.h"

namespace jepa_mpc::world_model {

torch::Tensor JointStateR2(const torch::Tensor& z_train, const torch::Tensor& q_train,
                           const torch::Tensor& z_test, const torch::Tensor& q_test, int64_t neighbours) {
  TORCH_CHECK(z_train.dim() == 2 && q_train.dim() == 2 && z_train.size(0) == q_train.size(0) &&
                  z_test.dim() == 2 && q_test.dim() == 2 && z_test.size(0) == q_test.size(0) &&
                  z_train.size(1) == z_test.size(1) && q_train.size(1) == q_test.size(1),
              "JointStateR2 expects z [N, D] and q [N, Q] for both sets");
  const int64_t k = std::min<int64_t>(neighbours, z_train.size(0));
  TORCH_CHECK(k >= 1, "JointStateR2 needs training frames");
  auto features = [](const torch::Tensor& q) { return JointFeatures(q.to(torch::kFloat32)); };
  auto ft = features(q_train), fv = features(q_test);
  auto mean = ft.mean(0, true), std = ft.std(0, true, true).clamp_min(1e-3);
  ft = (ft - mean) / std;
  fv = (fv - mean) / std;
  const auto zt = z_train.to(torch::kFloat32), zv = z_test.to(torch::kFloat32);
  std::vector<torch::Tensor> predicted;
  for (int64_t i = 0; i < fv.size(0); i += 1000) {
    auto d = torch::cdist(fv.slice(0, i, std::min(fv.size(0), i + 1000)), ft);
    auto nearest = std::get<1>(d.topk(k, 1, /*largest=*/false));  // [n, k]
    predicted.push_back(zt.index_select(0, nearest.reshape(-1)).reshape({nearest.size(0), k, -1}).mean(1));
  }
  auto pred = torch::cat(predicted).to(torch::kDouble), truth = zv.to(torch::kDouble);
  auto sse = (pred - truth).pow(2).sum(0), sst = (truth - truth.mean(0, true)).pow(2).sum(0);
  return 1 - sse / sst.clamp_min(1e-12);
}

std::pair<torch::Tensor, std::vector<double>> ConvexMixture(const std::vector<torch::Tensor>& P,
                                                            const std::vector<torch::Tensor>& t) {
  if (P.empty() || P.size() != t.size()) {
    throw std::invalid_argument("a convex mixture needs as many targets as feature sets, at least one");
  }
  const int64_t n = P[0].size(1);
  // Each constant's optimum given w is its pair's mean residual, so only w is stepped, on the
  // centred pairs stacked.
  std::vector<torch::Tensor> cp, ct;
  for (size_t i = 0; i < P.size(); ++i) {
    cp.push_back(P[i] - P[i].mean(0, true));
    ct.push_back(t[i] - t[i].mean());
  }
  const auto centred = torch::cat(cp), tc = torch::cat(ct);
  auto w = torch::full({n}, 1.0 / static_cast<double>(n), torch::kDouble);
  const double step = 1.0 / (centred.pow(2).sum(1).mean().item<double>() + 1e-12);  // the gradient's Lipschitz bound
  const auto ranks = torch::arange(1, n + 1, torch::kDouble);
  for (int it = 0; it < 2000; ++it) {
    auto gradient = centred.t().matmul(centred.matmul(w) - tc) / static_cast<double>(centred.size(0));
    w = w - step * gradient;
    auto sorted = std::get<0>(w.sort(0, /*descending=*/true));
    auto excess = sorted.cumsum(0) - 1;
    const int64_t last = ((sorted - excess / ranks) > 0).nonzero().max().item<int64_t>();
    w = (w - excess[last].item<double>() / static_cast<double>(last + 1)).clamp_min(0);
  }
  std::vector<double> constants;
  for (size_t i = 0; i < P.size(); ++i) constants.push_back((t[i] - P[i].matmul(w)).mean().item<double>());
  return {w, constants};
}

ReachHand ReachHandNamed(const std::string& name) {
  if (name == "probe") return ReachHand::kProbe;
  if (name == "fit") return ReachHand::kFit;
  if (name == "state") return ReachHand::kState;
  throw std::invalid_argument("reach hand is '" + name + "', expected probe, fit or state");
}

std::pair<std::vector<double>, std::vector<double>> FitHandMoves(const torch::Tensor& ee, const torch::Tensor& actions) {
  if (ee.dim() != 3 || ee.size(2) != 3 || actions.dim() != 3 || actions.size(2) < 3 ||
      actions.size(0) != ee.size(0) || actions.size(1) != ee.size(1) || ee.size(1) < 2) {
    throw std::invalid_argument("the hand's moves need positions [E, T, 3] and actions [E, T, A >= 3], T >= 2");
  }
  const int64_t T = ee.size(1);
  const auto p = ee.to(torch::kDouble);
  const auto moved = (p.narrow(1, 1, T - 1) - p.narrow(1, 0, T - 1)).reshape({-1, 3});
  const auto a = actions.narrow(1, 0, T - 1).narrow(2, 0, 3).to(torch::kDouble).reshape({-1, 3});
  const auto step = (moved * a).sum(0) / a.pow(2).sum(0).clamp_min(1e-12);
  const auto flat = p.reshape({-1, 3});
  const auto low = std::get<0>(flat.min(0)), high = std::get<0>(flat.max(0));
  std::vector<double> steps, box;
  for (int64_t i = 0; i < 3; ++i) {
    steps.push_back(step[i].item<double>());
    box.push_back(low[i].item<double>());
    box.push_back(high[i].item<double>());
  }
  if (!(steps[0] > 0 && steps[1] > 0 && steps[2] > 0)) {
    throw std::invalid_argument("the data's actions do not move the end effector along them (fitted steps " +
                                std::to_string(steps[0]) + ", " + std::to_string(steps[1]) + ", " +
                                std::to_string(steps[2]) + " m): a hand read from the robot needs end-effector actions");
  }
  return {steps, box};
}

GoalEnergy ObjectGoalEnergy(WorldModel& model, const TrainingData& data, double reach_weight,
                            bool group_by_variance, double push_offset, ReachHand hand) {
  const ModelConfig& c = model->meta().config;
  if (c.projector) {
    throw std::invalid_argument("an object goal energy needs a keypoint embedding (model option projector off)");
  }
  if (!data.train.qpos.defined() || data.train.qpos.size(2) == 0) {
    throw std::invalid_argument("an object goal energy needs the joint states (obs/qpos) in the dataset");
  }
  if (!(reach_weight >= 0)) throw std::invalid_argument("reach weight must be >= 0");
  if (!(push_offset >= 0) || !std::isfinite(push_offset)) {
    throw std::invalid_argument("push offset must be a number >= 0 (metres)");
  }
  const bool positions = data.val.object_pos.defined() && data.val.object_pos.size(2) >= 2;
  if (hand != ReachHand::kProbe && (!positions || !data.train.ee_pos.defined())) {
    throw std::invalid_argument(std::string(hand == ReachHand::kFit ? "a fitted hand" : "a hand read from the robot") +
                                " needs the object's and end effector's positions in the dataset "
                                "(obs/object_pos, obs/ee_pos)");
  }
  if (hand == ReachHand::kState && !(reach_weight > 0)) {
    throw std::invalid_argument("a hand read from the robot needs a reaching term (reach weight > 0)");
  }
  // Without an object group the arm's keypoints are found by the joint state, not the end
  // effector: the fit needs the group's hand.
  const bool fit_hand = hand == ReachHand::kFit && c.object_keypoints > 0;
  if (push_offset > 0 && (reach_weight <= 0 || !positions)) {
    throw std::invalid_argument("a push offset needs a reaching term (reach weight > 0) and the object's "
                                "positions in the dataset (obs/object_pos)");
  }
  torch::NoGradGuard no_grad;
  // Evenly spread frames: whole episodes keep the encoder's batches simple.
  auto sample = [&](const Trajectories& t, int64_t max_frames) {
    const int64_t episodes = std::max<int64_t>(1, std::min(t.episodes(), max_frames / t.length()));
    return t.Slice(0, episodes);
  };
  const Trajectories train = sample(data.train, 20000), val = sample(data.val, 10000);
  const int64_t D = c.latent_dim, Q = train.qpos.size(2);
  auto zt = EncodeAll(model, train).reshape({-1, D}), zv = EncodeAll(model, val).reshape({-1, D});
  auto var = zv.to(torch::kDouble).var(0);

  const int64_t K = c.keypoints, V = c.views, KV = K * V;
  GoalEnergy e;
  e.reach_weight = reach_weight;
  e.weights.assign(D, 0.0);
  // The reaching term runs from the mean of the keypoints weighted by arm[k] to the mean weighted
  // by object[k], in each view.
  std::vector<double> arm(KV, 0.0), object(KV, 0.0);
  std::vector<bool> in_group(KV, false);
  if (c.object_keypoints > 0) {
    // The model has an object group: the goal energy is its distance. The reaching term runs
    // from the hand, the arm keypoints that best tell where the end effector is (held-out R^2
    // of a probe from each keypoint to the end effector's position, to the 16th power), to the
    // object, the group's keypoints weighted by their variance (those that stay put have none).
    const auto group = ObjectGroupIndices(c);
    for (int64_t j = 0; j < group.size(0); ++j) {
      const int64_t index = group[j].item<int64_t>();
      if (index < KV) in_group[index] = true;  // the x coordinates name the keypoints
    }
    const auto ee_train = train.ee_pos.reshape({-1, 3}), ee_val = val.ee_pos.reshape({-1, 3});
    const torch::Tensor by_variance = KeypointVarianceWeights(zv.index_select(1, group));
    for (int64_t j = 0; j < group.size(0); ++j) {
      e.weights[group[j].item<int64_t>()] = group_by_variance ? by_variance[j].item<double>() : 1.0;
    }
    // Each object keypoint's spread (model option object_spread) weighs as its coordinates: a
    // block the goal image shows in sight is far from one the hand hides.
    for (int64_t j = 0; j < c.SpreadDims(); ++j) {
      e.weights[c.CoordinateDims() + j] = e.weights[group[j].item<int64_t>()];
    }
    for (int64_t i = 0; i < KV; ++i) {
      if (in_group[i]) {
        object[i] = var[i].item<double>() + var[KV + i].item<double>();
      } else {
        auto idx = torch::tensor({i, KV + i}, torch::kLong);
        const double r2 = RidgeProbeR2(zt.index_select(1, idx), ee_train, zv.index_select(1, idx), ee_val);
        arm[i] = std::pow(std::max(r2, 0.0), 16);
      }
    }
  } else {
    // Each keypoint's share of variance the joint state explains (x and y pooled): the arm's
    // weight; the rest, scaled so that the largest is 1, its goal-energy weight; that times the
    // keypoint's spread, its object weight.
    auto r2 = JointStateR2(zt, train.qpos.reshape({-1, Q}), zv, val.qpos.reshape({-1, Q}));
    double top = 0;
    for (int64_t i = 0; i < KV; ++i) {
      const double vx = var[i].item<double>(), vy = var[KV + i].item<double>();
      const double unexplained = (1 - r2[i].item<double>()) * vx + (1 - r2[KV + i].item<double>()) * vy;
      arm[i] = std::clamp(1 - unexplained / std::max(vx + vy, 1e-12), 0.0, 1.0);
      top = std::max(top, 1 - arm[i]);
    }
    for (int64_t i = 0; i < KV; ++i) {
      const double w = top > 0 ? (1 - arm[i]) / top : 1.0;
      e.weights[i] = e.weights[KV + i] = w;
      object[i] = w * std::sqrt(var[i].item<double>() + var[KV + i].item<double>());
    }
  }
  if (reach_weight > 0) {
    // The object's place in a view moves with its place on the table by a 2 x 2 map J (least
    // squares over the held-out frames): sqrt(|det J|) keypoint units per metre.
    // The fit's projection (X^T X)^-1 X^T, X = [table x, table y, 1] of each held-out frame, is
    // the same for every view: computed once.
    torch::Tensor fit, z_val;
    if (positions) {
      auto xy = val.object_pos.reshape({-1, val.object_pos.size(2)}).narrow(1, 0, 2).to(torch::kDouble);
      auto X = torch::cat({xy, torch::ones({xy.size(0), 1}, torch::kDouble)}, 1);  // [N, 3]
      fit = torch::inverse(X.t().matmul(X)).matmul(X.t());                           // [3, N]
      z_val = zv.to(torch::kDouble);
    }
    // The object's keypoints (rows x_row, y_row) as a map of its table position: [x, y, 1] beta.
    auto table_map = [&](const std::vector<double>& x_row, const std::vector<double>& y_row) {
      auto rows = torch::stack({torch::tensor(x_row, torch::kDouble), torch::tensor(y_row, torch::kDouble)}, 1);
      return fit.matmul(z_val.matmul(rows));  // [3, 2]
    };
    for (int64_t v = 0; v < V; ++v) {
      double arm_total = 0, object_total = 0;
      for (int64_t k = v * K; k < (v + 1) * K; ++k) {
        arm_total += arm[k];
        object_total += object[k];
      }
      // The hand read from the robot needs only the object's place in the view (its rows of R
      // then hold the object alone).
      if ((arm_total <= 0 && hand != ReachHand::kState) || object_total <= 0) continue;
      std::vector<double> row_x(D, 0.0), row_y(D, 0.0), object_x(D, 0.0), object_y(D, 0.0);
      for (int64_t k = v * K; k < (v + 1) * K; ++k) {
        const double coefficient = (arm_total > 0 ? arm[k] / arm_total : 0.0) - object[k] / object_total;
        row_x[k] = coefficient;
        row_y[KV + k] = coefficient;
        object_x[k] = object_y[KV + k] = object[k] / object_total;
      }
      const torch::Tensor beta = positions ? table_map(object_x, object_y) : torch::Tensor();
      if (fit_hand) {
        // Where the object's keypoints would read with the object under the end effector: the
        // hand's target, in the object's units.
        auto ee = train.ee_pos.reshape({-1, 3}).narrow(1, 0, 2).to(torch::kDouble);
        auto target = torch::cat({ee, torch::ones({ee.size(0), 1}, torch::kDouble)}, 1).matmul(beta);  // [N, 2]
        // The hand: a convex mixture of the view's arm keypoints (w >= 0 summing to 1, the same for
        // x and y, as the probe's hand is) plus a constant per axis. A map with free signs fits the
        // recorded frames better (R^2 0.99) but amplifies the predictor's errors, and the planner
        // finds them (push.md, "The hand read in the object's units").
        std::vector<int64_t> arm_keypoints;
        for (int64_t k = v * K; k < (v + 1) * K; ++k) {
          if (!in_group[k]) arm_keypoints.push_back(k);
        }
        const auto index = torch::tensor(arm_keypoints, torch::kLong);
        const auto [w, constants] =
            ConvexMixture({zt.index_select(1, index).to(torch::kDouble), zt.index_select(1, index + KV).to(torch::kDouble)},
                      {target.select(1, 0), target.select(1, 1)});
        for (int64_t k = 0; k < D; ++k) {
          row_x[k] = -object_x[k];
          row_y[k] = -object_y[k];
        }
        for (size_t j = 0; j < arm_keypoints.size(); ++j) {
          row_x[arm_keypoints[j]] += w[j].item<double>();
          row_y[arm_keypoints[j] + KV] += w[j].item<double>();
        }
        e.reach_bias.insert(e.reach_bias.end(), constants.begin(), constants.end());
      }
      e.reach.insert(e.reach.end(), row_x.begin(), row_x.end());
      e.reach.insert(e.reach.end(), row_y.begin(), row_y.end());
      if (positions) {
        e.object.insert(e.object.end(), object_x.begin(), object_x.end());
        e.object.insert(e.object.end(), object_y.begin(), object_y.end());
        const double det = beta[0][0].item<double>() * beta[1][1].item<double>() -
                           beta[0][1].item<double>() * beta[1][0].item<double>();
        e.units_per_metre.push_back(std::sqrt(std::abs(det)));
        const auto b = beta.contiguous();
        e.table.insert(e.table.end(), b.data_ptr<double>(), b.data_ptr<double>() + 6);
      }
    }
    // No view in which both the hand and the object were found: no reaching term to offset.
    e.push_offset = e.object.empty() ? 0.0 : push_offset;
    if (hand == ReachHand::kState) {
      if (e.table.empty()) {
        throw std::invalid_argument("a hand read from the robot needs a view in which the model sees the object");
      }
      std::tie(e.hand_step, e.hand_box) = FitHandMoves(data.train.ee_pos, data.train.actions);
      e.object_height = data.train.object_pos.select(2, 2).mean().item<double>();
    }
  }
  return e;
}

}  // namespace jepa_mpc::world_model
