#include "examples/common/episode_view.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <cmath>
#include <stdexcept>

namespace jepa_mpc::tools {

namespace fs = std::filesystem;

std::unique_ptr<sim::Task> MakeObjectTask(const std::string& checkpoint, const std::string& task,
                                          const std::string& robot, const std::string& camera, int antialias,
                                          int image_size, const std::string& program) {
  auto t = sim::MakeTask(task, {std::max(256, image_size), "", robot, camera, antialias});
  if (t->sim().num_objects() == 0) {
    throw std::invalid_argument("checkpoint '" + checkpoint + "' was trained on task '" + task +
                                "', which has no object; " + program + " needs a task with one (push)");
  }
  if (t->sim().camera_label() != camera) {
    throw std::invalid_argument("checkpoint '" + checkpoint + "' sees camera '" + camera + "', task '" + task +
                                "' renders '" + t->sim().camera_label() + "'");
  }
  return t;
}

namespace {

// RGB colours (the frames are RGB).
const cv::Scalar kPlan(255, 140, 0), kCandidate(255, 205, 150), kTrue(0, 170, 0), kPlanObject(210, 0, 210),
    kTrueObject(255, 140, 200), kEnergy(31, 119, 180), kDistance(255, 127, 14), kInk(40, 40, 40);
const auto kFont = cv::FONT_HERSHEY_SIMPLEX;
constexpr int kShift = 2;  // fractional bits of the traces' pixel coordinates (sub-pixel drawing)

cv::Mat Wrap(const sim::Image& image) {
  return cv::Mat(image.height, image.width, CV_8UC3, const_cast<uint8_t*>(image.rgb.data()));
}

// The path's points in each camera view, as polylines in image pixels (points behind a camera are
// left out of that view's line).
std::vector<std::vector<cv::Point>> Project(const std::vector<Eigen::Vector3d>& path, const mjModel* model,
                                            const mjData* data, const std::vector<int>& cameras, int width,
                                            int height) {
  std::vector<std::vector<cv::Point>> lines(cameras.size());
  for (const Eigen::Vector3d& p : path) {
    const auto at = sim::ProjectToImage(model, data, cameras, p.data(), width, height);
    for (size_t v = 0; v < at.size(); ++v) {
      if (at[v].visible) {
        lines[v].emplace_back(static_cast<int>(std::lround(at[v].x * (1 << kShift))),
                              static_cast<int>(std::lround(at[v].y * (1 << kShift))));
      }
    }
  }
  return lines;
}

void Path(cv::Mat& img, const std::vector<std::vector<cv::Point>>& lines, const cv::Scalar& colour, int thickness,
          bool dots) {
  for (const auto& line : lines) {
    if (line.size() > 1) cv::polylines(img, line, false, colour, thickness, cv::LINE_AA, kShift);
    if (dots) {
      for (const cv::Point& p : line) cv::circle(img, p, 3 << kShift, colour, cv::FILLED, cv::LINE_AA, kShift);
    }
  }
}

}  // namespace

Probes LoadProbes(const std::string& checkpoint) {
  Probes p;
  const fs::path file = fs::path(checkpoint).parent_path() / "quality.json";
  std::ifstream in(file);
  if (!in) return p;
  try {
    const nlohmann::json j = nlohmann::json::parse(in);
    for (const auto& [key, probe] : {std::pair<const char*, std::vector<std::array<double, 3>>*>{"probe_ee", &p.ee},
                                     {"probe_object", &p.object}}) {
      if (j.contains(key)) *probe = j[key].get<std::vector<std::array<double, 3>>>();
    }
  } catch (const std::exception&) {
    return Probes{};  // an older or damaged quality.json: no predicted traces
  }
  return p;
}

std::vector<Eigen::Vector3d> Decode(const std::vector<std::array<double, 3>>& probe, const float* z, int steps,
                                    int dim) {
  std::vector<Eigen::Vector3d> out;
  if (static_cast<int>(probe.size()) != dim + 1) return out;
  for (int k = 0; k < steps; ++k) {
    Eigen::Vector3d p(probe[dim][0], probe[dim][1], probe[dim][2]);
    for (int d = 0; d < dim; ++d) {
      const double v = z[static_cast<size_t>(k) * dim + d];
      p += v * Eigen::Vector3d(probe[d][0], probe[d][1], probe[d][2]);
    }
    out.push_back(p);
  }
  return out;
}

void TrueFuture(const sim::Task& from, const float* actions, int steps, int A, sim::Task& copy, PlanTraces& t) {
  copy.CopyStateFrom(from);
  const bool object = copy.sim().num_objects() > 0;
  t.true_ee.push_back(copy.sim().ee_pos());
  if (object) t.true_object.push_back(copy.sim().object_pos(0));
  Eigen::VectorXd a(A);
  for (int k = 0; k < steps; ++k) {
    for (int j = 0; j < A; ++j) a[j] = actions[static_cast<size_t>(k) * A + j];
    try {
      copy.Step(a);
    } catch (const std::runtime_error&) {
      break;  // the physics went unstable: the path ends here
    }
    t.true_ee.push_back(copy.sim().ee_pos());
    if (object) t.true_object.push_back(copy.sim().object_pos(0));
  }
}

PlanTraces PlanTracesOf(const PlanPreview& pv, const Probes& probes, const sim::Task& from, sim::Task& copy) {
  PlanTraces t;
  const size_t per = static_cast<size_t>(pv.steps) * pv.dim;
  for (int s = 0; s < pv.sequences; ++s) {
    auto ee = Decode(probes.ee, pv.embeddings.data() + s * per, pv.steps, pv.dim);
    if (!ee.empty()) ee.insert(ee.begin(), from.sim().ee_pos());
    if (s == 0) t.plan_ee = std::move(ee);
    else t.candidates_ee.push_back(std::move(ee));
  }
  t.plan_object = Decode(probes.object, pv.embeddings.data(), pv.steps, pv.dim);
  TrueFuture(from, pv.actions.data(), pv.steps, pv.action_dim, copy, t);
  return t;
}

void DrawTraces(sim::Image& view, const PlanTraces& t, const mjModel* model, const mjData* data,
                const std::vector<int>& cameras) {
  cv::Mat img = Wrap(view);
  auto project = [&](const std::vector<Eigen::Vector3d>& path) {
    return Project(path, model, data, cameras, view.width, view.height);
  };
  for (const auto& c : t.candidates_ee) Path(img, project(c), kCandidate, 1, false);
  Path(img, project(t.true_object), kTrueObject, 2, false);
  Path(img, project(t.plan_object), kPlanObject, 1, true);
  Path(img, project(t.true_ee), kTrue, 2, false);
  Path(img, project(t.plan_ee), kPlan, 1, true);
}

FrameComposer::FrameComposer(int size, const sim::Image& goal, std::string method, int steps)
    : size_(size), steps_(std::max(1, steps)), goal_(goal), method_(std::move(method)) {
  if (goal.height != size || goal.width != size) throw std::invalid_argument("goal image is not size x size");
}

cv::Mat FrameComposer::Compose(const sim::Image& view, int step, const std::vector<double>& energy,
                               const std::vector<double>& distance, bool success) const {
  const int S = size_;
  cv::Mat frame(S + kBar, 3 * S, CV_8UC3, cv::Scalar(255, 255, 255));
  Wrap(view).copyTo(frame(cv::Rect(0, 0, S, S)));
  Wrap(goal_).copyTo(frame(cv::Rect(S, 0, S, S)));
  cv::putText(frame, "camera", {6, 18}, kFont, 0.5, {255, 255, 255}, 1, cv::LINE_AA);
  cv::putText(frame, "goal", {S + 6, 18}, kFont, 0.5, {255, 255, 255}, 1, cv::LINE_AA);

  // The curves so far, each scaled to its own largest value; the x axis spans the episode.
  cv::Mat panel = frame(cv::Rect(2 * S, 0, S, S));
  const int left = 8, right = S - 8, top = 44, bottom = S - 22;
  cv::rectangle(panel, {left, top}, {right, bottom}, {200, 200, 200}, 1);
  auto curve = [&](const std::vector<double>& v, const cv::Scalar& colour, int width) {
    double top_value = 0;
    for (double x : v) top_value = std::max(top_value, std::isfinite(x) ? x : 0.0);
    if (top_value <= 0) top_value = 1;
    std::vector<cv::Point> pts;
    for (size_t i = 0; i < v.size(); ++i) {
      const double x = left + (right - left) * static_cast<double>(i) / steps_;
      const double y = bottom - (bottom - top) * std::clamp(v[i] / (1.1 * top_value), 0.0, 1.0);
      pts.emplace_back(static_cast<int>(x), static_cast<int>(y));
    }
    if (pts.size() > 1) cv::polylines(panel, pts, false, colour, width, cv::LINE_AA);
    if (!pts.empty()) cv::circle(panel, pts.back(), width + 1, colour, cv::FILLED, cv::LINE_AA);
  };
  // The distance wide beneath, the energy thin above it: where they agree both stay visible.
  curve(distance, kDistance, 5);
  curve(energy, kEnergy, 2);
  char text[96];
  std::snprintf(text, sizeof(text), "latent energy %.3f", energy.empty() ? 0.0 : energy.back());
  cv::putText(panel, text, {left, 16}, kFont, 0.45, kEnergy, 1, cv::LINE_AA);
  std::snprintf(text, sizeof(text), "true distance %.1f cm", distance.empty() ? 0.0 : 100 * distance.back());
  cv::putText(panel, text, {left, 34}, kFont, 0.45, kDistance, 1, cv::LINE_AA);
  cv::putText(panel, "control step", {S / 2 - 40, S - 6}, kFont, 0.4, kInk, 1, cv::LINE_AA);

  char line[160];
  std::snprintf(line, sizeof(line), "%s  step %d  dist %.1f cm  energy %.3f%s", method_.c_str(), step,
                distance.empty() ? 0.0 : 100 * distance.back(), energy.empty() ? 0.0 : energy.back(),
                success ? "  REACHED" : "");
  cv::putText(frame, line, {6, S + 26}, kFont, 0.5, success ? cv::Scalar(0, 140, 0) : kInk, 1, cv::LINE_AA);
  return frame;
}

cv::Mat ContactSheet(const std::vector<sim::Image>& frames, const sim::Image& goal, int tile) {
  std::vector<const sim::Image*> all;
  for (const auto& f : frames) all.push_back(&f);
  all.push_back(&goal);
  cv::Mat sheet(tile, tile * static_cast<int>(all.size()) + 2 * (static_cast<int>(all.size()) - 1), CV_8UC3,
                cv::Scalar(255, 255, 255));
  for (size_t i = 0; i < all.size(); ++i) {
    cv::Mat small;
    cv::resize(Wrap(*all[i]), small, {tile, tile}, 0, 0, cv::INTER_AREA);
    small.copyTo(sheet(cv::Rect(static_cast<int>(i) * (tile + 2), 0, tile, tile)));
  }
  return sheet;
}

}  // namespace jepa_mpc::tools
