#pragma once

// Small PNG charts drawn with OpenCV (no plotting stack needed): line charts and bar charts with
// axes, ticks, a title and a legend.

#include <string>
#include <vector>

namespace jepa_mpc::tools {

struct Series {
  std::string label;
  std::vector<double> x, y;
};

struct ChartOptions {
  std::string title, x_label, y_label;
  bool log_y = false;
  int width = 640, height = 400;
  double y_min = 0, y_max = 0;   // both 0: from the data
};

// Writes a line chart of the series to path (PNG). Throws std::runtime_error if it cannot.
void LineChart(const std::string& path, const std::vector<Series>& series, const ChartOptions& options);

// One bar per label, value printed on each; optional dashed target line (NaN: none).
void BarChart(const std::string& path, const std::vector<std::string>& labels,
              const std::vector<double>& values, const ChartOptions& options, double target);

}  // namespace jepa_mpc::tools
