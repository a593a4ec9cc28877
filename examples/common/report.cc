#include "examples/common/report.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "sim/task.h"
#include "util/atomic_file.h"

#include "examples/common/plot.h"

namespace jepa_mpc::tools {

namespace fs = std::filesystem;

namespace {

std::string ReadFile(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) throw std::runtime_error("report: cannot read '" + p.string() + "'");
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

// A CSV with a header row: column name -> values (numbers; text columns in `text`).
struct Csv {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  int Col(const std::string& name) const {
    auto it = std::find(header.begin(), header.end(), name);
    if (it == header.end()) throw std::runtime_error("report: CSV has no column '" + name + "'");
    return static_cast<int>(it - header.begin());
  }
};

Csv ReadCsv(const fs::path& p) {
  std::istringstream in(ReadFile(p));
  Csv csv;
  std::string line;
  bool first = true;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream ls(line);
    for (std::string c; std::getline(ls, c, ',');) cells.push_back(c);
    if (first) csv.header = cells, first = false;
    else if (!cells.empty()) csv.rows.push_back(cells);
  }
  return csv;
}

std::string Base64(const std::string& bytes) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t v = static_cast<uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) v |= static_cast<uint8_t>(bytes[i + 2]);
    out += k[(v >> 18) & 63];
    out += k[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? k[(v >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? k[v & 63] : '=';
  }
  return out;
}

std::string Escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '&') o += "&amp;";
    else o += c;
  }
  return o;
}

std::string Fixed(double v, int digits) {
  char b[32];
  std::snprintf(b, sizeof(b), "%.*f", digits, v);
  return b;
}

std::string Img(const fs::path& png, const std::string& alt) {
  return "<figure><img alt=\"" + alt + "\" src=\"data:image/png;base64," + Base64(ReadFile(png)) +
         "\"><figcaption>" + alt + "</figcaption></figure>\n";
}

}  // namespace

std::string HtmlPageStart(const std::string& title) {
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + Escape(title) +
         "</title>\n<style>body{font-family:sans-serif;max-width:1400px;margin:2em auto;padding:0 1em;color:#222}"
         "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}"
         "th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}figure{display:inline-block;margin:.5em}"
         "img{max-width:640px}video{width:512px;margin:.3em}pre{background:#f6f6f6;padding:.6em;overflow-x:auto}"
         ".ok{color:#080}.miss{color:#b00}</style></head><body>\n";
}

std::string EmbedPng(const std::string& png, const std::string& caption) { return Img(png, Escape(caption)); }

std::string HtmlEscape(const std::string& s) { return Escape(s); }

std::string WriteReport(const ReportInputs& in) {
  const fs::path model(in.model_dir), eval(in.eval_dir), out(in.out_dir), plots = out / "plots";
  fs::create_directories(plots);
  const nlohmann::json quality = nlohmann::json::parse(ReadFile(model / "quality.json"));
  const nlohmann::json results = nlohmann::json::parse(ReadFile(eval / "results.json"));

  // Training losses.
  const Csv metrics = ReadCsv(model / "metrics.csv");
  std::vector<Series> losses;
  for (const char* name : {"loss", "teacher_forcing", "rollout", "regularizer"}) {
    Series s{name, {}, {}};
    const int c = metrics.Col(name), step = metrics.Col("step");
    for (const auto& r : metrics.rows) {
      s.x.push_back(std::stod(r[step]));
      s.y.push_back(std::stod(r[c]));
    }
    losses.push_back(s);
  }
  LineChart((plots / "training_losses.png").string(), losses,
            {"Training losses (log scale)", "optimizer step", "loss", true});

  // Prediction error against horizon, as a ratio to repeating the last embedding.
  Series pred{"model / copy baseline", {1, 5, 10},
              {quality["prediction_ratio_h1"], quality["prediction_ratio_h5"], quality["prediction_ratio_h10"]}};
  Series target{"target at h=5 (0.3)", {1, 10}, {0.3, 0.3}};
  LineChart((plots / "prediction_error.png").string(), {pred, target},
            {"Held-out latent prediction error", "horizon (steps)", "error ratio", false, 640, 400, 0, 1.2});

  // Quality measures against their targets.
  const double D = quality["latent_dim"];
  BarChart((plots / "quality.png").string(), {"probe R2", "Spearman", "rank / D"},
           {quality["probe_r2_ee"], quality["spearman_ee"], quality["effective_rank"].get<double>() / D},
           {"Embedding quality (targets 0.95, 0.9, 0.25)", "", "", false, 640, 400, 0, 1.1},
           NAN);

  // Success rate by method.
  std::vector<std::string> names;
  std::vector<double> success;
  for (const auto& m : results["methods"]) {
    names.push_back(m["method"]);
    success.push_back(m["success_rate"]);
  }
  const double success_target = sim::TaskRegistry().Has(in.task) ? sim::TaskRegistry().Get(in.task).target_success : NAN;
  BarChart((plots / "success.png").string(), names, success,
           {"Success rate by method (" + in.task + ")", "", "success", false, 640, 400, 0, 1.1}, success_target);

  // Energy and true distance against control step, first episodes of the learned planner.
  const Csv steps = ReadCsv(eval / "steps.csv");
  const int cm = steps.Col("method"), ce = steps.Col("episode"), cs = steps.Col("step"),
            cen = steps.Col("energy"), cd = steps.Col("distance_m");
  const std::string learned = names.empty() ? "" : names[0];
  std::map<int, Series> energy, distance;
  for (const auto& r : steps.rows) {
    const int ep = std::stoi(r[ce]);
    if (r[cm] != learned || ep >= 5) continue;
    auto& e = energy[ep];
    auto& d = distance[ep];
    e.label = d.label = "episode " + std::to_string(ep);
    e.x.push_back(std::stod(r[cs]));
    e.y.push_back(std::stod(r[cen]));
    d.x.push_back(std::stod(r[cs]));
    d.y.push_back(100 * std::stod(r[cd]));
  }
  std::vector<Series> ev, dv;
  for (auto& [ep, s] : energy) ev.push_back(s);
  for (auto& [ep, s] : distance) dv.push_back(s);
  LineChart((plots / "energy.png").string(), ev,
            {"Latent energy (distance to the goal embedding), " + learned, "control step", "energy"});
  LineChart((plots / "distance.png").string(), dv,
            {"True distance to the goal (cm), " + learned, "control step", "cm"});

  // The page.
  std::ostringstream h;
  h << HtmlPageStart("jepa-mpc demo: " + in.task);
  h << "<h1>jepa-mpc: reaching a goal image by planning in a learned world model</h1>\n";
  h << "<p>Task <b>" << in.task << "</b> (" << Escape(results["success_rule"].get<std::string>()) << "), "
    << results["episodes"].get<int>() << " goals, the same for every method"
    << (in.goals.empty() ? std::string(". ") : ": " + Escape(in.goals) + ". ")
    << "The goal is given as an image only. The learned planner sees camera images"
    << (quality.value("proprio_dim", 0) > 0 ? " and the robot's joint state" : "")
    << " and plans in the learned model.";
  bool has_oracle = false;
  for (const auto& m : results["methods"]) has_oracle |= m["method"].get<std::string>().rfind("oracle", 0) == 0;
  if (has_oracle) {
    const auto& op = results["oracle_planner"];
    h << " The oracle plans with " << op["planner"].get<std::string>() << " on the true simulator, with "
      << op["samples"].get<int>() << " samples x " << op["iterations"].get<int>()
      << " iterations per step (at least the learned planner's budget), on the first "
      << op.value("episodes", results["episodes"].get<int>()) << " goals";
    if (op.value("reach_weight", 0.0) > 0) {
      h << "; its true cost adds " << op["reach_weight"].get<double>()
        << " x the hand's distance to the object";
    }
    h << ".";
  }
  h << "</p>\n";
  h << "<h2>Evaluation</h2>\n<p>Success is judged at the end of each episode; first passage counts an "
       "episode that met the task at any step.</p>\n<table><tr><th>method</th><th>success</th>"
       "<th>first passage</th><th>mean final distance (cm)</th><th>mean steps to first passage</th>"
       "<th>planning ms per step (median / p95)</th></tr>\n";
  for (const auto& m : results["methods"]) {
    h << "<tr><td>" << m["method"].get<std::string>() << "</td><td>"
      << Fixed(100 * m["success_rate"].get<double>(), 1) << "%</td><td>"
      << Fixed(100 * m.value("first_passage_rate", 0.0), 1) << "%</td><td>"
      << Fixed(100 * m["mean_final_distance_m"].get<double>(), 2) << "</td><td>"
      << Fixed(m["mean_steps"].get<double>(), 1) << "</td><td>" << Fixed(m["plan_ms_median"].get<double>(), 1)
      << " / " << Fixed(m["plan_ms_p95"].get<double>(), 1) << "</td></tr>\n";
  }
  h << "</table>\n" << Img(plots / "success.png", "Success rate by method");
  h << "<h2>Closed-loop episodes</h2>\n<p>Camera image beside the goal image; the caption gives the control "
       "step, the true distance and the latent energy the planner lowers.</p>\n";
  if (fs::exists(eval / "videos")) {
    std::vector<fs::path> videos;
    for (const auto& e : fs::directory_iterator(eval / "videos")) {
      if (e.path().extension() == ".mp4") videos.push_back(e.path());
    }
    std::sort(videos.begin(), videos.end());
    for (const auto& v : videos) {
      h << "<figure><video controls muted loop src=\"data:video/mp4;base64," << Base64(ReadFile(v))
        << "\"></video><figcaption>" << v.stem().string() << "</figcaption></figure>\n";
    }
  }
  h << Img(plots / "energy.png", "Latent energy against control step");
  h << Img(plots / "distance.png", "True distance against control step");
  h << "<h2>World model</h2>\n<table><tr><th>measure (held-out)</th><th>value</th><th>target</th></tr>\n";
  auto row = [&](const std::string& name, double v, const std::string& t, bool ok) {
    h << "<tr><td>" << name << "</td><td class=\"" << (ok ? "ok" : "miss") << "\">" << Fixed(v, 3) << "</td><td>"
      << t << "</td></tr>\n";
  };
  const double h5 = quality["prediction_ratio_h5"], probe = quality["probe_r2_ee"], rho = quality["spearman_ee"],
               rank = quality["effective_rank"];
  row("prediction error ratio, horizon 1", quality["prediction_ratio_h1"], "", true);
  row("prediction error ratio, horizon 5", h5, "&lt; 0.3", h5 < 0.3);
  row("prediction error ratio, horizon 10", quality["prediction_ratio_h10"], "", true);
  row("effective rank (D = " + std::to_string(static_cast<int>(D)) + ")", rank, "&ge; D/4", rank >= D / 4);
  row("linear probe R&sup2; to the end effector", probe, "&ge; 0.95", probe >= 0.95);
  row("Spearman(embedding distance, end-effector distance)", rho, "&ge; 0.9", rho >= 0.9);
  if (quality.contains("probe_r2_object")) {
    const double object = quality["probe_r2_object"];
    row("linear probe R&sup2; to the block", object, "&ge; 0.95", object >= 0.95);
  }
  if (quality.contains("spearman_task")) {
    const double task = quality["spearman_task"];
    row("Spearman(goal energy, task distance) over the task's goal images", task, "&ge; 0.9", task >= 0.9);
  }
  h << "</table>\n<p>Trained " << quality["steps"].get<int64_t>() << " steps in "
    << Fixed(quality["train_seconds"].get<double>(), 0) << " s (" << Fixed(quality["samples_per_second"].get<double>(), 0)
    << " samples/s).</p>\n";
  h << Img(plots / "training_losses.png", "Training losses") << Img(plots / "prediction_error.png", "Prediction error")
    << Img(plots / "quality.png", "Embedding quality");
  h << "<h2>Reproduce</h2>\n<pre>" << Escape(in.commands) << "</pre>\n</body></html>\n";
  const fs::path page = out / "report.html";
  util::WriteFileAtomically(page.string(), h.str());
  return page.string();
}

}  // namespace jepa_mpc::tools
