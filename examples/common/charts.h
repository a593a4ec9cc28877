#pragma once

// Interactive charts for the self-contained HTML pages the tools write: Vega-Lite specs that
// vega-embed renders in the browser (zoom and pan with the mouse, hover for values, click a legend
// entry to pick a series). Vega, Vega-Lite and vega-embed come from the npm registry at build
// time (scripts/setup.sh) and are compiled into the binary, so a page opens from the file system
// without a network.

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace jepa_mpc::tools {

// The <script> elements holding the three libraries (about 0.8 MB); once per page, before any chart.
std::string VegaScripts();

// A chart: a <div> and the script that renders the Vega-Lite spec into it. id: unique in the page,
// letters, digits and '-' only (std::invalid_argument otherwise).
std::string VegaChart(const std::string& id, const nlohmann::json& spec);

// One point of a line chart's series.
struct ChartPoint {
  std::string series;
  double x = 0, y = 0;
};

// A dashed horizontal line with a label (a target).
struct ChartRule {
  double y = 0;
  std::string label;
};

// Line chart of series over x; axes titled with their units; a legend outside the plot that picks
// series; drag to pan, wheel to zoom. Non-finite points are left out (and non-positive ones on a
// log axis).
nlohmann::json LineSpec(const std::string& title, const std::string& x_title, const std::string& y_title,
                        const std::vector<ChartPoint>& points, bool log_y = false,
                        const std::vector<ChartRule>& rules = {});

// One bar per label with its value written above it, and optional rules (targets).
nlohmann::json BarSpec(const std::string& title, const std::string& y_title, const std::vector<std::string>& labels,
                       const std::vector<double>& values, const std::vector<ChartRule>& rules = {},
                       double y_max = 0);

}  // namespace jepa_mpc::tools
