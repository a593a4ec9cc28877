#include "examples/common/plot.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "examples/common/media.h"

namespace jepa_mpc::tools {

namespace {

const cv::Scalar kColors[] = {{180, 119, 31}, {14, 127, 255}, {44, 160, 44},  {40, 39, 214},
                              {189, 103, 148}, {75, 86, 140}, {194, 119, 227}, {127, 127, 127}};
constexpr int kLeft = 70, kRight = 20, kTop = 40, kBottom = 50;
const auto kFont = cv::FONT_HERSHEY_SIMPLEX;

std::string Number(double v) {
  char b[32];
  const double a = std::abs(v);
  if (a == 0) return "0";
  if (a >= 1 && a < 1e5 && std::abs(v - std::round(v)) < 1e-9) {
    std::snprintf(b, sizeof(b), "%.0f", v);
    return b;
  }
  if (a != 0 && (a < 1e-2 || a >= 1e5)) std::snprintf(b, sizeof(b), "%.0e", v);
  else if (a < 1) std::snprintf(b, sizeof(b), "%.2f", v);
  else if (a < 10) std::snprintf(b, sizeof(b), "%.1f", v);
  else std::snprintf(b, sizeof(b), "%.0f", v);
  return b;
}

struct Frame {
  cv::Mat img;
  double x0, x1, y0, y1;
  bool log_y;
  int w, h;
  cv::Point At(double x, double y) const {
    const double ty = log_y ? (std::log10(y) - std::log10(y0)) / (std::log10(y1) - std::log10(y0))
                            : (y - y0) / (y1 - y0);
    const double tx = (x - x0) / (x1 - x0);
    return {kLeft + static_cast<int>(std::lround(tx * (w - kLeft - kRight))),
            h - kBottom - static_cast<int>(std::lround(ty * (h - kTop - kBottom)))};
  }
};

Frame Axes(const ChartOptions& o, double x0, double x1, double y0, double y1, bool x_ticks) {
  Frame f{cv::Mat(o.height, o.width, CV_8UC3, cv::Scalar(255, 255, 255)), x0, x1, y0, y1, o.log_y, o.width, o.height};
  const cv::Scalar grid(225, 225, 225), ink(40, 40, 40);
  for (int i = 0; i <= 4; ++i) {
    const double y = o.log_y ? std::pow(10, std::log10(y0) + i * (std::log10(y1) - std::log10(y0)) / 4)
                             : y0 + i * (y1 - y0) / 4;
    const cv::Point p = f.At(x0, y);
    cv::line(f.img, p, {o.width - kRight, p.y}, grid, 1);
    cv::putText(f.img, Number(y), {4, p.y + 4}, kFont, 0.4, ink, 1, cv::LINE_AA);
  }
  if (x_ticks) {
    for (int i = 0; i <= 5; ++i) {
      const double x = x0 + i * (x1 - x0) / 5;
      const cv::Point p = f.At(x, y0);
      cv::line(f.img, p, {p.x, p.y + 4}, ink, 1);
      cv::putText(f.img, Number(x), {p.x - 10, p.y + 18}, kFont, 0.4, ink, 1, cv::LINE_AA);
    }
  }
  cv::rectangle(f.img, {kLeft, kTop}, {o.width - kRight, o.height - kBottom}, ink, 1);
  cv::putText(f.img, o.title, {kLeft, 26}, kFont, 0.55, ink, 1, cv::LINE_AA);
  cv::putText(f.img, o.x_label, {o.width / 2 - 4 * static_cast<int>(o.x_label.size()), o.height - 10}, kFont,
              0.45, ink, 1, cv::LINE_AA);
  cv::putText(f.img, o.y_label, {kLeft + 4, kTop + 14}, kFont, 0.4, {110, 110, 110}, 1, cv::LINE_AA);
  return f;
}

void Save(const std::string& path, const cv::Mat& img) {
  WriteImage(path, img, "chart");
}

}  // namespace

void LineChart(const std::string& path, const std::vector<Series>& series, const ChartOptions& o) {
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
  for (const auto& s : series) {
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.y[i]) || (o.log_y && s.y[i] <= 0)) continue;
      x0 = std::min(x0, s.x[i]);
      x1 = std::max(x1, s.x[i]);
      y0 = std::min(y0, s.y[i]);
      y1 = std::max(y1, s.y[i]);
    }
  }
  if (!std::isfinite(x0)) x0 = 0, x1 = 1, y0 = o.log_y ? 0.1 : 0, y1 = 1;
  if (o.y_min != 0 || o.y_max != 0) y0 = o.y_min, y1 = o.y_max;
  else if (!o.log_y) {
    y0 = std::min(0.0, y0);
    y1 = y1 + 0.05 * (y1 - y0);
  }
  if (x1 <= x0) x1 = x0 + 1;
  if (y1 <= y0) y1 = y0 + (o.log_y ? y0 : 1);
  Frame f = Axes(o, x0, x1, y0, y1, true);
  // The legend sits in a white box over the top-right corner of the plot.
  const int legend_h = 18 * static_cast<int>(series.size()) + 6;
  for (size_t k = 0; k < series.size(); ++k) {
    const auto& s = series[k];
    const cv::Scalar c = kColors[k % 8];
    std::vector<cv::Point> pts;
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.y[i]) || (o.log_y && s.y[i] <= 0)) continue;
      const double y = std::clamp(s.y[i], y0, y1);
      pts.push_back(f.At(s.x[i], y));
    }
    if (pts.size() == 1) cv::circle(f.img, pts[0], 3, c, cv::FILLED, cv::LINE_AA);
    if (pts.size() > 1) cv::polylines(f.img, pts, false, c, 2, cv::LINE_AA);
  }
  cv::rectangle(f.img, {o.width - kRight - 156, kTop + 4}, {o.width - kRight - 4, kTop + 4 + legend_h},
                {255, 255, 255}, cv::FILLED);
  cv::rectangle(f.img, {o.width - kRight - 156, kTop + 4}, {o.width - kRight - 4, kTop + 4 + legend_h},
                {200, 200, 200}, 1);
  for (size_t k = 0; k < series.size(); ++k) {
    const auto& s = series[k];
    const cv::Scalar c = kColors[k % 8];
    const int ly = kTop + 16 + 18 * static_cast<int>(k);
    cv::line(f.img, {o.width - kRight - 150, ly - 4}, {o.width - kRight - 130, ly - 4}, c, 2);
    cv::putText(f.img, s.label, {o.width - kRight - 125, ly}, kFont, 0.42, {40, 40, 40}, 1, cv::LINE_AA);
  }
  Save(path, f.img);
}

void BarChart(const std::string& path, const std::vector<std::string>& labels,
              const std::vector<double>& values, const ChartOptions& o, double target) {
  double y1 = o.y_max;
  if (y1 <= 0) {
    for (double v : values) y1 = std::max(y1, v);
    if (std::isfinite(target)) y1 = std::max(y1, target);
    y1 = y1 > 0 ? 1.1 * y1 : 1;
  }
  ChartOptions lin = o;
  lin.log_y = false;
  Frame f = Axes(lin, 0, static_cast<double>(labels.size()), o.y_min, y1, false);
  for (size_t i = 0; i < labels.size(); ++i) {
    const cv::Point a = f.At(i + 0.2, std::clamp(values[i], o.y_min, y1)), b = f.At(i + 0.8, o.y_min);
    cv::rectangle(f.img, a, b, kColors[i % 8], cv::FILLED);
    cv::putText(f.img, Number(values[i]), {a.x + 2, a.y - 6}, kFont, 0.45, {40, 40, 40}, 1, cv::LINE_AA);
    cv::putText(f.img, labels[i], {a.x - 6, o.height - kBottom + 18}, kFont, 0.42, {40, 40, 40}, 1, cv::LINE_AA);
  }
  if (std::isfinite(target)) {
    const cv::Point p = f.At(0, target);
    for (int x = kLeft; x < o.width - kRight; x += 12) {
      cv::line(f.img, {x, p.y}, {std::min(x + 6, o.width - kRight), p.y}, {0, 0, 200}, 1);
    }
    cv::putText(f.img, "target " + Number(target), {o.width - kRight - 110, p.y - 5}, kFont, 0.42,
                {0, 0, 200}, 1, cv::LINE_AA);
  }
  Save(path, f.img);
}

}  // namespace jepa_mpc::tools
