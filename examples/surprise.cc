// surprise: does a trained world model register impossible events? Twin episodes of a task with
// an object (the same up to an event step; in one twin the object teleports, vanishes, reappears
// elsewhere or changes colour), the per-step surprise of each model (its prediction error), and
// the violation-of-expectation measures: pairwise accuracy (the impossible twin more surprising,
// by its mean and by its maximum over time) and AUROC over single episodes. Writes results.csv,
// results.json, surprise.csv, plots and report.html to --out.

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <random>
#include <sstream>

#include "examples/common/cli.h"
#include "examples/common/episode_view.h"
#include "examples/common/media.h"
#include "examples/common/plot.h"
#include "examples/common/progress.h"
#include "examples/common/report.h"
#include "sim/collector.h"
#include "sim/twins.h"
#include "util/allocator.h"
#include "world_model/checkpoint.h"
#include "world_model/surprise.h"
#include "util/atomic_file.h"

namespace fs = std::filesystem;
namespace wm = jepa_mpc::world_model;
namespace sim = jepa_mpc::sim;
namespace tools = jepa_mpc::tools;

namespace {

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// One episode as the model reads it: images [T, 3, S, S] float, joint states [T, Q], actions [T, A].
struct EpisodeTensors {
  torch::Tensor images, qpos, actions;
};

EpisodeTensors ToTensors(const sim::EpisodeData& e, int size, int action_dim) {
  const int64_t T = e.length, Q = static_cast<int64_t>(e.qpos.size()) / T;
  EpisodeTensors t;
  t.images = torch::from_blob(const_cast<uint8_t*>(e.images.data()), {T, size, size, 3}, torch::kUInt8)
                 .permute({0, 3, 1, 2})
                 .to(torch::kFloat32)
                 .div(255.0)
                 .contiguous();
  t.qpos = torch::tensor(e.qpos, torch::kFloat64).reshape({T, Q}).to(torch::kFloat32);
  t.actions = torch::tensor(std::vector<float>(e.actions), torch::kFloat32).reshape({T, action_dim});
  return t;
}

std::vector<double> ToVector(const torch::Tensor& t) {
  auto c = t.to(torch::kFloat64).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

// The scores of one episode's surprise series s (entries from `from` on): its mean, its maximum,
// and its maximum over its own median (the surprise against the episode's baseline).
struct Scores {
  double mean = 0, max = 0, relative = 0;
};

Scores Score(const std::vector<double>& s, int from) {
  std::vector<double> v(s.begin() + from, s.end());
  Scores r;
  for (double x : v) r.mean += x / v.size();
  r.max = *std::max_element(v.begin(), v.end());
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  r.relative = r.max / std::max(v[v.size() / 2], 1e-12);
  return r;
}

// The pixels of frame t that differ by more than 10% of the range (any channel) between twins:
// 0 when the event happened out of sight (the object hidden by the arm or out of view).
int ChangedPixels(const sim::EpisodeData& a, const sim::EpisodeData& b, int t, int size) {
  const size_t frame = static_cast<size_t>(size) * size * 3;
  int changed = 0;
  for (size_t p = 0; p < static_cast<size_t>(size) * size; ++p) {
    bool differs = false;
    for (int k = 0; k < 3; ++k) {
      differs |= std::abs(int(a.images[t * frame + 3 * p + k]) - int(b.images[t * frame + 3 * p + k])) > 25;
    }
    changed += differs;
  }
  return changed;
}

std::string Label(const std::string& path, const wm::ModelMeta& meta) {
  return meta.config.objective + " (" + fs::path(path).parent_path().filename().string() + ")";
}

}  // namespace

int main(int argc, char** argv) {
  jepa_mpc::util::KeepFreedMemory();  // large tensors are freed and allocated again every step
  CLI::App app{"Measure surprise at impossible events: twin episodes, prediction error, pairwise accuracy and AUROC."};
  std::string checkpoints, events_arg = "teleport,vanish,reappear,colour", out_dir = "out/surprise";
  int pairs = 200, steps = 40, threads = 2, calibration = 50;
  uint64_t seed = 1000;
  app.add_option("--checkpoint", checkpoints,
                 "trained model(s), comma separated (the same robot, task and images; e.g. a JEPA model, a "
                 "reconstruction model and a frozen random encoder)")
      ->required();
  app.add_option("--pairs", pairs, "twin pairs per event")->capture_default_str();
  app.add_option("--events", events_arg, "events, comma separated: teleport, vanish, reappear, colour");
  app.add_option("--steps", steps, "control steps per episode (the event falls in its middle third)")
      ->capture_default_str();
  app.add_option("--calibration", calibration,
                 "ordinary episodes (seed + 1) that fix each feature's typical error for the scaled surprise")
      ->capture_default_str();
  app.add_option("--seed", seed, "episode seed (collect's data uses seed 0: keep this one apart)");
  app.add_option("--threads", threads, "torch threads")->capture_default_str();
  app.add_option("--out", out_dir, "output folder");
  CLI11_PARSE(app, argc, argv);

  return tools::RunMain("surprise", [&] {
    const auto t0 = std::chrono::steady_clock::now();
    auto at_least = [](const char* flag, int value, int least) {
      if (value < least) {
        throw std::invalid_argument(std::string(flag) + " is " + std::to_string(value) + ", expected at least " +
                                    std::to_string(least));
      }
    };
    at_least("--pairs", pairs, 1);
    at_least("--calibration", calibration, 1);
    at_least("--threads", threads, 1);
    at_least("--steps", steps, 12);  // a middle third, and room after the event for reappear
    at::set_num_threads(threads);
    std::vector<sim::ImpossibleEvent> events;
    for (const auto& name : Split(events_arg)) events.push_back(sim::ParseImpossibleEvent(name));
    if (events.empty()) throw std::invalid_argument("--events names no event");
    std::vector<std::string> paths = Split(checkpoints);
    std::vector<wm::WorldModel> models;
    std::vector<std::string> labels;
    for (const auto& p : paths) {
      models.push_back(wm::LoadCheckpoint(p).model);
      labels.push_back(Label(p, models.back()->meta()));
      const auto& m = models.back()->meta(), &first = models.front()->meta();
      if (m.robot != first.robot || m.task != first.task || m.image_size != first.image_size ||
          m.camera != first.camera) {
        throw std::invalid_argument("checkpoint '" + p + "' was trained on " + m.task + " / " + m.camera + " / " +
                                    std::to_string(m.image_size) + "px, '" + paths[0] + "' on " + first.task +
                                    " / " + first.camera + " / " + std::to_string(first.image_size) +
                                    "px; the models must see the same episodes");
      }
    }
    const wm::ModelMeta meta = models.front()->meta();
    const int S = static_cast<int>(meta.image_size);
    auto task = tools::MakeObjectTask(paths[0], meta.task, meta.robot, meta.camera, static_cast<int>(meta.antialias), S, "surprise");
    sim::RenderOptions ro;
    ro.width = ro.height = S;
    sim::Renderer renderer(task->sim().model(), ro);
    // A blue block: the colour event (the red one is the scene's own).
    sim::ModelPtr blue = sim::RecolouredModel(task->sim(), 0, Eigen::Vector4f(0.15f, 0.35f, 0.9f, 1));
    sim::Renderer recoloured(blue.get(), ro);

    const size_t M = models.size(), E = events.size();
    // "object": the scaled errors of the object group's coordinates alone, each keypoint weighted
    // by its variance over the calibration episodes (models with a group and a latent error; the
    // others' scaled surprise): where the block is, where the events happen.
    const std::vector<std::string> signals = {"scaled", "raw", "object"};
    std::vector<torch::Tensor> groups;  // per model: the group's features, undefined for all
    for (auto& m : models) {
      const auto& c = m->meta().config;
      groups.push_back(c.object_keypoints > 0 && !m->has_decoder() ? wm::ObjectGroupIndices(c) : torch::Tensor());
    }
    // The typical error of each feature, per model, on ordinary episodes apart from the pairs.
    std::vector<torch::Tensor> scales, group_weights;  // group_weights: see "object"
    {
      std::vector<std::vector<torch::Tensor>> errors(M), zs(M);
      tools::ProgressBar cal("calibrate", calibration, "episodes");
      for (int i = 0; i < calibration; ++i) {
        const sim::EpisodeData e = sim::RunEpisode(*task, renderer, steps, sim::EpisodeSeed(seed + 1, i));
        const EpisodeTensors x = ToTensors(e, S, task->action_dim());
        for (size_t m = 0; m < M; ++m) {
          errors[m].push_back(wm::PredictionErrors(models[m], x.images, x.qpos, x.actions));
          if (groups[m].defined()) {
            torch::NoGradGuard ng;
            zs[m].push_back(models[m]->Encode(x.images).index_select(1, groups[m]));
          }
        }
        cal.Update(i + 1);
      }
      cal.Finish();
      for (size_t m = 0; m < M; ++m) {
        scales.push_back(wm::ErrorScale(errors[m], models[m]->history()));
        if (groups[m].defined()) {
          // Each group keypoint by its variance over the ordinary episodes, as the goal energy
          // weighs them (train --group-weights variance).
          group_weights.push_back(wm::KeypointVarianceWeights(torch::cat(zs[m])));
        } else {
          group_weights.push_back(torch::Tensor());
        }
      }
    }
    // impossible[signal][m][e][pair], possible[signal][m][pair]: surprise series.
    using Series = std::vector<std::vector<double>>;
    const size_t G = signals.size();
    std::vector<std::vector<std::vector<Series>>> impossible(G, std::vector<std::vector<Series>>(M, std::vector<Series>(E)));
    std::vector<std::vector<Series>> possible(G, std::vector<Series>(M));
    std::vector<int> event_steps;
    std::vector<std::vector<int>> visible(E);  // [e][pair]: pixels the event changes in its frame
    sim::EpisodeData example_possible;
    std::vector<sim::EpisodeData> example_twins;
    std::mt19937_64 rng(seed);
    tools::ProgressBar bar("surprise", pairs, "pairs");
    // Both signals of every model on one episode (its tensors made once); series(signal, model)
    // names where they go.
    auto add = [&](const sim::EpisodeData& e, const std::function<Series&(size_t, size_t)>& series) {
      const EpisodeTensors x = ToTensors(e, S, task->action_dim());
      for (size_t m = 0; m < M; ++m) {
        const torch::Tensor errors = wm::PredictionErrors(models[m], x.images, x.qpos, x.actions);
        series(0, m).push_back(ToVector(wm::Surprise(errors, scales[m])));
        series(1, m).push_back(ToVector(wm::Surprise(errors)));
        if (groups[m].defined()) {
          const auto e = errors.index_select(1, groups[m]).to(torch::kDouble) /
                         scales[m].index_select(0, groups[m]).to(torch::kDouble);
          series(2, m).push_back(ToVector((e * group_weights[m]).sum(1) / group_weights[m].sum()));
        } else {
          series(2, m).push_back(ToVector(wm::Surprise(errors, scales[m])));
        }
      }
    };
    for (int i = 0; i < pairs; ++i) {
      const uint64_t episode_seed = sim::EpisodeSeed(seed, i);
      const sim::EpisodeData recorded = sim::RunEpisode(*task, renderer, steps, episode_seed);
      const sim::EpisodeData twin0 = sim::ReplayEpisode(*task, renderer, recorded);
      const int event_step = steps / 3 + static_cast<int>(rng() % static_cast<uint64_t>(steps / 3));
      event_steps.push_back(event_step);
      std::vector<sim::EpisodeData> twins;
      for (auto ev : events) twins.push_back(sim::ReplayWithEvent(*task, renderer, recoloured, twin0, ev, event_step, rng));
      for (size_t e = 0; e < E; ++e) visible[e].push_back(ChangedPixels(twin0, twins[e], event_step, S));
      add(twin0, [&](size_t sg, size_t m) -> Series& { return possible[sg][m]; });
      for (size_t e = 0; e < E; ++e) {
        add(twins[e], [&](size_t sg, size_t m) -> Series& { return impossible[sg][m][e]; });
      }
      if (i == 0) example_possible = twin0, example_twins = twins;
      bar.Update(i + 1);
    }
    bar.Finish();

    // The measures, per signal, model and event. Pairwise: each twin scored from the event step
    // on (before it the twins are the same episode). AUROC: each episode alone, scored over all
    // of it (a detector does not know when an event happens).
    fs::create_directories(fs::path(out_dir) / "plots");
    nlohmann::json results = nlohmann::json::array();
    std::ostringstream csv;
    csv << "signal,model,checkpoint,event,pairs,pairwise_mean,pairwise_max,pairwise_relative,auroc_mean,auroc_max,"
           "auroc_relative,visible_pairs,visible_pairwise_max,visible_auroc_max\n";
    auto pick = [](const std::vector<Scores>& v, double Scores::*f) {
      std::vector<double> out;
      for (const auto& sc : v) out.push_back(sc.*f);
      return out;
    };
    for (size_t sg = 0; sg < signals.size(); ++sg) {
      for (size_t m = 0; m < M; ++m) {
        const int W = static_cast<int>(models[m]->history());
        std::vector<Scores> pos_after, pos_all;
        for (int i = 0; i < pairs; ++i) {
          pos_after.push_back(Score(possible[sg][m][i], event_steps[i]));
          pos_all.push_back(Score(possible[sg][m][i], W));
        }
        for (size_t e = 0; e < E; ++e) {
          std::vector<Scores> imp_after, imp_all;
          for (int i = 0; i < pairs; ++i) {
            imp_after.push_back(Score(impossible[sg][m][e][i], event_steps[i]));
            imp_all.push_back(Score(impossible[sg][m][e][i], W));
          }
          nlohmann::json r = {{"signal", signals[sg]},
                              {"model", labels[m]},
                              {"checkpoint", paths[m]},
                              {"objective", models[m]->meta().config.objective},
                              {"event", sim::EventName(events[e])},
                              {"pairs", pairs}};
          for (auto [name, f] : {std::pair{"mean", &Scores::mean}, std::pair{"max", &Scores::max},
                                 std::pair{"relative", &Scores::relative}}) {
            r[std::string("pairwise_") + name] = wm::PairwiseAccuracy(pick(imp_after, f), pick(pos_after, f));
            r[std::string("auroc_") + name] = wm::Auroc(pick(imp_all, f), pick(pos_all, f));
          }
          // The same over the pairs whose event changed at least one pixel of its frame.
          std::vector<Scores> vi_after, vp_after, vi_all, vp_all;
          for (int i = 0; i < pairs; ++i) {
            if (visible[e][i] == 0) continue;
            vi_after.push_back(imp_after[i]), vp_after.push_back(pos_after[i]);
            vi_all.push_back(imp_all[i]), vp_all.push_back(pos_all[i]);
          }
          r["visible_pairs"] = vi_after.size();
          if (!vi_after.empty()) {
            r["visible_pairwise_max"] = wm::PairwiseAccuracy(pick(vi_after, &Scores::max), pick(vp_after, &Scores::max));
            r["visible_auroc_max"] = wm::Auroc(pick(vi_all, &Scores::max), pick(vp_all, &Scores::max));
          }
          csv << signals[sg] << ",\"" << labels[m] << "\"," << paths[m] << ',' << r["event"].get<std::string>() << ','
              << pairs;
          for (const char* k : {"pairwise_mean", "pairwise_max", "pairwise_relative", "auroc_mean", "auroc_max",
                                "auroc_relative"}) {
            csv << ',' << r[k].get<double>();
          }
          csv << ',' << r["visible_pairs"].get<int>() << ',' << r.value("visible_pairwise_max", NAN) << ','
              << r.value("visible_auroc_max", NAN) << '\n';
          results.push_back(r);
        }
      }
    }
    jepa_mpc::util::WriteFileAtomically((fs::path(out_dir) / "results.csv").string(), csv.str());
    // Every series, for plots of one's own.
    {
      std::ostringstream all;
      all << "signal,model,event,pair,event_step,twin,t,surprise\n";
      for (size_t sg = 0; sg < signals.size(); ++sg) {
        for (size_t m = 0; m < M; ++m) {
          for (int i = 0; i < pairs; ++i) {
            for (int t = 0; t < steps; ++t) {
              all << signals[sg] << ',' << m << ",none," << i << ',' << event_steps[i] << ",possible," << t << ','
                  << possible[sg][m][i][t] << '\n';
            }
            for (size_t e = 0; e < E; ++e) {
              for (int t = 0; t < steps; ++t) {
                all << signals[sg] << ',' << m << ',' << sim::EventName(events[e]) << ',' << i << ',' << event_steps[i]
                    << ",impossible," << t << ',' << impossible[sg][m][e][i][t] << '\n';
              }
            }
          }
        }
      }
      jepa_mpc::util::WriteFileAtomically((fs::path(out_dir) / "surprise.csv").string(), all.str());
    }

    // Plots: for each event and model, the surprise of both twins averaged over the pairs, aligned
    // on the event step; and a strip of frames around the event of the first pair.
    std::ostringstream html;
    html << tools::HtmlPageStart("jepa-mpc surprise: " + meta.task);
    html << "<h1>Surprise at impossible events (" << tools::HtmlEscape(meta.task) << ")</h1>\n<p>" << pairs
         << " twin pairs per event, " << steps << " control steps each (episode seeds from " << seed
         << "), the event at a step drawn from the middle third. Surprise: the one-step prediction error "
            "(per embedding dimension for JEPA and a frozen encoder, per pixel for a reconstruction model), "
            "averaged raw or scaled by each feature's mean error on " << calibration << " ordinary episodes "
            "(seed " << seed + 1 << "); object: scaled, over the object group's features alone, each keypoint "
            "weighted by its variance on those episodes (models with a group; the others' scaled). Pairwise accuracy: the share of pairs whose impossible twin scores "
            "higher from the event step on; AUROC: impossible against possible episodes taken one at a time, "
            "over the whole episode. Scores: the mean or the maximum, or the maximum over the episode's own "
            "median (relative).</p>\n<table><tr><th>signal</th><th>model</th><th>event</th>"
            "<th>pairwise (mean)</th><th>pairwise (max)</th><th>pairwise (relative)</th><th>AUROC (mean)</th>"
            "<th>AUROC (max)</th><th>AUROC (relative)</th></tr>\n";
    for (const auto& r : results) {
      html << "<tr><td>" << r["signal"].get<std::string>() << "</td><td>"
           << tools::HtmlEscape(r["model"].get<std::string>()) << "</td><td>"
           << r["event"].get<std::string>() << "</td>";
      for (const char* k : {"pairwise_mean", "pairwise_max", "pairwise_relative", "auroc_mean", "auroc_max",
                            "auroc_relative"}) {
        char b[16];
        std::snprintf(b, sizeof(b), "%.3f", r[k].get<double>());
        html << "<td>" << b << "</td>";
      }
      html << "</tr>\n";
    }
    html << "</table>\n";
    const int before = steps / 3, after = steps - steps / 3;  // the offsets every pair has
    for (size_t e = 0; e < E; ++e) {
      const std::string name = sim::EventName(events[e]);
      html << "<h2>" << name << "</h2>\n";
      for (size_t m = 0; m < M; ++m) {
        tools::Series ps{"possible twin", {}, {}}, is{"impossible twin", {}, {}};
        double top = 0;
        for (int k = -before + static_cast<int>(models[m]->history()); k < after - steps / 3; ++k) {
          double a = 0, b = 0;
          for (int i = 0; i < pairs; ++i) {
            a += possible[0][m][i][event_steps[i] + k] / pairs;
            b += impossible[0][m][e][i][event_steps[i] + k] / pairs;
          }
          ps.x.push_back(k), ps.y.push_back(a), is.x.push_back(k), is.y.push_back(b);
          top = std::max({top, a, b});
        }
        tools::Series mark{"event", {0, 0}, {0, top}};
        const std::string png = (fs::path(out_dir) / "plots" / (name + "_" + std::to_string(m) + ".png")).string();
        tools::LineChart(png, {ps, is, mark},
                         {name + ": surprise, " + labels[m] + ", mean of " + std::to_string(pairs) + " pairs",
                          "steps from the event", "scaled prediction error"});
        html << tools::EmbedPng(png, name + ", " + labels[m]);
      }
      // Frames of the first pair from one step before the event to four after: possible twin
      // above, impossible below.
      const int k0 = event_steps[0] - 1, n = 6, scale = 3;
      const size_t frame = static_cast<size_t>(S) * S * 3;
      std::vector<uint8_t> strip(static_cast<size_t>(2 * S) * n * S * 3);
      for (int row = 0; row < 2; ++row) {
        const auto& src = row == 0 ? example_possible : example_twins[e];
        for (int j = 0; j < n && k0 + j < steps; ++j) {
          for (int y = 0; y < S; ++y) {
            std::copy_n(src.images.begin() + (k0 + j) * frame + static_cast<size_t>(y) * S * 3, S * 3,
                        strip.begin() + (static_cast<size_t>(row * S + y) * n * S + j * S) * 3);
          }
        }
      }
      const std::string png = (fs::path(out_dir) / "plots" / (name + "_frames.png")).string();
      tools::WritePng(png, strip.data(), 2 * S, n * S, scale);
      html << tools::EmbedPng(png, name + ": frames from one step before the event (top: possible, bottom: impossible)");
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    html << "<p>Measured in " << tools::FormatDuration(seconds) << " with " << threads << " threads.</p></body></html>\n";
    jepa_mpc::util::WriteFileAtomically((fs::path(out_dir) / "report.html").string(), html.str());
    nlohmann::json summary = {{"task", meta.task}, {"pairs", pairs}, {"steps", steps}, {"seed", seed},
                              {"seconds", seconds}, {"results", results}};
    jepa_mpc::util::WriteFileAtomically((fs::path(out_dir) / "results.json").string(), summary.dump(2) + "\n");
    std::printf("%-7s %-34s %-9s %9s %9s %9s %9s %8s %9s %9s\n", "signal", "model", "event", "pair/mean", "pair/max",
                "AUROC/max", "AUROC/rel", "visible", "pair/max", "AUROC/max");
    for (const auto& r : results) {
      std::printf("%-7s %-34s %-9s %9.3f %9.3f %9.3f %9.3f %8d %9.3f %9.3f\n", r["signal"].get<std::string>().c_str(),
                  r["model"].get<std::string>().c_str(), r["event"].get<std::string>().c_str(),
                  r["pairwise_mean"].get<double>(), r["pairwise_max"].get<double>(), r["auroc_max"].get<double>(),
                  r["auroc_relative"].get<double>(), r["visible_pairs"].get<int>(), r.value("visible_pairwise_max", NAN),
                  r.value("visible_auroc_max", NAN));
    }
    std::printf("%d pairs x %zu events in %s; report %s\n", pairs, E, tools::FormatDuration(seconds).c_str(),
                (fs::path(out_dir) / "report.html").c_str());
    return 0;
  });
}
