// The collect and demo binaries as users run them: exit codes, one-line errors, and a file
// that survives being killed at any moment.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "sim/dataset.h"
#include "tests/cli_run.h"
#include "tests/temp_dir.h"

extern char** environ;

namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

using jepa_mpc::testing::CliRun;

CliRun Exec(const std::string& args) { return jepa_mpc::testing::RunCli(COLLECT_BINARY, args); }

// Waits until the collector has created its output (so its signal handlers are installed and it
// is collecting), at most 30 s.
bool WaitForFile(const std::string& path) {
  for (int i = 0; i < 3000 && !fs::exists(path); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return fs::exists(path);
}

class CollectCliTest : public ::testing::Test {
 protected:
  jepa_mpc::testing::TempDir tmp_{"jepa_cli_test"};
  const fs::path& dir_ = tmp_.path();
};

TEST_F(CollectCliTest, BadInputGivesOneLineAndNonZeroExit) {
  const std::string out = (dir_ / "x.h5").string();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--task juggle --out " + out, "unknown task 'juggle'"},
      {"--robot ur5 --out " + out, "unknown robot 'ur5'"},
      {"--robot reacher2d --task push --out " + out, "task push on robot reacher2d: reacher2d has no block scene"},
      {"--episodes 0 --out " + out, "--episodes is 0"},
      {"--episodes -3 --out " + out, "--episodes is -3"},
      {"--image-size 2048 --out " + out, "exceeds the offscreen buffer"},
      {"--out /nonexistent_dir/x.h5", "'/nonexistent_dir' does not exist"},
      {"--mjcf /nonexistent.xml --out " + out, "/nonexistent.xml"},
  };
  for (const auto& [args, words] : cases) {
    const CliRun r = Exec(args);
    EXPECT_NE(r.code, 0) << args;
    EXPECT_THAT(r.err, HasSubstr(words)) << args;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << ": " << r.err;
    EXPECT_FALSE(fs::exists(out)) << args;
  }
}

TEST_F(CollectCliTest, KilledCollectorLeavesEveryCompleteEpisodeReadable) {
  // SIGKILL cannot be caught: the file must be readable wherever the kill lands.
  const std::string out = (dir_ / "killed.h5").string();
  int total_seen = 0;
  for (int trial = 0; trial < 4; ++trial) {
    fs::remove(out);
    std::vector<std::string> args = {COLLECT_BINARY, "--task", "reach2d", "--episodes", "100000",
                                     "--steps", "10", "--image-size", "32", "--threads", "2",
                                     "--out", out};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid;
    ASSERT_EQ(posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ), 0);
    ASSERT_TRUE(WaitForFile(out));
    std::this_thread::sleep_for(std::chrono::milliseconds(300 + 137 * trial));
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(fs::exists(out));
    jepa_mpc::sim::DatasetReader reader(out);
    for (int k = 0; k < reader.num_episodes(); ++k) EXPECT_EQ(reader.Read(k).length, 10);
    total_seen += reader.num_episodes();
  }
  EXPECT_GT(total_seen, 0);
  // --resume continues the killed file.
  const int kept = jepa_mpc::sim::DatasetReader(out).num_episodes();
  const CliRun r = Exec("--task reach2d --episodes " + std::to_string(kept + 2) +
                        " --steps 10 --image-size 32 --threads 2 --resume --out " + out);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(jepa_mpc::sim::DatasetReader(out).num_episodes(), kept + 2);
}

TEST_F(CollectCliTest, SigtermCommitsAndSaysHowToResume) {
  const std::string out = (dir_ / "term.h5").string();
  std::vector<std::string> args = {COLLECT_BINARY, "--episodes", "100000", "--steps", "10",
                                   "--image-size", "32", "--out", out};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid;
  ASSERT_EQ(posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ), 0);
  ASSERT_TRUE(WaitForFile(out));
  // Long enough for the first 10-step episode on a loaded machine (300 ms was not, once, with
  // the rest of the suite and another job on both cores).
  std::this_thread::sleep_for(std::chrono::milliseconds(2000));
  kill(pid, SIGTERM);
  int status;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
  EXPECT_GT(jepa_mpc::sim::DatasetReader(out).num_episodes(), 0);
}

}  // namespace
