// Work spread over processes: data-parallel training with c10d (two ranks on this machine against
// one process with the combined batch, resuming at another number of ranks, a rank that dies or
// hangs), and collection and evaluation in shards joined by merge.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/subprocess.h"
#include "tests/temp_dir.h"
#include "world_model/checkpoint.h"

namespace {

using ::testing::HasSubstr;
using jepa_mpc::testing::Child;
using jepa_mpc::testing::Outcome;
using jepa_mpc::testing::Concat;
using jepa_mpc::testing::Spawn;
using jepa_mpc::testing::Start;
using jepa_mpc::testing::Wait;
namespace fs = std::filesystem;
using Env = std::vector<std::pair<std::string, std::string>>;

// The L2 distance between two checkpoints' parameters (all of them as one vector).
double Distance(const std::string& a, const std::string& b) {
  auto x = jepa_mpc::world_model::LoadCheckpoint(a).model->named_parameters();
  auto y = jepa_mpc::world_model::LoadCheckpoint(b).model->named_parameters();
  EXPECT_EQ(x.size(), y.size());
  double sum = 0;
  for (const auto& p : x) sum += (p.value() - y[p.key()]).pow(2).sum().item<double>();
  return std::sqrt(sum);
}

class DistributedCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new jepa_mpc::testing::TempDir("jepa_distributed_test");
    const Outcome r = Spawn(COLLECT_BINARY, {"--task", "reach2d", "--episodes", "8", "--steps", "30",
                                             "--image-size", "32", "--out", Data()},
                            Path("collect.err"));
    ASSERT_EQ(r.code, 0) << r.err;
    // The initial weights: one step at a learning rate too small to move them.
    auto init = TrainArgs(Path("init"), 1);
    init.insert(init.end(), {"--lr", "1e-12"});
    const Outcome i = Spawn(TRAIN_BINARY, init, Path("init.err"));
    ASSERT_EQ(i.code, 0) << i.err;
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string Path(const std::string& name) { return (dir_->path() / name).string(); }
  static std::string Data() { return Path("data.h5"); }
  // Every batch-global term is on: SIGReg, the object group's InfoNCE, hidden joint states.
  static std::vector<std::string> TrainArgs(const std::string& out, int steps) {
    return {"--data", Data(), "--out", out, "--steps", std::to_string(steps), "--batch-size", "8",
            "--checkpoint-every", "5", "--threads", "1", "--object-keypoints", "1", "--object-weight", "1",
            "--object-pair-gap", "5"};
  }
  // Two ranks of train with args, on a port of this test's own.
  static std::vector<Child> StartRanks(const std::vector<std::string>& args, const std::string& name, int port,
                                       const std::string& timeout_s = "60") {
    std::vector<Child> ranks;
    for (int r = 0; r < 2; ++r) {
      const Env env = {{"WORLD_SIZE", "2"}, {"RANK", std::to_string(r)}, {"MASTER_ADDR", "127.0.0.1"},
                       {"MASTER_PORT", std::to_string(port)}, {"LOCAL_WORLD_SIZE", "2"},
                       {"JEPA_MPC_DIST_TIMEOUT", timeout_s}};
      ranks.push_back(Start(TRAIN_BINARY, args, Path(name + std::to_string(r) + ".err"), env));
    }
    return ranks;
  }
  static std::string Init() { return Path("init") + "/checkpoint.pt"; }
  static int Port(int offset) { return 20000 + static_cast<int>(getpid() % 10000) * 4 + offset; }
  static jepa_mpc::testing::TempDir* dir_;
};
jepa_mpc::testing::TempDir* DistributedCliTest::dir_ = nullptr;

// The tolerance, relative to how far training moved the weights: the two runs differ only in
// the order of floating-point sums (each rank's mean over half the batch, then the all-reduce),
// which Adam's normalised steps amplify where a gradient is near zero. Measured here: 0.040, and
// 0.785 for one process on half the batch (a rank training without the all-reduce). On 64 px
// reach2d data one process on 2 threads against 1 thread (another summation order, no ranks)
// differed by 0.053, two ranks by 0.045. The losses of the first step agree to 6 digits.
constexpr double kTolerance = 0.15;

TEST_F(DistributedCliTest, TwoRanksEndWithTheWeightsOfOneProcessOnTheCombinedBatch) {
  const std::string one = Path("one"), two = Path("two"), half = Path("half");
  ASSERT_EQ(Spawn(TRAIN_BINARY, TrainArgs(one, 50), Path("one.err")).code, 0);
  auto ranks = StartRanks(TrainArgs(two, 50), "two", Port(0));
  for (const Child& c : ranks) {
    const Outcome o = Wait(c);
    ASSERT_EQ(o.code, 0) << o.err;
  }
  const double moved = Distance(Init(), one + "/checkpoint.pt");
  const double d = Distance(one + "/checkpoint.pt", two + "/checkpoint.pt") / moved;
  std::printf("two ranks against one process after 50 steps: %.3f of the distance the weights moved\n", d);
  EXPECT_LT(d, kTolerance);
  EXPECT_GT(d, 0) << "identical bits: the ranks may not have split the batch";
  // What the tolerance tells apart: one rank's half of the batch alone.
  auto args = TrainArgs(half, 50);
  args[std::find(args.begin(), args.end(), "--batch-size") - args.begin() + 1] = "4";
  ASSERT_EQ(Spawn(TRAIN_BINARY, args, Path("half.err")).code, 0);
  const double h = Distance(one + "/checkpoint.pt", half + "/checkpoint.pt") / moved;
  std::printf("one process on half the batch against the whole: %.3f\n", h);
  EXPECT_GT(h, 3 * kTolerance);
}

TEST_F(DistributedCliTest, ARunOfTwoRanksResumesInOneProcess) {
  const std::string ref = Path("ref"), out = Path("resumed");
  ASSERT_EQ(Spawn(TRAIN_BINARY, TrainArgs(ref, 40), Path("ref.err")).code, 0);
  auto ranks = StartRanks(TrainArgs(out, 20), "first", Port(1));
  for (const Child& c : ranks) ASSERT_EQ(Wait(c).code, 0);
  auto more = TrainArgs(out, 40);
  more.push_back("--resume");
  const Outcome resumed = Spawn(TRAIN_BINARY, more, Path("resume.err"));
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  const double d = Distance(ref + "/checkpoint.pt", out + "/checkpoint.pt") /
                   Distance(Init(), ref + "/checkpoint.pt");
  std::printf("20 steps on two ranks + 20 resumed in one process against 40 in one: %.3f\n", d);
  EXPECT_LT(d, kTolerance);
}

TEST_F(DistributedCliTest, ARankThatDiesEndsTheOtherWithOneClearError) {
  const std::string out = Path("killed");
  auto ranks = StartRanks(TrainArgs(out, 100000), "killed", Port(2));
  // Killed once training is under way (its first checkpoint is written).
  const Outcome dead = Wait(ranks[1], 1, out + "/checkpoint.pt");
  EXPECT_FALSE(dead.exited);
  const Outcome survivor = Wait(ranks[0]);
  EXPECT_EQ(survivor.code, 1) << survivor.err;
  EXPECT_THAT(survivor.err, HasSubstr("another rank stopped or the network failed"));
  EXPECT_THAT(survivor.err, HasSubstr("rerun with --resume"));
  EXPECT_LT(survivor.seconds - dead.seconds, 60);
  std::printf("rank 0 ended %.2f s after rank 1 was killed\n", survivor.seconds - dead.seconds);
  // Its last checkpoint loads.
  EXPECT_GT(jepa_mpc::world_model::LoadCheckpoint(out + "/checkpoint.pt").state.step, 0);
}

TEST_F(DistributedCliTest, ARankThatHangsEndsTheOtherAfterTheTimeout) {
  const std::string out = Path("hung");
  auto ranks = StartRanks(TrainArgs(out, 100000), "hung", Port(3), "5");
  while (!fs::exists(out + "/checkpoint.pt")) usleep(2000);
  kill(ranks[1].pid, SIGSTOP);  // alive, connected, silent
  const auto stopped = std::chrono::steady_clock::now();
  const Outcome survivor = Wait(ranks[0]);
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - stopped).count();
  kill(ranks[1].pid, SIGKILL);
  Wait(ranks[1]);
  EXPECT_EQ(survivor.code, 1) << survivor.err;
  EXPECT_THAT(survivor.err, HasSubstr("another rank stopped or the network failed"));
  std::printf("rank 0 ended %.2f s after rank 1 stopped (timeout 5 s)\n", waited);
  EXPECT_GE(waited, 4.0);
  EXPECT_LT(waited, 30.0);
}

TEST_F(DistributedCliTest, BadGroupSettingsAreOneLine) {
  const std::vector<std::pair<Env, std::string>> cases = {
      {{{"WORLD_SIZE", "2"}, {"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", "29999"}}, "RANK is not set"},
      {{{"WORLD_SIZE", "two"}}, "WORLD_SIZE is 'two', expected an integer"},
      {{{"WORLD_SIZE", "2"}, {"RANK", "2"}, {"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", "29999"}},
       "RANK is '2', expected an integer in 0..1"},
      {{{"WORLD_SIZE", "3"}, {"RANK", "0"}, {"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", "29999"}},
       "expected a multiple of WORLD_SIZE 3"},
  };
  for (const auto& [env, message] : cases) {
    const Outcome o = Wait(Start(TRAIN_BINARY, TrainArgs(Path("bad"), 5), Path("bad.err"), env));
    EXPECT_EQ(o.code, 2) << o.err;
    EXPECT_THAT(o.err, HasSubstr(message));
    EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 1) << o.err;
  }
  // A rank whose peers never come gives up after the timeout with one line.
  const Outcome alone = Wait(Start(TRAIN_BINARY, TrainArgs(Path("alone"), 5), Path("alone.err"),
                                   {{"WORLD_SIZE", "2"}, {"RANK", "0"}, {"MASTER_ADDR", "127.0.0.1"},
                                    {"MASTER_PORT", std::to_string(Port(0))}, {"JEPA_MPC_DIST_TIMEOUT", "2"}}));
  EXPECT_EQ(alone.code, 1) << alone.err;
  EXPECT_THAT(alone.err, HasSubstr("could not join the process group within 2 s"));
}

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Each line of a CSV without its last column.
std::string DropLastColumn(const std::string& csv) {
  std::stringstream in(csv), out;
  for (std::string line; std::getline(in, line);) out << line.substr(0, line.rfind(',')) << "\n";
  return out.str();
}

TEST_F(DistributedCliTest, ShardedCollectionMergesIntoTheFileOfOneRun) {
  const std::vector<std::string> args = {"--task", "reach2d", "--episodes", "7", "--steps", "12", "--image-size", "32"};
  ASSERT_EQ(Spawn(COLLECT_BINARY, Concat(args, {"--out", Path("whole.h5")}), Path("whole.err")).code, 0);
  for (int i = 0; i < 3; ++i) {
    const std::string shard = std::to_string(i) + "/3";
    const Outcome o = Spawn(COLLECT_BINARY, Concat(args, {"--shard", shard, "--out", Path("shard" + std::to_string(i) + ".h5")}),
                            Path("shard.err"));
    ASSERT_EQ(o.code, 0) << o.err;
  }
  // Shards in any order; the merged file is the single run's, byte for byte.
  const Outcome merged =
      Spawn(MERGE_BINARY, {"--out", Path("merged.h5"), Path("shard2.h5"), Path("shard0.h5"), Path("shard1.h5")},
            Path("merge.err"));
  ASSERT_EQ(merged.code, 0) << merged.err;
  EXPECT_EQ(Read(Path("merged.h5")), Read(Path("whole.h5")));
  EXPECT_GT(Read(Path("whole.h5")).size(), 10000u);

  ASSERT_EQ(Spawn(COLLECT_BINARY, Concat(args, {"--seed", "5", "--shard", "2/3", "--out", Path("other.h5")}), Path("o.err")).code, 0);
  const std::vector<std::pair<std::vector<std::string>, std::string>> bad = {
      {{Path("shard0.h5"), Path("shard1.h5")}, "missing shard 2/3"},
      {{Path("shard0.h5"), Path("shard0.h5"), Path("shard1.h5")}, "are both shard 0/3"},
      {{Path("shard0.h5"), Path("shard1.h5"), Path("other.h5")}, "shards of one collection must agree"},
      {{Path("shard0.h5"), Path("whole.h5")}, "is not a shard"},
      {{Path("shard0.h5"), Path("nowhere.h5")}, "input '" + Path("nowhere.h5") + "' does not exist"},
  };
  for (const auto& [inputs, message] : bad) {
    const Outcome o = Spawn(MERGE_BINARY, Concat({"--out", Path("bad.h5")}, inputs), Path("bad.err"));
    EXPECT_EQ(o.code, 2) << o.err;
    EXPECT_THAT(o.err, HasSubstr(message));
    EXPECT_FALSE(fs::exists(Path("bad.h5")));
  }
  const Outcome o = Spawn(COLLECT_BINARY, Concat(args, {"--shard", "3/3", "--out", Path("x.h5")}), Path("x.err"));
  EXPECT_EQ(o.code, 2);
  EXPECT_THAT(o.err, HasSubstr("expected i/n with 0 <= i < n"));
}

TEST_F(DistributedCliTest, ShardedEvaluationMergesIntoTheTablesOfOneRun) {
  const std::vector<std::string> args = {"--checkpoint", Init(), "--episodes", "5", "--steps", "6", "--samples", "16",
                                         "--iterations", "2", "--time-budget", "0", "--videos", "0", "--threads", "1"};
  ASSERT_EQ(Spawn(EVALUATE_BINARY, Concat(args, {"--out", Path("eval")}), Path("eval.err")).code, 0);
  for (int i = 0; i < 2; ++i) {
    const Outcome o = Spawn(EVALUATE_BINARY, Concat(args, {"--shard", std::to_string(i) + "/2", "--out", Path("eval." + std::to_string(i))}),
                            Path("eval_shard.err"));
    ASSERT_EQ(o.code, 0) << o.err;
  }
  const Outcome merged = Spawn(MERGE_BINARY, {"--out", Path("merged"), Path("eval.1"), Path("eval.0")}, Path("merge.err"));
  ASSERT_EQ(merged.code, 0) << merged.err;
  // Every episode and step alike; the planning times (the last column) are each run's own.
  EXPECT_EQ(Read(Path("merged/episodes.csv")), Read(Path("eval/episodes.csv")));
  EXPECT_EQ(DropLastColumn(Read(Path("merged/steps.csv"))), DropLastColumn(Read(Path("eval/steps.csv"))));
  auto rates = [](const std::string& csv) {  // method .. mean_steps
    std::stringstream in(csv), out;
    for (std::string line; std::getline(in, line);) {
      size_t p = 0;
      for (int k = 0; k < 6; ++k) p = line.find(',', p) + 1;
      out << line.substr(0, p) << "\n";
    }
    return out.str();
  };
  EXPECT_EQ(rates(Read(Path("merged/results.csv"))), rates(Read(Path("eval/results.csv"))));
  EXPECT_THAT(Read(Path("eval/episodes.csv")), HasSubstr("oracle-cem,4,"));

  const Outcome missing = Spawn(MERGE_BINARY, {"--out", Path("m2"), Path("eval.1")}, Path("m2.err"));
  EXPECT_EQ(missing.code, 2);
  EXPECT_THAT(missing.err, HasSubstr("missing shard 0/2"));
  const Outcome whole = Spawn(MERGE_BINARY, {"--out", Path("m3"), Path("eval"), Path("eval.1")}, Path("m3.err"));
  EXPECT_EQ(whole.code, 2);
  EXPECT_THAT(whole.err, HasSubstr("is not a shard's results"));
}

}  // namespace
