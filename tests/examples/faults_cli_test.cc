// Faults a day of collection, training or evaluation meets: a full disk (here a file-size limit,
// which fails writes the same way without needing a small filesystem), SIGKILL at random moments.
// Each must end with one clear error or a clean resume, and nothing complete may be lost.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "sim/dataset.h"
#include "tests/subprocess.h"
#include "tests/temp_dir.h"
#include "util/atomic_file.h"
#include "world_model/checkpoint.h"

namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

using jepa_mpc::testing::Outcome;
using jepa_mpc::testing::Concat;
using jepa_mpc::testing::Spawn;

int Count(const std::string& text, const std::string& word) {
  int n = 0;
  for (size_t p = text.find(word); p != std::string::npos; p = text.find(word, p + 1)) ++n;
  return n;
}

bool SameWeights(const std::string& a, const std::string& b) {
  auto x = jepa_mpc::world_model::LoadCheckpoint(a).model->named_parameters();
  auto y = jepa_mpc::world_model::LoadCheckpoint(b).model->named_parameters();
  if (x.size() != y.size()) return false;
  for (const auto& p : x) {
    if (!torch::equal(p.value(), y[p.key()])) return false;
  }
  return true;
}

class FaultsCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new jepa_mpc::testing::TempDir("jepa_faults_test");
    const Outcome r = Spawn(COLLECT_BINARY, {"--task", "reach2d", "--episodes", "6", "--image-size", "32", "--threads",
                                         "2", "--out", Data()},
                        Path("collect.err"));
    ASSERT_EQ(r.code, 0) << r.err;
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string Path(const std::string& name) { return (dir_->path() / name).string(); }
  static std::string Data() { return Path("data.h5"); }
  static std::vector<std::string> TrainArgs(const std::string& out, int steps) {
    return {"--data", Data(), "--out", out, "--steps", std::to_string(steps), "--batch-size", "4",
            "--checkpoint-every", "1", "--threads", "1"};
  }
  static jepa_mpc::testing::TempDir* dir_;
};
jepa_mpc::testing::TempDir* FaultsCliTest::dir_ = nullptr;

TEST_F(FaultsCliTest, CollectPastTheFileSizeLimitKeepsEveryEpisodeAndResumes) {
  const std::vector<std::string> args = {"--task", "reach2d", "--episodes", "40", "--steps", "10",
                                         "--image-size", "32", "--threads", "2"};
  const std::string ref = Path("collect_ref.h5"), out = Path("collect_full.h5");
  ASSERT_EQ(Spawn(COLLECT_BINARY, Concat(args, {"--out", ref}), Path("ref.err")).code, 0);
  const long size = static_cast<long>(fs::file_size(ref));
  // Room for about half of the episodes.
  const Outcome full = Spawn(COLLECT_BINARY, Concat(args, {"--out", out}), Path("full.err"), size / 2);
  EXPECT_TRUE(full.exited) << "killed by a signal: " << full.err;
  EXPECT_EQ(full.code, 1) << full.err;
  EXPECT_EQ(Count(full.err, "error:"), 1) << full.err;
  EXPECT_THAT(full.err, HasSubstr("(File too large)"));
  EXPECT_THAT(full.err, HasSubstr("complete episodes are intact: free space and rerun with --resume"));
  const jepa_mpc::sim::DatasetReader reference(ref);
  {
    const jepa_mpc::sim::DatasetReader kept(out);
    EXPECT_GT(kept.num_episodes(), 5);
    EXPECT_LT(kept.num_episodes(), 40);
    for (int k = 0; k < kept.num_episodes(); ++k) EXPECT_TRUE(kept.Read(k) == reference.Read(k)) << k;
  }
  // With room again, --resume completes the file: the same episodes as the uninterrupted run.
  const Outcome resumed = Spawn(COLLECT_BINARY, Concat(args, {"--out", out, "--resume"}), Path("resume.err"));
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  const jepa_mpc::sim::DatasetReader done(out);
  ASSERT_EQ(done.num_episodes(), 40);
  for (int k = 0; k < 40; ++k) EXPECT_TRUE(done.Read(k) == reference.Read(k)) << k;
  EXPECT_FALSE(fs::exists(jepa_mpc::util::TemporaryPathFor(out)));
}

TEST_F(FaultsCliTest, TrainPastTheFileSizeLimitKeepsTheLastCheckpointAndResumes) {
  const std::string ref = Path("train_ref"), out = Path("train_full");
  ASSERT_EQ(Spawn(TRAIN_BINARY, TrainArgs(ref, 8), Path("ref.err")).code, 0);
  ASSERT_EQ(Spawn(TRAIN_BINARY, TrainArgs(out, 4), Path("first.err")).code, 0);
  const std::string ckpt = out + "/checkpoint.pt";
  const long size = static_cast<long>(fs::file_size(ckpt));
  // Metrics and config fit; the next checkpoint does not.
  std::vector<std::string> more = TrainArgs(out, 8);
  more.push_back("--resume");
  const Outcome full = Spawn(TRAIN_BINARY, more, Path("full.err"), size / 2);
  EXPECT_TRUE(full.exited) << "killed by a signal: " << full.err;
  EXPECT_EQ(full.code, 1) << full.err;
  EXPECT_EQ(Count(full.err, "error:"), 1) << full.err;
  EXPECT_THAT(full.err, HasSubstr("cannot write '" + ckpt + "': File too large; the previous checkpoint is unchanged"));
  EXPECT_FALSE(fs::exists(jepa_mpc::util::TemporaryPathFor(ckpt)));
  EXPECT_EQ(jepa_mpc::world_model::LoadCheckpoint(ckpt).state.step, 4);
  // With room again, --resume finishes with the uninterrupted run's weights.
  const Outcome resumed = Spawn(TRAIN_BINARY, more, Path("resume.err"));
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  EXPECT_TRUE(SameWeights(ckpt, ref + "/checkpoint.pt"));
}

TEST_F(FaultsCliTest, TrainKilledAtTenRandomMomentsEndsWithTheUninterruptedWeights) {
  const int steps = 60;
  const std::string ref = Path("kill_ref"), out = Path("kill_run");
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(Spawn(TRAIN_BINARY, TrainArgs(ref, steps), Path("ref.err")).code, 0);
  const int full_ms = static_cast<int>(
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  // Kills at moments drawn from a fixed seed over the first third of a whole run's length
  // (start-up, steps, a checkpoint write after each step), so ten of them fit before the run
  // ends; every other one waits from its moment until a checkpoint is being written (its
  // temporary file exists) and strikes then.
  std::mt19937 rng(2026);
  std::uniform_int_distribution<int> when(50, std::max(100, full_ms / 3));
  const std::string tmp = jepa_mpc::util::TemporaryPathFor(out + "/checkpoint.pt");
  int killed = 0, during_write = 0;
  for (int k = 0; k < 10; ++k) {
    std::vector<std::string> args = TrainArgs(out, steps);
    if (fs::exists(out + "/config.json")) args.push_back("--resume");
    const Outcome r = Spawn(TRAIN_BINARY, args, Path("kill.err"), 0, when(rng),
                            k % 2 ? tmp : "");
    if (!r.exited) {
      ++killed;
      during_write += fs::exists(tmp);
    } else {
      EXPECT_EQ(r.code, 0) << r.err;
    }
    // Whatever the kill left must be readable by the next run.
    if (fs::exists(out + "/checkpoint.pt")) EXPECT_NO_THROW(jepa_mpc::world_model::LoadCheckpoint(out + "/checkpoint.pt"));
  }
  std::vector<std::string> args = TrainArgs(out, steps);
  args.push_back("--resume");
  const Outcome last = Spawn(TRAIN_BINARY, args, Path("last.err"));
  ASSERT_EQ(last.code, 0) << last.err;
  EXPECT_TRUE(SameWeights(out + "/checkpoint.pt", ref + "/checkpoint.pt"));
  EXPECT_FALSE(fs::exists(tmp)) << "a run clears what a killed write left";
  EXPECT_GE(killed, 5) << "most of the 10 kills should land before the run ends";
  EXPECT_GE(during_write, 2) << "some kills should land in a checkpoint write";
  std::printf("train: %d of 10 runs killed, %d of them during a checkpoint write\n", killed, during_write);
  // Every step is in the metrics once, however often the run was killed.
  std::ifstream csv(out + "/metrics.csv");
  std::string line;
  std::vector<long> logged;
  std::getline(csv, line);
  while (std::getline(csv, line)) logged.push_back(std::stol(line));
  EXPECT_TRUE(std::is_sorted(logged.begin(), logged.end()));
  EXPECT_EQ(std::adjacent_find(logged.begin(), logged.end()), logged.end());
  EXPECT_EQ(logged.back(), steps);
}

// A file an interrupted run left is complete by its own format: JSON parses, CSV rows are whole,
// PNG ends with its IEND chunk, HTML with </html>, an mp4 has its index (moov).
void ExpectComplete(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  const std::string text = s.str();
  const std::string ext = p.extension();
  ASSERT_FALSE(text.empty()) << p;
  if (ext == ".json") {
    EXPECT_NO_THROW((void)nlohmann::json::parse(text)) << p;
  } else if (ext == ".csv") {
    EXPECT_EQ(text.back(), '\n') << p;
    std::istringstream lines(text);
    std::string line;
    std::getline(lines, line);
    const auto fields = std::count(line.begin(), line.end(), ',');
    while (std::getline(lines, line)) EXPECT_EQ(std::count(line.begin(), line.end(), ','), fields) << p;
  } else if (ext == ".png") {
    EXPECT_NE(text.find("IEND", text.size() - 12), std::string::npos) << p;
  } else if (ext == ".html") {
    EXPECT_NE(text.find("</html>"), std::string::npos) << p;
  } else if (ext == ".mp4") {
    EXPECT_NE(text.find("moov"), std::string::npos) << p;
  } else if (ext == ".jpg") {
    EXPECT_EQ(text.substr(text.size() - 2), "\xff\xd9") << p;  // JPEG's end-of-image marker
  }
}

TEST_F(FaultsCliTest, EvaluateKilledMidwayLeavesOnlyCompleteFilesAndReruns) {
  const std::string model = Path("eval_model");
  ASSERT_EQ(Spawn(TRAIN_BINARY, TrainArgs(model, 4), Path("train.err")).code, 0);
  const std::string out = Path("eval");
  const std::vector<std::string> args = {"--checkpoint", model + "/checkpoint.pt", "--planner", "cem", "--episodes",
                                         "3", "--samples", "16", "--elites", "4", "--iterations", "1", "--horizon",
                                         "4", "--oracle-samples", "16", "--oracle-iterations", "1", "--oracle-episodes",
                                         "2", "--videos", "1", "--failure-videos", "1", "--video-size", "64",
                                         "--out", out};
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(Spawn(EVALUATE_BINARY, args, Path("eval.err")).code, 0);
  const int full_ms = static_cast<int>(
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> when(full_ms / 4, full_ms);
  int killed = 0;
  for (int k = 0; k < 3; ++k) {
    const Outcome r = Spawn(EVALUATE_BINARY, args, Path("eval.err"), 0, when(rng));
    killed += !r.exited;
    for (const auto& e : fs::recursive_directory_iterator(out)) {
      if (!e.is_regular_file()) continue;
      const std::string name = e.path().filename();
      // A video being encoded is named .part.mp4 until it is complete.
      if (name.find(".part.") != std::string::npos || name.find(".tmp.") != std::string::npos) continue;
      ExpectComplete(e.path());
    }
  }
  EXPECT_GE(killed, 1);
  ASSERT_EQ(Spawn(EVALUATE_BINARY, args, Path("eval.err")).code, 0);
  nlohmann::json j;
  std::ifstream(fs::path(out) / "results.json") >> j;
  EXPECT_EQ(j["methods"].size(), 3u);  // learned-cem, oracle-cem, random
  int videos = 0, sheets = 0;
  for (const auto& e : fs::recursive_directory_iterator(out)) {
    const std::string name = e.path().filename();
    EXPECT_EQ(name.find(".part."), std::string::npos) << name;
    EXPECT_EQ(name.find(".tmp"), std::string::npos) << name;
    videos += e.path().extension() == ".mp4";
    sheets += e.path().extension() == ".jpg";
    if (e.is_regular_file()) ExpectComplete(e.path());
  }
  // Per method, a video of its first success and of its first failure (one outcome each: no
  // video left from a killed run), and a contact sheet per episode.
  std::map<std::string, std::pair<int, int>> outcomes;  // method -> (successes, failures)
  std::ifstream episodes(fs::path(out) / "episodes.csv");
  std::string row;
  std::getline(episodes, row);
  int rows = 0;
  while (std::getline(episodes, row)) {
    const std::string method = row.substr(0, row.find(','));
    std::stringstream fields(row);
    std::vector<std::string> f;
    for (std::string v; std::getline(fields, v, ',');) f.push_back(v);
    ASSERT_EQ(f.size(), 8u) << row;
    (f[4] == "1" ? outcomes[method].first : outcomes[method].second)++;
    ++rows;
  }
  int expected = 0;
  for (const auto& [method, n] : outcomes) expected += std::min(n.first, 1) + std::min(n.second, 1);
  EXPECT_EQ(videos, expected);
  EXPECT_EQ(sheets, rows);
}

}  // namespace
