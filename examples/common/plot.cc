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
constexpr int kLeft = 78, kRight = 20, kTop = 40, kBottom = 50, kLegend = 170;
const auto kFont = cv::FONT_HERSHEY_SIMPLEX;

// Tick values at round numbers: 1, 2 or 5 times a power of ten apart, covering [lo, hi].
struct Ticks {
  double lo, hi, step;
  std::vector<double> at;
};

Ticks LinearTicks(double lo, double hi, int target) {
  const double raw = (hi - lo) / target, mag = std::pow(10, std::floor(std::log10(raw))), f = raw / mag;
  const double step = (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
  Ticks t{std::floor(lo / step + 1e-9) * step, std::ceil(hi / step - 1e-9) * step, step, {}};
  for (double v = t.lo; v <= t.hi + step * 1e-6; v += step) t.at.push_back(std::abs(v) < step * 1e-9 ? 0 : v);
  return t;
}

// Powers of ten, with 2 and 5 between them when the range spans fewer than three decades.
Ticks LogTicks(double lo, double hi) {
  Ticks t{std::pow(10, std::floor(std::log10(lo) + 1e-9)), std::pow(10, std::ceil(std::log10(hi) - 1e-9)), 0, {}};
  if (t.hi <= t.lo) t.hi = t.lo * 10;
  const bool fine = t.hi / t.lo < 1e3;
  for (double d = t.lo; d <= t.hi * 1.0001; d *= 10) {
    for (double m : {1.0, 2.0, 5.0}) {
      if ((m == 1 || fine) && d * m <= t.hi * 1.0001) t.at.push_back(d * m);
    }
  }
  return t;
}

// A tick label with no more digits than the step between ticks needs.
std::string Number(double v, double step) {
  char b[32];
  if (v == 0) return "0";
  const double a = std::abs(v);
  if (a >= 1e5 || a < 1e-3) {
    std::snprintf(b, sizeof(b), "%g", v);
    return b;
  }
  const int digits = step > 0 ? std::max(0, static_cast<int>(std::ceil(-std::log10(step) - 1e-9))) : 3;
  std::snprintf(b, sizeof(b), "%.*f", step > 0 ? digits : 3, v);
  std::string s = b;
  if (step <= 0 && s.find('.') != std::string::npos) {  // log ticks: no trailing zeros
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  return s;
}

struct Frame {
  cv::Mat img;
  double x0, x1, y0, y1;
  bool log_y;
  int w, h, right;
  cv::Point At(double x, double y) const {
    const double ty = log_y ? (std::log10(y) - std::log10(y0)) / (std::log10(y1) - std::log10(y0))
                            : (y - y0) / (y1 - y0);
    const double tx = (x - x0) / (x1 - x0);
    return {kLeft + static_cast<int>(std::lround(tx * (w - kLeft - right))),
            h - kBottom - static_cast<int>(std::lround(ty * (h - kTop - kBottom)))};
  }
};

// Axes over [x0, x1] x [y0, y1], widened to the round numbers of their ticks; `right` pixels to the
// right of the plot are left free (for the legend).
Frame Axes(const ChartOptions& o, double x0, double x1, double y0, double y1, bool x_ticks, int right) {
  const Ticks yt = o.log_y ? LogTicks(y0, y1) : LinearTicks(y0, y1, 5);
  const Ticks xt = x_ticks ? LinearTicks(x0, x1, 6) : Ticks{x0, x1, 0, {}};
  Frame f{cv::Mat(o.height, o.width, CV_8UC3, cv::Scalar(255, 255, 255)),
          xt.lo, xt.hi, yt.lo, yt.hi, o.log_y, o.width, o.height, right};
  const cv::Scalar grid(225, 225, 225), ink(40, 40, 40);
  for (double y : yt.at) {
    const cv::Point p = f.At(f.x0, y);
    cv::line(f.img, p, {o.width - right, p.y}, grid, 1);
    const std::string label = Number(y, o.log_y ? 0 : yt.step);
    cv::putText(f.img, label, {kLeft - 6 - 7 * static_cast<int>(label.size()), p.y + 4}, kFont, 0.4, ink, 1,
                cv::LINE_AA);
  }
  for (double x : xt.at) {
    const cv::Point p = f.At(x, f.y0);
    cv::line(f.img, p, {p.x, p.y + 4}, ink, 1);
    const std::string label = Number(x, xt.step);
    cv::putText(f.img, label, {p.x - 4 * static_cast<int>(label.size()), p.y + 18}, kFont, 0.4, ink, 1, cv::LINE_AA);
  }
  cv::rectangle(f.img, {kLeft, kTop}, {o.width - right, o.height - kBottom}, ink, 1);
  cv::putText(f.img, o.title, {kLeft, 26}, kFont, 0.55, ink, 1, cv::LINE_AA);
  cv::putText(f.img, o.x_label, {(kLeft + o.width - right) / 2 - 4 * static_cast<int>(o.x_label.size()),
                                 o.height - 10}, kFont, 0.45, ink, 1, cv::LINE_AA);
  // The y axis title, turned to run up the left edge.
  cv::Mat title(20, o.height, CV_8UC3, cv::Scalar(255, 255, 255));
  cv::putText(title, o.y_label, {(o.height - 8 * static_cast<int>(o.y_label.size())) / 2, 15}, kFont, 0.45, ink, 1,
              cv::LINE_AA);
  cv::Mat turned;
  cv::rotate(title, turned, cv::ROTATE_90_COUNTERCLOCKWISE);
  turned.copyTo(f.img(cv::Rect(0, 0, 20, o.height)));
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
  // The legend stands to the right of the plot, where it covers no data.
  Frame f = Axes(o, x0, x1, y0, y1, true, kLegend);
  for (size_t k = 0; k < series.size(); ++k) {
    const auto& s = series[k];
    const cv::Scalar c = kColors[k % 8];
    std::vector<cv::Point> pts;
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.y[i]) || (o.log_y && s.y[i] <= 0)) continue;
      const double y = std::clamp(s.y[i], f.y0, f.y1);
      pts.push_back(f.At(s.x[i], y));
    }
    if (pts.size() == 1) cv::circle(f.img, pts[0], 3, c, cv::FILLED, cv::LINE_AA);
    if (pts.size() > 1) cv::polylines(f.img, pts, false, c, 2, cv::LINE_AA);
    const int lx = o.width - kLegend + 10, ly = kTop + 10 + 18 * static_cast<int>(k);
    cv::line(f.img, {lx, ly - 4}, {lx + 20, ly - 4}, c, 2);
    cv::putText(f.img, s.label, {lx + 25, ly}, kFont, 0.42, {40, 40, 40}, 1, cv::LINE_AA);
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
  Frame f = Axes(lin, 0, static_cast<double>(labels.size()), o.y_min, y1, false, kRight);
  for (size_t i = 0; i < labels.size(); ++i) {
    const cv::Point a = f.At(i + 0.2, std::clamp(values[i], f.y0, f.y1)), b = f.At(i + 0.8, f.y0);
    cv::rectangle(f.img, a, b, kColors[i % 8], cv::FILLED);
    cv::putText(f.img, Number(values[i], 0.001), {a.x + 2, a.y - 6}, kFont, 0.45, {40, 40, 40}, 1, cv::LINE_AA);
    cv::putText(f.img, labels[i], {a.x - 6, o.height - kBottom + 18}, kFont, 0.42, {40, 40, 40}, 1, cv::LINE_AA);
  }
  if (std::isfinite(target)) {
    const cv::Point p = f.At(0, target);
    for (int x = kLeft; x < o.width - kRight; x += 12) {
      cv::line(f.img, {x, p.y}, {std::min(x + 6, o.width - kRight), p.y}, {0, 0, 200}, 1);
    }
    cv::putText(f.img, "target " + Number(target, 0.01), {o.width - kRight - 110, p.y - 5}, kFont, 0.42,
                {0, 0, 200}, 1, cv::LINE_AA);
  }
  Save(path, f.img);
}

}  // namespace jepa_mpc::tools
