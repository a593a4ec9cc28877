// The evaluate binary as users run it: a tiny dataset and model made with collect and train,
// then bad input (one line, non-zero exit) and a short complete evaluation with its files.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <nlohmann/json.hpp>

#include <chrono>
#include <regex>
#include <thread>

#include "tests/cli_run.h"
#include "tests/subprocess.h"
#include "tests/temp_dir.h"

namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

using jepa_mpc::testing::CliRun;
constexpr auto Exec = jepa_mpc::testing::RunCli;

class EvaluateCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new jepa_mpc::testing::TempDir("jepa_eval_cli_test");
    const std::string data = *dir_ / "data.h5";
    ASSERT_EQ(Exec(COLLECT_BINARY, "--task reach2d --episodes 4 --image-size 32 --threads 2 --out " + data).code, 0);
    const CliRun r = Exec(TRAIN_BINARY, "--data " + data + " --out " + (*dir_ / "model") +
                                            " --steps 4 --batch-size 4 --checkpoint-every 4 --threads 2");
    ASSERT_EQ(r.code, 0) << r.err;
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string Checkpoint() { return *dir_ / "model/checkpoint.pt"; }
  // The results.json an evaluation wrote in folder.
  static nlohmann::json Results(const std::string& folder) {
    nlohmann::json j;
    std::ifstream(fs::path(folder) / "results.json") >> j;
    return j;
  }
  static jepa_mpc::testing::TempDir* dir_;
};
jepa_mpc::testing::TempDir* EvaluateCliTest::dir_ = nullptr;

TEST_F(EvaluateCliTest, BadInputGivesOneLineAndNonZeroExit) {
  const std::string ck = "--checkpoint " + Checkpoint();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--checkpoint /nonexistent/model.pt", "/nonexistent/model.pt"},
      {ck + " --task reach3d", "was trained on task 'reach2d'"},
      {ck + " --task juggle", "unknown task 'juggle'"},
      {ck + " --planner newton", "unknown planner 'newton'"},
      {ck + " --episodes 0", "--episodes is 0"},
      {ck + " --samples -4", "--samples is -4"},
      {ck + " --horizon 0", "--horizon is 0"},
      {ck + " --time-budget -1", "--time-budget"},
      {ck + " --methods learned,magic", "unknown method 'magic'"},
      {ck + " --mjcf /nonexistent/scene.xml", "/nonexistent/scene.xml"},
      // The oracle must search at least as hard as the learned planner (cem: 64 x 2 here).
      {ck + " --oracle-samples 32 --oracle-iterations 3", "would not be an upper bound"},
      {ck + " --planner mppi --oracle-samples 256", "below learned mppi's 2048"},
      {ck + " --iterations -1", "--iterations is -1"},
      {ck + " --oracle-reach-weight -1", "--oracle-reach-weight must be a number >= 0"},
      {ck + " --explain 0", "--explain writes explain.csv: give --out"},
      {ck + " --episodes 2 --explain 0,5 --out " + (*dir_ / "explain_bad"), "--explain episode 5 is outside the 2 goals"},
      {ck + " --contact-height 0.02", "contact height needs a push model"},
  };
  for (const auto& [args, words] : cases) {
    const CliRun r = Exec(EVALUATE_BINARY, args);
    EXPECT_NE(r.code, 0) << args;
    EXPECT_THAT(r.err, HasSubstr(words)) << args;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << ": " << r.err;
  }
}

TEST_F(EvaluateCliTest, WritesTheTableAndVideosForEveryMethod) {
  const std::string out = *dir_ / "eval";
  const CliRun r = Exec(EVALUATE_BINARY, "--checkpoint " + Checkpoint() +
                                             " --planner cem,mppi --episodes 1 --samples 16 --elites 4"
                                             " --iterations 1 --horizon 4 --oracle-samples 16"
                                             " --oracle-iterations 1 --videos 1 --video-size 64 --out " + out);
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json j = Results(out);
  std::vector<std::string> methods;
  for (const auto& m : j["methods"]) {
    methods.push_back(m["method"]);
    EXPECT_EQ(m["episodes"], 1);
    EXPECT_GE(m["success_rate"].get<double>(), 0.0);
    EXPECT_LE(m["success_rate"].get<double>(), 1.0);
    EXPECT_GT(m["mean_final_distance_m"].get<double>(), 0.0);
  }
  EXPECT_EQ(methods, (std::vector<std::string>{"learned-cem", "learned-mppi", "oracle-cem", "random"}));
  EXPECT_EQ(j["oracle_planner"]["reach_weight"], 0.0);  // the task's own: reach2d has no object
  for (const char* f : {"results.csv", "episodes.csv", "steps.csv"}) {
    EXPECT_GT(fs::file_size(fs::path(out) / f), 40u) << f;
  }
  int videos = 0;
  for (const auto& e : fs::directory_iterator(fs::path(out) / "videos")) {
    const std::string name = e.path().filename().string();
    EXPECT_THAT(name, ::testing::MatchesRegex(".*_ep0_(success|failure)\\.mp4")) << name;
    EXPECT_GT(fs::file_size(e.path()), 1000u) << name;
    ++videos;
  }
  EXPECT_EQ(videos, 4);
  // A contact sheet for every episode of every method: four tiles (start, middle, end, goal).
  for (const auto& m : methods) {
    const fs::path sheet = fs::path(out) / "contact" / (m + "_ep0.jpg");
    EXPECT_GT(fs::exists(sheet) ? fs::file_size(sheet) : 0, 500u) << sheet;
  }
  // Success is judged at the end: every episode runs the task's full length (reach2d: 50 steps).
  std::ifstream episodes(fs::path(out) / "episodes.csv");
  std::string header, row;
  std::getline(episodes, header);
  EXPECT_EQ(header, "method,episode,seed,initial_distance_m,success,final_distance_m,first_success_step,steps");
  while (std::getline(episodes, row)) EXPECT_EQ(row.substr(row.rfind(',') + 1), "50") << row;
  // Every step says where the tracked point was, beside the goal: its distance is the step's.
  std::ifstream full(fs::path(out) / "episodes.json");
  const nlohmann::json all = nlohmann::json::parse(full);
  ASSERT_EQ(all.size(), 4u);
  for (const auto& e : all) {
    const auto distance = e["distance"].get<std::vector<double>>();
    const auto tracked = e["tracked"].get<std::vector<std::array<double, 3>>>();
    const auto goal = e["goal"].get<std::array<double, 3>>();
    ASSERT_EQ(tracked.size(), distance.size()) << e["method"];
    EXPECT_EQ(e["effector"].size(), distance.size()) << e["method"];
    for (size_t t = 0; t < distance.size(); ++t) {
      const double d = std::hypot(tracked[t][0] - goal[0], tracked[t][1] - goal[1], tracked[t][2] - goal[2]);
      EXPECT_NEAR(d, distance[t], 1e-9) << e["method"] << " step " << t;
    }
  }
  std::ifstream steps(fs::path(out) / "steps.csv");
  std::getline(steps, header);
  EXPECT_EQ(header,
            "method,episode,step,distance_m,energy,tracked_x,tracked_y,tracked_z,effector_x,effector_y,effector_z,"
            "goal_x,goal_y,goal_z,read_m,yaw_deg,plan_ms");
}

// --explain: every learned step of the named episodes scores the chosen plan beside keeping still
// (an object task adds a hand-written push), by the model in parts, on the true future and by
// where each truly ends.
TEST_F(EvaluateCliTest, ExplainScoresTheChosenPlanBesideKeepingStill) {
  const std::string out = *dir_ / "explain";
  const CliRun r = Exec(EVALUATE_BINARY, "--checkpoint " + Checkpoint() +
                                             " --methods learned --episodes 2 --explain 1 --samples 8 --elites 2"
                                             " --iterations 1 --horizon 3 --steps 3 --videos 0 --out " + out);
  ASSERT_EQ(r.code, 0) << r.err;
  std::ifstream in(fs::path(out) / "explain.csv");
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_EQ(line, "method,episode,step,plan,model_cost,model_distance,model_reach,model_object_m,perfect_cost,"
                  "true_distance_m");
  std::vector<std::string> plans;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream fields(line);
    for (std::string v; std::getline(fields, v, ',');) f.push_back(v);
    ASSERT_EQ(f.size(), 10u) << line;
    EXPECT_EQ(f[1], "1") << line;  // only the episode asked for
    EXPECT_EQ(std::stoi(f[2]), static_cast<int>(plans.size()) / 2) << line;
    plans.push_back(f[3]);
    const double cost = std::stod(f[4]), distance = std::stod(f[5]), reach = std::stod(f[6]);
    EXPECT_NEAR(distance + reach, cost, 1e-4 * std::max(1.0, cost)) << line;
    EXPECT_EQ(f[7], "nan") << line;  // reach2d has no object to read
    EXPECT_TRUE(std::isfinite(std::stod(f[8]))) << line;
    EXPECT_GT(std::stod(f[9]), 0.0) << line;
  }
  EXPECT_EQ(plans, (std::vector<std::string>{"chosen", "still", "chosen", "still", "chosen", "still"}));
}

TEST_F(EvaluateCliTest, PerfectPredictorCheckRunsTheLearnedPlannerOnTrueFutures) {
  // --methods perfect: the first --planner, its budget, on the oracle's goals, scoring the true
  // future frames with the model's encoder; its row and settings are in the tables.
  const std::string out = *dir_ / "perfect";
  const CliRun r = Exec(EVALUATE_BINARY, "--checkpoint " + Checkpoint() +
                                             " --methods learned,perfect --planner cem --episodes 2 --oracle-episodes 1"
                                             " --samples 8 --elites 2 --iterations 1 --horizon 3 --steps 4"
                                             " --videos 1 --video-size 64 --out " + out);
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json j = Results(out);
  EXPECT_EQ(j["perfect_planner"], "cem");
  std::vector<std::pair<std::string, int>> methods;
  for (const auto& m : j["methods"]) {
    methods.emplace_back(m["method"], m["episodes"]);
    EXPECT_GT(m["plan_ms_median"].get<double>(), 0.0);
  }
  EXPECT_EQ(methods, (std::vector<std::pair<std::string, int>>{{"learned-cem", 2}, {"perfect-cem", 1}}));
  EXPECT_TRUE(fs::exists(fs::path(out) / "contact" / "perfect-cem_ep0.jpg"));
  // Without a learned planner named, perfect still plans with the default one.
  const CliRun alone = Exec(EVALUATE_BINARY, "--checkpoint " + Checkpoint() +
                                                 " --methods perfect --episodes 1 --samples 8 --elites 2"
                                                 " --iterations 1 --horizon 2 --steps 2 --videos 0 --out " + out + "2");
  ASSERT_EQ(alone.code, 0) << alone.err;
  j = Results(out + "2");
  ASSERT_EQ(j["methods"].size(), 1u);
  EXPECT_EQ(j["methods"][0]["method"], "perfect-cem");
}

TEST_F(EvaluateCliTest, RecordsTheLearnedPlannersEpisodesForTraining) {
  // The learned planner's own episodes as a dataset (not the random baseline's), which training
  // takes as extra training episodes beside the collected ones.
  const std::string rec = *dir_ / "record.h5";
  const std::string plan = " --samples 16 --elites 4 --iterations 1 --horizon 4 --time-budget 0 --videos 0";
  const CliRun r = Exec(EVALUATE_BINARY, "--checkpoint " + Checkpoint() + " --methods learned,random --episodes 2" +
                                             plan + " --record " + rec);
  ASSERT_EQ(r.code, 0) << r.err;
  const CliRun t = Exec(TRAIN_BINARY, "--data " + (*dir_ / "data.h5") + " --extra-data " + rec + " --out " +
                                          (*dir_ / "model_more") + " --steps 2 --batch-size 4 --threads 2");
  ASSERT_EQ(t.code, 0) << t.err;
  EXPECT_THAT(t.err, HasSubstr("+ " + rec + " (training only)"));
  EXPECT_THAT(t.err, HasSubstr("5 training and 1 held-out episodes"));  // 3 + the 2 recorded
  // An existing file is not overwritten.
  const CliRun again = Exec(EVALUATE_BINARY, "--checkpoint " + Checkpoint() + " --methods learned --episodes 1" +
                                                 plan + " --record " + rec);
  EXPECT_NE(again.code, 0);
  EXPECT_THAT(again.err, HasSubstr(rec));
  EXPECT_EQ(std::count(again.err.begin(), again.err.end(), '\n'), 1) << again.err;
  // Episodes shorter than the collected ones are not data like them.
  const std::string shorter = *dir_ / "record8.h5";
  ASSERT_EQ(Exec(EVALUATE_BINARY, "--checkpoint " + Checkpoint() + " --methods learned --episodes 1 --steps 8" +
                                      plan + " --record " + shorter).code, 0);
  const CliRun bad = Exec(TRAIN_BINARY, "--data " + (*dir_ / "data.h5") + " --extra-data " + shorter + " --out " +
                                            (*dir_ / "model_bad") + " --steps 2 --batch-size 4 --threads 2");
  EXPECT_NE(bad.code, 0);
  EXPECT_THAT(bad.err, HasSubstr("extra dataset '" + shorter + "'"));
}

TEST_F(EvaluateCliTest, ReplayGoalsComeFromExplorationEpisodes) {
  // The Push-T protocol: start in a held-out exploration episode, the goal 5 steps later in it,
  // the fingertip having moved at least 5 cm between them; a budget of 8 steps.
  const std::string out = *dir_ / "replay";
  const CliRun r = Exec(EVALUATE_BINARY, "--checkpoint " + Checkpoint() +
                                             " --methods random --episodes 3 --replay-offset 5"
                                             " --replay-min-move 0.05 --steps 8 --videos 0 --out " + out);
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json j = Results(out);
  EXPECT_EQ(j["replay_offset"], 5);
  EXPECT_EQ(j["steps"], 8);
  std::ifstream episodes(fs::path(out) / "episodes.csv");
  std::string row;
  std::getline(episodes, row);
  int rows = 0;
  while (std::getline(episodes, row)) {
    std::stringstream fields(row);
    std::vector<std::string> f;
    for (std::string v; std::getline(fields, v, ',');) f.push_back(v);
    ASSERT_EQ(f.size(), 8u) << row;
    EXPECT_GE(std::stod(f[3]), 0.05) << row;  // the start is at least 5 cm from the goal
    EXPECT_EQ(f[7], "8") << row;
    ++rows;
  }
  EXPECT_EQ(rows, 3);
  const CliRun bad = Exec(EVALUATE_BINARY, "--checkpoint " + Checkpoint() + " --replay-offset -1");
  EXPECT_NE(bad.code, 0);
  EXPECT_THAT(bad.err, HasSubstr("--replay-offset is -1"));
}

}  // namespace

namespace {

TEST(DemoCliTest, RunsEveryStageWritesTheReportAndReusesItsCache) {
  jepa_mpc::testing::TempDir dir("jepa_demo_test");
  const std::string args = "--episodes 4 --train-steps 4 --eval-episodes 1 --videos 1 --out " + dir.path().string();
  const CliRun first = Exec(DEMO_BINARY, args);
  ASSERT_EQ(first.code, 0) << first.err;
  for (const char* stage : {"stage 1/4", "stage 2/4", "stage 3/4", "stage 4/4"}) {
    EXPECT_THAT(first.err, HasSubstr(stage));
  }
  const fs::path out = dir.path() / "reach2d";
  for (const char* f : {"data.h5", "model/checkpoint.pt", "eval/results.json", "eval/results.csv",
                        "plots/training_losses.png", "plots/prediction_error.png", "plots/quality.png",
                        "plots/success.png", "plots/energy.png", "plots/distance.png", "report.html"}) {
    EXPECT_TRUE(fs::exists(out / f)) << f;
  }
  std::ifstream page(out / "report.html");
  const std::string html((std::istreambuf_iterator<char>(page)), {});
  // Self-contained: the chart libraries, the charts' data, videos and contact sheets are embedded,
  // nothing is linked or fetched.
  EXPECT_NE(html.find("vegaEmbed('#success'"), std::string::npos);
  EXPECT_NE(html.find("vegaEmbed('#training-losses'"), std::string::npos);
  EXPECT_NE(html.find("data:video/mp4;base64,"), std::string::npos);
  EXPECT_NE(html.find("data:image/jpeg;base64,"), std::string::npos);  // contact sheets
  EXPECT_EQ(html.find("src=\"plots/"), std::string::npos);
  EXPECT_EQ(html.find("src=\"http"), std::string::npos);
  EXPECT_TRUE(fs::exists(out / "plots/success.vl.json"));
  EXPECT_THAT(html, HasSubstr("learned-cem"));
  EXPECT_THAT(html, HasSubstr("oracle-cem"));
  // The second run reuses the dataset, the model and the evaluation.
  const CliRun second = Exec(DEMO_BINARY, args);
  ASSERT_EQ(second.code, 0) << second.err;
  EXPECT_THAT(second.err, HasSubstr("collect    reusing"));
  EXPECT_THAT(second.err, HasSubstr("train      reusing"));
  EXPECT_THAT(second.err, HasSubstr("evaluate   reusing"));
  // Bad input: one line, non-zero exit.
  const CliRun bad = Exec(DEMO_BINARY, "--task juggle --out " + dir.path().string());
  EXPECT_NE(bad.code, 0);
  EXPECT_THAT(bad.err, HasSubstr("unknown task 'juggle'"));
}

}  // namespace

namespace {

// The live view as a user sees it: evaluate --serve, a real browser (Debian's chromium, headless)
// opens the page, reads the MJPEG stream and reports back what it received.
TEST_F(EvaluateCliTest, LiveViewStreamsFramesToAHeadlessBrowser) {
  const char* chromium = std::getenv("CHROMIUM") ? std::getenv("CHROMIUM") : "/usr/bin/chromium";
  ASSERT_TRUE(fs::exists(chromium)) << chromium << " is missing: scripts/setup.sh installs Debian's chromium";
  const fs::path dir = *dir_ / "live";
  fs::create_directories(dir);
  using jepa_mpc::testing::Start;
  const auto eval = Start(EVALUATE_BINARY,
                          {"--checkpoint", Checkpoint(), "--methods", "learned,random", "--episodes", "4",
                           "--samples", "16", "--iterations", "1", "--horizon", "4", "--video-size", "128",
                           "--serve", "0", "--serve-wait", "60"},
                          dir / "evaluate.err");
  // The URL it serves on (a free port).
  std::string url;
  for (int i = 0; i < 600 && url.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::ifstream err(dir / "evaluate.err");
    const std::string text((std::istreambuf_iterator<char>(err)), {});
    const size_t at = text.find("live view: http://");
    if (at != std::string::npos && text.find('\n', at) != std::string::npos) {
      url = text.substr(at + 11, text.find('\n', at) - at - 11);
    }
  }
  ASSERT_FALSE(url.empty()) << "evaluate printed no live view URL";
  const auto browser = Start(chromium,
                             {"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                              "--user-data-dir=" + (dir / "profile").string(), url},
                             dir / "chromium.err", {{"TMPDIR", dir.string()}});  // its temporary files die with dir
  const auto done = jepa_mpc::testing::Wait(eval, 300000);
  kill(browser.pid, SIGKILL);
  jepa_mpc::testing::Wait(browser);
  ASSERT_TRUE(done.exited) << done.err;
  ASSERT_EQ(done.code, 0) << done.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(done.err, m, std::regex(R"(live view: (\d+) frames sent; the page received (\d+))")))
      << done.err;
  const long sent = std::stol(m[1]), received = std::stol(m[2]);
  EXPECT_GE(received, 5) << done.err;
  EXPECT_GE(sent, received) << done.err;
}

}  // namespace
