// Bring your own arm, as a user does it with the binaries: three arms the project does not know
// (a torque-driven planar arm described by its MJCF alone, a 6-DoF servo arm with a JSON
// description, two cameras of its own and end-effector actions through IK, a model split over
// included files with velocity servos) are
// collected, trained for a few steps, evaluated and run in a closed loop by the embeddable
// controller, each rebuilt from the robot path the dataset and checkpoint record.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "tests/cli_run.h"
#include "tests/temp_dir.h"

namespace {

using ::testing::HasSubstr;
using jepa_mpc::testing::CliRun;
constexpr auto Exec = jepa_mpc::testing::RunCli;

class OwnArmCliTest : public ::testing::TestWithParam<const char*> {};

TEST_P(OwnArmCliTest, CollectsTrainsEvaluatesAndRunsTheControllerInAClosedLoop) {
  // One thread per process: ctest runs two tests at once on two cores, and LibTorch's OpenMP
  // threads spin-waiting against each other made this test ten times slower.
  setenv("OMP_NUM_THREADS", "1", 1);
  jepa_mpc::testing::TempDir dir("own_arm");
  const std::string arm = std::string(ARMS_DIR) + "/" + GetParam();
  const std::string data = dir / "data.h5", model = dir / "model";
  CliRun r = Exec(COLLECT_BINARY, "--robot " + arm + " --episodes 3 --steps 12 --image-size 32 --out " + data);
  ASSERT_EQ(r.code, 0) << r.err;
  r = Exec(TRAIN_BINARY, "--data " + data + " --out " + model + " --steps 3 --batch-size 4 --checkpoint-every 3 --threads 1");
  ASSERT_EQ(r.code, 0) << r.err;
  r = Exec(EVALUATE_BINARY, "--checkpoint " + model + "/checkpoint.pt --methods learned --episodes 1 --videos 0 --threads 1 --out " +
                                (dir / "eval"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(dir / "eval/results.csv"));
  // embed prints one line per control step and how the episode ended.
  const std::string cmd = std::string(EMBED_BINARY) + " " + model + "/checkpoint.pt 3 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[512];
  while (fgets(buf, sizeof(buf), p)) out += buf;
  ASSERT_EQ(pclose(p), 0) << out;
  EXPECT_THAT(out, HasSubstr("step  0  energy"));
  EXPECT_THAT(out, ::testing::ContainsRegex("(reached|not reached) after [0-9]+ steps"));
}

INSTANTIATE_TEST_SUITE_P(Arms, OwnArmCliTest, ::testing::Values("planar3.xml", "arm6.json", "split/split.xml"),
                         [](const auto& info) {
                           return std::string(info.index == 0 ? "Planar3Motors" : info.index == 1 ? "Arm6Servos" : "SplitIncludes");
                         });

TEST(OwnArmCliTest, ABadDescriptionIsAClearErrorAndInspectShowsTheDefaults) {
  jepa_mpc::testing::TempDir dir("own_arm_bad");
  const CliRun r = Exec(COLLECT_BINARY, "--robot " + (dir / "nowhere.json") + " --episodes 1 --out " + (dir / "d.h5"));
  EXPECT_NE(r.code, 0);
  EXPECT_THAT(r.err, HasSubstr("nowhere.json' does not exist"));
  const CliRun inspect = Exec(INSPECT_BINARY, std::string("--robot ") + ARMS_DIR + "/planar3.xml");
  EXPECT_EQ(inspect.code, 0) << inspect.err;
}

}  // namespace
