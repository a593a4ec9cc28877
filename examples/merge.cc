// merge: joins the shards of a collection or of an evaluation that ran as n processes or on n
// machines (collect --shard i/n, evaluate --shard i/n) into what one run writes.
//
//   merge --out data/push.h5 push.0.h5 push.1.h5 push.2.h5 push.3.h5
//   merge --out out/eval eval.0 eval.1
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>

#include "examples/common/cli.h"
#include "examples/common/evaluation.h"
#include "examples/common/progress.h"
#include "sim/collector.h"

using namespace jepa_mpc;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
  CLI::App app{"Join shard files (collect --shard) into one dataset, or shard folders (evaluate --shard) into "
               "one evaluation."};
  std::vector<std::string> inputs;
  std::string out;
  bool overwrite = false;
  app.add_option("inputs", inputs, "every shard: HDF5 files from collect, or --out folders from evaluate")
      ->required();
  app.add_option("--out", out, "the merged dataset (.h5) or evaluation folder")->required();
  app.add_flag("--overwrite", overwrite, "replace an existing merged dataset");
  CLI11_PARSE(app, argc, argv);

  return tools::RunMain("merge", [&] {
    for (const auto& in : inputs) {
      if (!fs::exists(in)) throw std::invalid_argument("input '" + in + "' does not exist");
    }
    const bool folders = fs::is_directory(inputs.front());
    for (const auto& in : inputs) {
      if (fs::is_directory(in) != folders) {
        throw std::invalid_argument("inputs mix files and folders ('" + inputs.front() + "', '" + in +
                                    "'): merge either datasets or evaluations");
      }
    }
    if (folders) {
      const tools::EvalReport report = tools::MergeReports(inputs, out);
      std::printf("task %s (%s), %zu shards\n%s", report.task.c_str(), report.success_rule.c_str(), inputs.size(),
                  tools::FormatTable(report).c_str());
      std::printf("wrote %s/results.json, results.csv, episodes.csv, steps.csv, episodes.json\n", out.c_str());
      return 0;
    }
    std::unique_ptr<tools::ProgressBar> bar;
    const int episodes = sim::MergeShards(inputs, out, overwrite, [&](int done, int total) {
      if (!bar) bar = std::make_unique<tools::ProgressBar>("merge", total, "episodes");
      bar->Update(done);
    });
    if (bar) bar->Finish();
    std::printf("merged %zu shards into %s (%d episodes)\n", inputs.size(), out.c_str(), episodes);
    return 0;
  });
}
