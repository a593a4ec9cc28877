// The surprise binary as users run it: tiny push models (JEPA and reconstruction) made with
// collect and train, bad input (one line, non-zero exit), and a short complete run with its files.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <nlohmann/json.hpp>

#include "tests/cli_run.h"
#include "tests/temp_dir.h"

namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

using jepa_mpc::testing::CliRun;
constexpr auto Exec = jepa_mpc::testing::RunCli;

class SurpriseCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new jepa_mpc::testing::TempDir("jepa_surprise_cli_test");
    for (const char* task : {"push", "reach2d"}) {
      const std::string data = *dir_ / (std::string(task) + ".h5");
      ASSERT_EQ(Exec(COLLECT_BINARY, std::string("--task ") + task + " --episodes 3 --steps 24 --image-size 32 "
                                                                      "--threads 2 --out " + data).code, 0);
    }
    for (const char* objective : {"jepa", "reconstruction"}) {
      // Push trains its predictor on after the encoder (2000 steps by default, about 2 minutes
      // whatever the data): a few steps here, with their own progress bar.
      const bool jepa = std::string(objective) == "jepa";
      const CliRun r = Exec(TRAIN_BINARY, "--data " + (*dir_ / "push.h5") + " --out " + (*dir_ / objective) +
                                              " --objective " + objective +
                                              " --steps 3 --batch-size 4 --checkpoint-every 3 --threads 2" +
                                              " --predictor-steps " + (jepa ? "20" : "0"));
      ASSERT_EQ(r.code, 0) << r.err;
      if (jepa) {
        ASSERT_THAT(r.err, HasSubstr("predictor  [########################] 20/20 steps")) << r.err;
      }
    }
    const CliRun r = Exec(TRAIN_BINARY, "--data " + (*dir_ / "reach2d.h5") + " --out " + (*dir_ / "reach") +
                                            " --steps 2 --batch-size 4 --threads 2");
    ASSERT_EQ(r.code, 0) << r.err;
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string Ck(const std::string& name) { return (dir_->path() / name / "checkpoint.pt").string(); }
  static jepa_mpc::testing::TempDir* dir_;
};
jepa_mpc::testing::TempDir* SurpriseCliTest::dir_ = nullptr;

TEST_F(SurpriseCliTest, BadInputGivesOneLineAndNonZeroExit) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--checkpoint /nonexistent/model.pt", "/nonexistent/model.pt"},
      {"--checkpoint " + Ck("reach"), "which has no object; surprise needs a task with one"},
      {"--checkpoint " + Ck("jepa") + "," + Ck("reach"), "the models must see the same episodes"},
      {"--checkpoint " + Ck("jepa") + " --events teleport,explode", "unknown event 'explode'"},
      {"--checkpoint " + Ck("jepa") + " --pairs 0", "--pairs is 0, expected at least 1"},
      {"--checkpoint " + Ck("jepa") + " --steps 5", "--steps is 5, expected at least 12"},
  };
  for (const auto& [args, words] : cases) {
    const CliRun r = Exec(SURPRISE_BINARY, args);
    EXPECT_NE(r.code, 0) << args;
    EXPECT_THAT(r.err, HasSubstr(words)) << args;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << ": " << r.err;
  }
}

TEST_F(SurpriseCliTest, MeasuresEveryModelAndEventAndWritesTheReport) {
  const std::string out = *dir_ / "surprise";
  const CliRun r = Exec(SURPRISE_BINARY, "--checkpoint " + Ck("jepa") + "," + Ck("reconstruction") +
                                             " --pairs 3 --calibration 2 --steps 15 --threads 2 --out " + out);
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json j;
  std::ifstream(fs::path(out) / "results.json") >> j;
  EXPECT_EQ(j["pairs"], 3);
  // Three signals x two models x four events.
  ASSERT_EQ(j["results"].size(), 24u);
  std::set<std::string> objectives, events;
  for (const auto& row : j["results"]) {
    objectives.insert(row["objective"].get<std::string>());
    events.insert(row["event"].get<std::string>());
    for (const char* k : {"pairwise_mean", "pairwise_max", "auroc_max", "auroc_relative"}) {
      EXPECT_GE(row[k].get<double>(), 0.0) << k;
      EXPECT_LE(row[k].get<double>(), 1.0) << k;
    }
  }
  EXPECT_EQ(objectives, (std::set<std::string>{"jepa", "reconstruction"}));
  EXPECT_EQ(events, (std::set<std::string>{"teleport", "vanish", "reappear", "colour"}));
  for (const char* f : {"results.csv", "surprise.csv", "report.html", "plots/teleport_0.png", "plots/colour_1.png",
                        "plots/vanish_frames.png"}) {
    EXPECT_TRUE(fs::exists(fs::path(out) / f)) << f;
  }
  std::ifstream html(fs::path(out) / "report.html");
  const std::string page((std::istreambuf_iterator<char>(html)), {});
  EXPECT_THAT(page, HasSubstr("data:image/png;base64,"));
  EXPECT_THAT(page, HasSubstr("reappear"));
  // The object signal: the JEPA model's object group alone, not its scaled surprise over every
  // feature; the reconstruction model (pixel errors, no group) falls back to its scaled surprise.
  std::map<std::string, std::string> series;  // "signal,model,event,pair,twin,t" minus the signal -> value
  std::ifstream all(fs::path(out) / "surprise.csv");
  std::string line;
  std::getline(all, line);
  int differ[2] = {0, 0}, compared[2] = {0, 0};
  std::vector<std::string> rows;
  while (std::getline(all, line)) rows.push_back(line);
  for (const auto& row : rows) {
    const size_t comma = row.find(',');
    if (row.compare(0, comma, "scaled") == 0) series[row.substr(comma, row.rfind(',') - comma)] = row.substr(row.rfind(',') + 1);
  }
  for (const auto& row : rows) {
    const size_t comma = row.find(',');
    if (row.compare(0, comma, "object") != 0) continue;
    const std::string key = row.substr(comma, row.rfind(',') - comma);
    const int model = key[1] - '0';
    ASSERT_TRUE(series.count(key)) << key;
    ++compared[model];
    differ[model] += series[key] != row.substr(row.rfind(',') + 1);
  }
  EXPECT_GT(compared[0], 0);
  EXPECT_GT(differ[0], 0) << "the JEPA model's object signal equals its scaled surprise";
  EXPECT_EQ(compared[1], compared[0]);
  EXPECT_EQ(differ[1], 0) << "the reconstruction model has no object group to read";
}

// energy_map on the same tiny push model: every placement scored, and the one that reproduces the
// goal image (the object at its goal, the arm as drawn there) at zero energy.
TEST_F(SurpriseCliTest, EnergyMapScoresEveryPlacementAndTheGoalItselfAtZero) {
  const std::string csv = *dir_ / "map.csv";
  const CliRun r = Exec(ENERGY_MAP_BINARY, "--checkpoint " + Ck("jepa") + " --goals 2 --out " + csv);
  ASSERT_EQ(r.code, 0) << r.err;
  std::ifstream in(csv);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "goal,hand,distance_m,direction,energy,cost");
  int rows = 0, at_goal = 0;
  double farthest = 0;
  while (std::getline(in, line)) {
    ++rows;
    std::stringstream fields(line);
    std::vector<std::string> f;
    for (std::string v; std::getline(fields, v, ',');) f.push_back(v);
    ASSERT_EQ(f.size(), 6u) << line;
    const double energy = std::stod(f[4]), cost = std::stod(f[5]);
    EXPECT_GE(energy, 0) << line;
    EXPECT_GE(cost, energy - 1e-6) << line;  // the cost adds the reaching term
    if (f[1] == "0" && std::stod(f[2]) == 0) {
      EXPECT_LT(energy, 1e-3) << line;  // the goal image itself
      ++at_goal;
    }
    if (f[1] == "0" && std::stod(f[2]) > 0.14) farthest = std::max(farthest, energy);
  }
  EXPECT_EQ(rows, 2 * 9 * 9 * 8);  // goals x hands x distances x directions
  EXPECT_EQ(at_goal, 16);
  EXPECT_GT(farthest, 1e-3);  // moving the object 15 cm changes the image and its energy
  const CliRun reach = Exec(ENERGY_MAP_BINARY, "--checkpoint " + Ck("reach"));
  EXPECT_NE(reach.code, 0);
  EXPECT_THAT(reach.err, HasSubstr("which has no object; energy_map needs a task with one"));
  const CliRun none = Exec(ENERGY_MAP_BINARY, "--checkpoint " + Ck("jepa") + " --goals 0");
  EXPECT_NE(none.code, 0);
  EXPECT_THAT(none.err, HasSubstr("--goals is 0, expected at least 1"));
}

// evaluate on the same tiny push model, trained with the push defaults: its reaching term reads
// the hand from the robot, which evaluate hands it at every step (learned) and along every
// candidate's true future (perfect); the model's reading of the block's distance is recorded.
TEST_F(SurpriseCliTest, EvaluateGivesAPushModelTheHandAndRecordsItsReadingOfTheBlock) {
  const std::string out = *dir_ / "evaluate";
  const CliRun r = Exec(EVALUATE_BINARY, "--checkpoint " + Ck("jepa") +
                                             " --methods learned,perfect --episodes 1 --oracle-episodes 1 --steps 3"
                                             " --samples 4 --elites 2 --iterations 1 --horizon 2 --time-budget 0"
                                             " --videos 0 --failure-videos 0 --no-contact-sheets --threads 2 --out " + out);
  ASSERT_EQ(r.code, 0) << r.err;
  std::ifstream in(out + "/steps.csv");
  std::string line;
  std::getline(in, line);
  ASSERT_THAT(line, HasSubstr(",read_m,yaw_deg,plan_ms"));
  int learned = 0, perfect = 0;
  while (std::getline(in, line)) {
    std::stringstream fields(line);
    std::vector<std::string> f;
    for (std::string v; std::getline(fields, v, ',');) f.push_back(v);
    ASSERT_EQ(f.size(), 17u) << line;
    const int step = std::stoi(f[2]);
    // The block's turn, at every step of every method.
    EXPECT_TRUE(std::isfinite(std::stod(f[15]))) << line;
    EXPECT_LE(std::abs(std::stod(f[15])), 180.0) << line;
    if (f[0] == "learned-cem") {
      ++learned;
      // Read at every action (3), not after the last.
      if (step < 3) {
        EXPECT_TRUE(std::isfinite(std::stod(f[14]))) << line;
        EXPECT_GE(std::stod(f[14]), 0) << line;
      }
    } else {
      ++perfect;
    }
  }
  EXPECT_EQ(learned, 4);  // 3 actions, then the end
  EXPECT_EQ(perfect, 4);
  // How far the goal image shows the hand from the block: the task's own goal has the arm at
  // home, where each episode starts, and the block at the goal.
  std::ifstream full(out + "/episodes.json");
  for (const auto& e : nlohmann::json::parse(full)) {
    ASSERT_TRUE(e.contains("goal_reach")) << e["method"];
    const auto home = e["effector"][0].get<std::array<double, 3>>();
    const auto goal = e["goal"].get<std::array<double, 3>>();
    const double reach = std::hypot(home[0] - goal[0], home[1] - goal[1], home[2] - goal[2]);
    EXPECT_GT(reach, 0.05);
    EXPECT_NEAR(e["goal_reach"].get<double>(), reach, 1e-3) << e["method"];
  }
}

}  // namespace
