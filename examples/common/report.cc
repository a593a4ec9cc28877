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
#include "util/csv.h"

#include "examples/common/charts.h"
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
    std::vector<std::string> cells = util::SplitCsvLine(line);
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
         "img{max-width:640px}video{width:600px;margin:.3em}pre{background:#f6f6f6;padding:.6em;overflow-x:auto}"
         ".ok{color:#080}.miss{color:#b00}</style></head><body>\n";
}

std::string EmbedPng(const std::string& png, const std::string& caption) { return Img(png, Escape(caption)); }

std::string HtmlEscape(const std::string& s) { return Escape(s); }

namespace {

// One row of evaluate's episodes.csv.
struct EpisodeRow {
  std::string method;
  int episode = 0;
  bool success = false;
  double initial_distance = 0, final_distance = 0;
  int first_success = -1;
};

std::vector<EpisodeRow> ReadEpisodes(const fs::path& csv_path) {
  const Csv csv = ReadCsv(csv_path);
  const int m = csv.Col("method"), e = csv.Col("episode"), ok = csv.Col("success"),
            d0 = csv.Col("initial_distance_m"), d1 = csv.Col("final_distance_m"), f = csv.Col("first_success_step");
  std::vector<EpisodeRow> rows;
  for (const auto& r : csv.rows) {
    rows.push_back({r[m], std::stoi(r[e]), r[ok] == "1", std::stod(r[d0]), std::stod(r[d1]), std::stoi(r[f])});
  }
  return rows;
}

// evaluate names a video or a contact sheet <method>_ep<N>[_success|_failure].<ext>.
bool ParseEpisodeFile(const fs::path& p, std::string& method, int& episode) {
  const std::string stem = p.stem().string();
  const size_t at = stem.rfind("_ep");
  if (at == std::string::npos) return false;
  method = stem.substr(0, at);
  try {
    episode = std::stoi(stem.substr(at + 3));
  } catch (const std::exception&) {
    return false;
  }
  return true;
}

std::string Media(const fs::path& file, const std::string& mime) {
  return "data:" + mime + ";base64," + Base64(ReadFile(file));
}

// The chart in the page and its spec in plots/ (Vega-Lite; opens in the Vega editor).
std::string Chart(const fs::path& plots, const std::string& name, const nlohmann::json& spec) {
  util::WriteFileAtomically((plots / (name + ".vl.json")).string(), spec.dump(1) + "\n");
  return VegaChart(name, spec);
}

}  // namespace

std::string WriteReport(const ReportInputs& in) {
  const fs::path model(in.model_dir), eval(in.eval_dir), out(in.out_dir), plots = out / "plots";
  fs::create_directories(plots);
  const nlohmann::json quality = nlohmann::json::parse(ReadFile(model / "quality.json"));
  const nlohmann::json results = nlohmann::json::parse(ReadFile(eval / "results.json"));
  const std::vector<EpisodeRow> episodes = ReadEpisodes(eval / "episodes.csv");

  // Training losses.
  const Csv metrics = ReadCsv(model / "metrics.csv");
  std::vector<Series> losses;
  std::vector<ChartPoint> loss_points;
  for (const char* name : {"loss", "teacher_forcing", "rollout", "regularizer"}) {
    Series s{name, {}, {}};
    const int c = metrics.Col(name), step = metrics.Col("step");
    for (const auto& r : metrics.rows) {
      s.x.push_back(std::stod(r[step]));
      s.y.push_back(std::stod(r[c]));
      loss_points.push_back({name, s.x.back(), s.y.back()});
    }
    losses.push_back(s);
  }
  LineChart((plots / "training_losses.png").string(), losses,
            {"Training losses", "optimizer step", "loss (log scale)", true});

  // Prediction error against horizon, as a ratio to repeating the last embedding.
  const std::vector<double> horizons{1, 5, 10};
  const std::vector<double> ratios{quality["prediction_ratio_h1"], quality["prediction_ratio_h5"],
                                   quality["prediction_ratio_h10"]};
  Series pred{"model / copy baseline", horizons, ratios};
  Series target{"target at h=5 (0.3)", {1, 10}, {0.3, 0.3}};
  LineChart((plots / "prediction_error.png").string(), {pred, target},
            {"Held-out latent prediction error", "horizon (control steps)", "error / copy-baseline error", false, 640,
             400, 0, 1.2});
  std::vector<ChartPoint> pred_points;
  for (size_t i = 0; i < horizons.size(); ++i) pred_points.push_back({"model / copy baseline", horizons[i], ratios[i]});

  // Quality measures against their targets.
  const double D = quality["latent_dim"];
  const std::vector<std::string> quality_names{"probe R2 (end effector)", "Spearman (end effector)", "rank / D"};
  const std::vector<double> quality_values{quality["probe_r2_ee"], quality["spearman_ee"],
                                           quality["effective_rank"].get<double>() / D};
  BarChart((plots / "quality.png").string(), {"probe R2", "Spearman", "rank / D"}, quality_values,
           {"Embedding quality (targets 0.95, 0.9, 0.25)", "", "value (1 is best)", false, 640, 400, 0, 1.1}, NAN);

  // Success rate by method.
  std::vector<std::string> names;
  std::vector<double> success, success_pct;
  for (const auto& m : results["methods"]) {
    names.push_back(m["method"]);
    success.push_back(m["success_rate"]);
    success_pct.push_back(100 * success.back());
  }
  const double success_target = sim::TaskRegistry().Has(in.task) ? sim::TaskRegistry().Get(in.task).target_success : NAN;
  BarChart((plots / "success.png").string(), names, success,
           {"Success rate by method (" + in.task + ")", "", "success (fraction of goals)", false, 640, 400, 0, 1.1},
           success_target);
  std::vector<ChartRule> success_rules;
  if (std::isfinite(success_target)) {
    success_rules.push_back({100 * success_target, "target " + Fixed(100 * success_target, 0) + "%"});
  }

  // Energy and distance against control step for the learned planner's first goals and those with
  // a video (evaluate records the first successes and the failures of each method).
  std::map<std::pair<std::string, int>, fs::path> videos;
  if (fs::exists(eval / "videos")) {
    for (const auto& e : fs::directory_iterator(eval / "videos")) {
      std::string method;
      int ep = 0;
      if (e.path().extension() == ".mp4" && e.path().string().find(".part.") == std::string::npos &&
          ParseEpisodeFile(e.path(), method, ep)) {
        videos[{method, ep}] = e.path();
      }
    }
  }
  const std::string learned = names.empty() ? "" : names[0];
  auto outcome = [&](const std::string& method, int ep) -> const EpisodeRow* {
    for (const auto& r : episodes) {
      if (r.method == method && r.episode == ep) return &r;
    }
    return nullptr;
  };
  // The first goals, and every goal with a video (its failures among them).
  auto shown = [&](int ep) { return ep < 6 || videos.count({learned, ep}) > 0; };
  const Csv steps = ReadCsv(eval / "steps.csv");
  const int cm = steps.Col("method"), ce = steps.Col("episode"), cs = steps.Col("step"),
            cen = steps.Col("energy"), cd = steps.Col("distance_m");
  std::map<int, Series> energy, distance;
  std::vector<ChartPoint> energy_points, distance_points;
  for (const auto& r : steps.rows) {
    const int ep = std::stoi(r[ce]);
    if (r[cm] != learned || !shown(ep)) continue;
    const EpisodeRow* o = outcome(learned, ep);
    const std::string label = "goal " + std::to_string(ep) + (o ? (o->success ? " (success)" : " (failure)") : "");
    auto& e = energy[ep];
    auto& d = distance[ep];
    e.label = d.label = label;
    e.x.push_back(std::stod(r[cs]));
    e.y.push_back(std::stod(r[cen]));
    d.x.push_back(std::stod(r[cs]));
    d.y.push_back(100 * std::stod(r[cd]));
    energy_points.push_back({label, e.x.back(), e.y.back()});
    distance_points.push_back({label, d.x.back(), d.y.back()});
  }
  std::vector<Series> ev, dv;
  for (auto& [ep, s] : energy) ev.push_back(s);
  for (auto& [ep, s] : distance) dv.push_back(s);
  if (ev.size() > 8) ev.resize(8), dv.resize(8);  // the PNG's legend has room for eight
  LineChart((plots / "energy.png").string(), ev,
            {"Latent energy, " + learned, "control step", "energy (L2 to goal embedding)"});
  LineChart((plots / "distance.png").string(), dv,
            {"True distance to the goal, " + learned, "control step", "distance (cm)"});

  // The page.
  std::ostringstream h;
  h << HtmlPageStart("jepa-mpc demo: " + in.task);
  h << "<style>.chart{display:inline-block;margin:.5em 1em .5em 0;vertical-align:top}"
       "details{margin:.6em 0}summary{cursor:pointer;font-weight:bold}"
       ".sheet img{max-width:none;height:96px}.videos figure{vertical-align:top}</style>\n";
  h << VegaScripts();
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
  if (results.contains("perfect_planner")) {
    h << " perfect-" << Escape(results["perfect_planner"].get<std::string>())
      << " is the learned planner with a perfect predictor: the true future frames of its candidates, "
         "scored by the model's encoder and energy, on the oracle's goals.";
  }
  h << " Charts: drag to pan, scroll to zoom, hover for values, click a legend entry to pick a series; "
       "PNG copies and the Vega-Lite specs are in plots/.</p>\n";
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
  h << "</table>\n"
    << Chart(plots, "success", BarSpec("Success rate by method (" + in.task + ")", "success (% of goals)", names,
                                      success_pct, success_rules, 100));

  h << "<h2>Closed-loop episodes</h2>\n<p>Each method's first successes and its failures (up to evaluate's "
       "--videos and --failure-videos). In each video: the camera with what the planner intends drawn on it, "
       "the goal image, and the latent energy (blue) and true distance (orange) so far. On the learned "
       "planner's frames, orange dots: the end effector along the chosen plan, read from the predicted "
       "embeddings by the model's linear probe; thin orange lines: a few sampled candidates; green: where "
       "the same actions take the arm in the true simulator; magenta and pink: the block, predicted and "
       "true. On the oracle's frames, green: its plan's true future.</p>\n";
  for (const std::string& method : names) {
    std::vector<std::string> figures;
    for (const auto& [key, path] : videos) {
      if (key.first != method) continue;
      const EpisodeRow* o = outcome(method, key.second);
      std::string caption = method + ", goal " + std::to_string(key.second);
      if (o) {
        caption += std::string(o->success ? ": success" : ": <b class=\"miss\">failure</b>") + ", final distance " +
                   Fixed(100 * o->final_distance, 1) + " cm (from " + Fixed(100 * o->initial_distance, 1) + ")";
      }
      figures.push_back("<figure><video controls muted loop src=\"" + Media(path, "video/mp4") +
                        "\"></video><figcaption>" + caption + "</figcaption></figure>\n");
    }
    if (figures.empty()) continue;
    h << "<h3>" << method << "</h3>\n<div class=\"videos\">";
    for (const auto& f : figures) h << f;
    h << "</div>\n";
  }
  if (!energy_points.empty()) {
    h << Chart(plots, "energy", LineSpec("Latent energy, " + learned, "control step",
                                         "energy (L2 distance to the goal embedding)", energy_points));
    h << Chart(plots, "distance", LineSpec("True distance to the goal, " + learned, "control step",
                                           "distance to the goal (cm)", distance_points));
  }

  // Contact sheets: every episode at a glance.
  if (fs::exists(eval / "contact")) {
    std::map<std::pair<std::string, int>, fs::path> sheets;
    for (const auto& e : fs::directory_iterator(eval / "contact")) {
      std::string method;
      int ep = 0;
      if (e.path().extension() == ".jpg" && ParseEpisodeFile(e.path(), method, ep)) sheets[{method, ep}] = e.path();
    }
    if (!sheets.empty()) {
      h << "<h2>Every episode</h2>\n<p>Start, middle and end frames beside the goal, per method.</p>\n";
      for (const std::string& method : names) {
        int n = 0, ok = 0;
        for (const auto& r : episodes) {
          if (r.method == method) ++n, ok += r.success;
        }
        h << "<details><summary>" << method << ": " << ok << " of " << n << " goals reached</summary>\n"
          << "<table class=\"sheet\"><tr><th>goal</th><th>result</th><th>distance (cm), start &rarr; end</th>"
             "<th>first passage (step)</th><th>start | middle | end | goal</th></tr>\n";
        for (const auto& r : episodes) {
          if (r.method != method) continue;
          auto it = sheets.find({method, r.episode});
          h << "<tr><td>" << r.episode << "</td><td class=\"" << (r.success ? "ok\">success" : "miss\">failure")
            << "</td><td>" << Fixed(100 * r.initial_distance, 1) << " &rarr; " << Fixed(100 * r.final_distance, 1)
            << "</td><td>" << (r.first_success >= 0 ? std::to_string(r.first_success) : "never") << "</td><td>"
            << (it == sheets.end() ? std::string()
                                   : "<img loading=\"lazy\" alt=\"goal " + std::to_string(r.episode) + "\" src=\"" +
                                         Media(it->second, "image/jpeg") + "\">")
            << "</td></tr>\n";
        }
        h << "</table></details>\n";
      }
    }
  }

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
  h << Chart(plots, "training-losses", LineSpec("Training losses", "optimizer step", "loss (log scale)", loss_points, true))
    << Chart(plots, "prediction-error",
             LineSpec("Held-out latent prediction error", "horizon (control steps)",
                      "error / copy-baseline error", pred_points, false, {{0.3, "target at horizon 5: 0.3"}}))
    << Chart(plots, "quality", BarSpec("Embedding quality", "value (1 is best)", quality_names, quality_values,
                                       {{0.95, "probe target 0.95"}, {0.9, "Spearman target 0.9"}, {0.25, "rank target 0.25"}}, 1.05));
  h << "<h2>Reproduce</h2>\n<pre>" << Escape(in.commands) << "</pre>\n</body></html>\n";
  const fs::path page = out / "report.html";
  util::WriteFileAtomically(page.string(), h.str());
  return page.string();
}

}  // namespace jepa_mpc::tools
