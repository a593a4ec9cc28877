#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "sim/collector.h"
#include "tests/sim/mujoco_fixture.h"
#include "tests/temp_dir.h"

namespace jepa_mpc::sim {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

class CollectorTest : public MujocoTest {
 protected:
  CollectOptions Options(const std::string& name, int episodes, int threads) {
    CollectOptions o;
    o.task = "reach2d";
    o.episodes = episodes;
    o.steps = 12;
    o.image_size = 32;
    o.seed = 5;
    o.threads = threads;
    o.out = (dir_ / name).string();
    return o;
  }
  static std::string Bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  void ExpectSameEpisodes(const std::string& a, const std::string& b) {
    DatasetReader ra(a), rb(b);
    ASSERT_EQ(ra.num_episodes(), rb.num_episodes());
    for (int k = 0; k < ra.num_episodes(); ++k) EXPECT_TRUE(ra.Read(k) == rb.Read(k)) << k;
  }
  jepa_mpc::testing::TempDir tmp_{"jepa_collect_test"};
  const fs::path& dir_ = tmp_.path();
};

TEST_F(CollectorTest, DeterministicPerSeedWhateverTheThreadCount) {
  const auto one = Options("one.h5", 5, 1), two = Options("two.h5", 5, 2);
  Collect(one);
  Collect(two);
  ExpectSameEpisodes(one.out, two.out);
  EXPECT_EQ(Bytes(one.out), Bytes(two.out));  // the same file, byte for byte
  auto other = Options("other.h5", 5, 2);
  other.seed = 6;
  Collect(other);
  EXPECT_FALSE(DatasetReader(one.out).Read(0) == DatasetReader(other.out).Read(0));
}

TEST_F(CollectorTest, EpisodesHoldConsistentData) {
  auto o = Options("d.h5", 2, 2);
  o.task = "push";
  o.steps = 20;
  const auto r = Collect(o);
  EXPECT_EQ(r.episodes_written, 2);
  EXPECT_EQ(r.frames, 40);
  DatasetReader reader(o.out);
  EXPECT_EQ(reader.info().robot, "panda7");
  EXPECT_EQ(reader.info().action_dim, 3);  // push holds the gripper closed
  EXPECT_EQ(reader.info().qpos_dim, 8);
  EXPECT_EQ(reader.info().num_objects, 1);
  const EpisodeData e = reader.Read(1);
  EXPECT_EQ(e.seed, EpisodeSeed(5, 1));
  for (float a : e.actions) {
    EXPECT_GE(a, -1.f);
    EXPECT_LE(a, 1.f);
  }
  // Replaying the episode from its seed reproduces the recorded images and positions.
  auto task = MakeTask("push");
  RenderOptions ro;
  ro.width = ro.height = 32;
  Renderer renderer(task->sim().model(), ro);
  EXPECT_TRUE(RunEpisode(*task, renderer, 20, e.seed) == e);
}

TEST_F(CollectorTest, ReplayGoalsAreStatesOfTheEpisodeCollectWouldRecord) {
  auto task = MakeTask("push");
  RenderOptions ro;
  ro.width = ro.height = 16;
  Renderer renderer(task->sim().model(), ro);
  for (uint64_t seed : {11u, 12u, 13u}) {
    const ReplayGoal g = MakeReplayGoal(*task, seed, 25, 0.05);
    EXPECT_GE(g.moved, 0.05);
    // The start and the goal are the recorded episode's states, 25 steps apart (recorded positions
    // are read after a control step, 2 ms of motion behind the state's own: within 2 mm).
    const EpisodeData e = RunEpisode(*task, renderer, task->info().episode_steps, seed);
    ASSERT_LE(g.start_step + 25, e.length);
    for (const auto& [state, t] : {std::pair{g.start, g.start_step}, std::pair{g.goal, g.start_step + 25}}) {
      if (t == e.length) continue;  // the state after the last recorded frame
      task->sim().SetState(state);
      for (int i = 0; i < 3; ++i) EXPECT_NEAR(task->sim().object_pos(0)[i], e.object_pos[t * 3 + i], 0.002);
    }
    // The task takes them as its start and goal.
    task->SetStartAndGoal(g.start, g.goal);
    EXPECT_NEAR(task->Distance(), g.moved, 1e-12);
    task->sim().SetState(g.goal);
    EXPECT_FALSE(task->Distance() > 1e-12);
  }
  EXPECT_THROW(MakeReplayGoal(*task, 11, 25, 10.0), std::runtime_error);
}

TEST_F(CollectorTest, ResumeGivesTheSameFileAsAnUninterruptedRun) {
  const auto full = Options("full.h5", 6, 2);
  Collect(full);
  auto part = Options("part.h5", 3, 2);
  Collect(part);
  part.episodes = 6;
  part.resume = true;
  const auto r = Collect(part);
  EXPECT_EQ(r.episodes_written, 3);
  EXPECT_EQ(r.episodes_in_file, 6);
  ExpectSameEpisodes(full.out, part.out);
  // Resuming a complete file writes nothing.
  EXPECT_EQ(Collect(part).episodes_written, 0);
}

TEST_F(CollectorTest, StopFlagKeepsEveryCompleteEpisode) {
  auto o = Options("stop.h5", 40, 2);
  std::atomic<bool> stop{false};
  const auto r = Collect(
      o, [&](const CollectProgress& p) { if (p.episodes_done >= 3) stop = true; }, &stop);
  EXPECT_TRUE(r.interrupted);
  EXPECT_GE(r.episodes_in_file, 3);
  EXPECT_LT(r.episodes_in_file, 40);
  DatasetReader reader(o.out);
  EXPECT_EQ(reader.num_episodes(), r.episodes_in_file);
  for (int k = 0; k < reader.num_episodes(); ++k) EXPECT_EQ(reader.Read(k).length, 12);
}

TEST_F(CollectorTest, BadOptionsAreRejectedBeforeAnythingIsWritten) {
  auto expect_error = [&](CollectOptions o, const std::string& words) {
    try {
      ValidateCollectOptions(o);
      ADD_FAILURE() << "expected an error mentioning " << words;
    } catch (const std::invalid_argument& e) {
      EXPECT_THAT(e.what(), HasSubstr(words));
    } catch (const std::runtime_error& e) {
      EXPECT_THAT(e.what(), HasSubstr(words));
    }
    EXPECT_FALSE(fs::exists(o.out)) << "left a file behind for: " << words;
  };
  auto o = Options("bad.h5", 3, 1);
  auto bad = o;
  bad.task = "juggle";
  expect_error(bad, "unknown task 'juggle'");
  bad = o;
  bad.episodes = 0;
  expect_error(bad, "--episodes");
  bad = o;
  bad.episodes = -4;
  expect_error(bad, "--episodes");
  bad = o;
  bad.steps = -1;
  expect_error(bad, "--steps");
  bad = o;
  bad.threads = 0;
  expect_error(bad, "--threads");
  bad = o;
  bad.image_size = 1024;
  expect_error(bad, "exceeds the offscreen buffer");
  bad = o;
  bad.out = (dir_ / "no_such_dir" / "x.h5").string();
  expect_error(bad, "does not exist");
  bad = o;
  bad.mjcf_file = (dir_ / "missing.xml").string();
  expect_error(bad, "missing.xml");
  const std::string broken = (dir_ / "broken.xml").string();
  std::ofstream(broken) << "<mujoco><worldbody><geom type='sphere'>";
  bad = o;
  bad.mjcf_file = broken;
  expect_error(bad, "broken.xml");
  bad = o;
  bad.resume = true;
  expect_error(bad, "does not exist");
}

TEST_F(CollectorTest, UserMjcfFileIsUsed) {
  // The built-in model with a white floor, written to a file: the same episode (same seed, same
  // dynamics) must come out with the same joint angles and brighter images than the built-in one.
  std::string xml = robots::MakeRobot("reacher2d").mjcf;
  const std::string grey = "rgba=\"0.55 0.55 0.5 1\"";
  ASSERT_NE(xml.find(grey), std::string::npos) << "the floor colour moved; update this test";
  xml.replace(xml.find(grey), grey.size(), "rgba=\"1 1 1 1\"");
  const std::string path = (dir_ / "reacher.xml").string();
  std::ofstream(path) << xml;
  auto o = Options("mjcf.h5", 1, 1);
  o.mjcf_file = path;
  EXPECT_EQ(Collect(o).episodes_in_file, 1);
  EXPECT_EQ(Collect(Options("builtin.h5", 1, 1)).episodes_in_file, 1);
  DatasetReader user(o.out), builtin((dir_ / "builtin.h5").string());
  const EpisodeData a = user.Read(0), b = builtin.Read(0);
  EXPECT_EQ(a.qpos, b.qpos);
  double mean_a = 0, mean_b = 0;
  for (size_t i = 0; i < a.images.size(); ++i) mean_a += a.images[i], mean_b += b.images[i];
  EXPECT_GT(mean_a / a.images.size(), mean_b / b.images.size() + 40);
}

}  // namespace
}  // namespace jepa_mpc::sim
