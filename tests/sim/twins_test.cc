#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sim/collector.h"
#include "sim/twins.h"
#include "tests/sim/mujoco_fixture.h"

namespace jepa_mpc::sim {
namespace {

using ::testing::HasSubstr;

class TwinsTest : public MujocoTest {
 protected:
  TwinsTest() : task_(MakeTask("push")), renderer_(task_->sim().model(), Size()),
                recoloured_model_(RecolouredModel(task_->sim(), 0, Eigen::Vector4f(0.1f, 0.3f, 0.9f, 1))),
                recoloured_(recoloured_model_.get(), Size()) {
    possible_ = ReplayEpisode(*task_, renderer_, RunEpisode(*task_, renderer_, kSteps, 21));
  }
  static RenderOptions Size() {
    RenderOptions o;
    o.width = o.height = 32;
    return o;
  }
  EpisodeData Twin(ImpossibleEvent event) {
    std::mt19937_64 rng(4);
    return ReplayWithEvent(*task_, renderer_, recoloured_, possible_, event, kEvent, rng);
  }
  Eigen::Vector3d Object(const EpisodeData& e, int t) {
    return Eigen::Vector3d(e.object_pos[t * 3], e.object_pos[t * 3 + 1], e.object_pos[t * 3 + 2]);
  }
  size_t Frame() const { return 32 * 32 * 3; }
  // The twins are the same up to the event: frames, joint states and actions.
  void ExpectSameBeforeEvent(const EpisodeData& twin) {
    ASSERT_EQ(twin.length, kSteps);
    EXPECT_TRUE(std::equal(twin.images.begin(), twin.images.begin() + kEvent * Frame(), possible_.images.begin()));
    EXPECT_TRUE(std::equal(twin.qpos.begin(), twin.qpos.begin() + kEvent * 7, possible_.qpos.begin()));
    EXPECT_EQ(twin.actions, possible_.actions);
  }
  static constexpr int kSteps = 20, kEvent = 8;
  std::unique_ptr<Task> task_;
  Renderer renderer_;
  ModelPtr recoloured_model_;
  Renderer recoloured_;
  EpisodeData possible_;
};

TEST_F(TwinsTest, ReplayingAnEpisodeIsExact) {
  EXPECT_TRUE(ReplayEpisode(*task_, renderer_, possible_) == possible_);
}

TEST_F(TwinsTest, TeleportMovesTheObjectAcrossTheTableBetweenTwoFrames) {
  const EpisodeData twin = Twin(ImpossibleEvent::kTeleport);
  ExpectSameBeforeEvent(twin);
  const double jump = (Object(twin, kEvent) - Object(twin, kEvent - 1)).head<2>().norm();
  EXPECT_GE(jump, 0.045);
  EXPECT_LE(jump, 0.105);
  EXPECT_LT((Object(possible_, kEvent) - Object(possible_, kEvent - 1)).norm(), 0.03);
  EXPECT_FALSE(std::equal(twin.images.begin() + kEvent * Frame(), twin.images.begin() + (kEvent + 1) * Frame(),
                          possible_.images.begin() + kEvent * Frame()));
}

TEST_F(TwinsTest, VanishedObjectsStayAwayAndReappearingOnesComeBackElsewhere) {
  const EpisodeData gone = Twin(ImpossibleEvent::kVanish);
  ExpectSameBeforeEvent(gone);
  for (int t = kEvent; t < kSteps; ++t) EXPECT_GT((Object(gone, t) - Object(possible_, t)).norm(), 1.0) << t;
  const EpisodeData back = Twin(ImpossibleEvent::kReappear);
  ExpectSameBeforeEvent(back);
  for (int t = kEvent; t < kEvent + 3; ++t) EXPECT_GT(Object(back, t).norm(), 1.0) << t;
  const double moved = (Object(back, kEvent + 3) - Object(possible_, kEvent - 1)).head<2>().norm();
  EXPECT_GE(moved, 0.04);
  EXPECT_LE(moved, 0.16);
}

TEST_F(TwinsTest, ColourChangeLeavesThePhysicsAloneAndChangesTheFrames) {
  const EpisodeData twin = Twin(ImpossibleEvent::kColour);
  ExpectSameBeforeEvent(twin);
  EXPECT_EQ(twin.object_pos, possible_.object_pos);
  EXPECT_EQ(twin.qpos, possible_.qpos);
  for (int t = kEvent; t < kSteps; ++t) {
    EXPECT_FALSE(std::equal(twin.images.begin() + t * Frame(), twin.images.begin() + (t + 1) * Frame(),
                            possible_.images.begin() + t * Frame())) << t;
  }
}

TEST_F(TwinsTest, BadEventsAndStepsAreNamed) {
  EXPECT_EQ(ParseImpossibleEvent("vanish"), ImpossibleEvent::kVanish);
  try {
    ParseImpossibleEvent("explode");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("unknown event 'explode', expected teleport, vanish, reappear or colour"));
  }
  std::mt19937_64 rng(0);
  EXPECT_THROW(ReplayWithEvent(*task_, renderer_, recoloured_, possible_, ImpossibleEvent::kTeleport, 17, rng),
               std::invalid_argument);
  auto reach = MakeTask("reach3d");
  Renderer reach_renderer(reach->sim().model(), Size());
  const EpisodeData e = RunEpisode(*reach, reach_renderer, 10, 1);
  try {
    ReplayWithEvent(*reach, reach_renderer, reach_renderer, e, ImpossibleEvent::kVanish, 3, rng);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("impossible events need a task with an object"));
  }
}

}  // namespace
}  // namespace jepa_mpc::sim
