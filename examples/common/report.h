#pragma once

// The demo's report: PNG plots (training losses, prediction error against horizon, quality
// measures, success by method, energy and distance against control step) and one self-contained
// report.html (plots and videos embedded, opens from the file system).

#include <string>

namespace jepa_mpc::tools {

struct ReportInputs {
  std::string task;
  std::string model_dir;  // train's output: metrics.csv, quality.json, config.json
  std::string eval_dir;   // evaluate's output: results.json, steps.csv, videos/
  std::string out_dir;    // plots/ and report.html go here
  std::string commands;   // the commands that reproduce the run (shown in the report)
  std::string goals;      // where the goals come from, one sentence (e.g. a seed no default was chosen on)
};

// Pieces of the self-contained pages the tools write: the page's head and style (up to <body>),
// a PNG embedded as a figure with its caption, and text escaped for HTML.
std::string HtmlPageStart(const std::string& title);
std::string EmbedPng(const std::string& png, const std::string& caption);
std::string HtmlEscape(const std::string& s);

// Returns the path of report.html. Throws std::runtime_error naming a missing input file.
std::string WriteReport(const ReportInputs& in);

}  // namespace jepa_mpc::tools
