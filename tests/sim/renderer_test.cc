#include <gtest/gtest.h>

#include <cstdlib>
#include <thread>

#include "sim/renderer.h"
#include "sim/simulation.h"
#include "tests/sim/mujoco_fixture.h"

namespace jepa_mpc::sim {
namespace {

class RendererTest : public MujocoTest {};

// Centroid (row, col) of clearly red pixels (the reacher's fingertip ball).
std::pair<double, double> RedCentroid(const Image& img) {
  double rs = 0, cs = 0;
  int n = 0;
  for (int r = 0; r < img.height; ++r) {
    for (int c = 0; c < img.width; ++c) {
      const uint8_t* p = &img.rgb[(r * img.width + c) * 3];
      if (p[0] > 150 && p[1] < 90 && p[2] < 90) rs += r, cs += c, ++n;
    }
  }
  EXPECT_GT(n, 0) << "no red pixels";
  return {rs / std::max(n, 1), cs / std::max(n, 1)};
}

TEST_F(RendererTest, DeterministicAndNotBlank) {
  Simulation sim(robots::MakeRobot("reacher2d"));
  Renderer renderer(sim.model());
  const Image a = renderer.Render(sim.data(), sim.camera_id());
  const Image b = renderer.Render(sim.data(), sim.camera_id());
  ASSERT_EQ(a.rgb.size(), 64u * 64u * 3u);
  EXPECT_EQ(a.rgb, b.rgb);
  // A second renderer (its own GL context) draws the same pixels.
  Renderer other(sim.model());
  EXPECT_EQ(other.Render(sim.data(), sim.camera_id()).rgb, a.rgb);
  int distinct = 0;
  for (size_t i = 3; i < a.rgb.size(); i += 3) distinct += a.rgb[i] != a.rgb[0];
  EXPECT_GT(distinct, 50);
}

TEST_F(RendererTest, ImagesAreUpright) {
  // The top camera looks down with image-up = world +y and image-right = world +x.
  Simulation sim(robots::MakeRobot("reacher2d"));
  Renderer renderer(sim.model());
  Eigen::VectorXd q(2);
  q << M_PI / 2, 0.0;  // arm along +y: fingertip near the top edge
  sim.SetArmPose(q);
  auto [row_up, col_up] = RedCentroid(renderer.Render(sim.data(), sim.camera_id()));
  q << -M_PI / 2, 0.0;  // along -y: near the bottom edge
  sim.SetArmPose(q);
  auto [row_down, col_down] = RedCentroid(renderer.Render(sim.data(), sim.camera_id()));
  EXPECT_LT(row_up, 24);
  EXPECT_GT(row_down, 40);
  EXPECT_NEAR(col_up, 32, 3);
  q << 0.0, 0.0;  // along +x: right edge
  sim.SetArmPose(q);
  auto [row_right, col_right] = RedCentroid(renderer.Render(sim.data(), sim.camera_id()));
  EXPECT_GT(col_right, 40);
  EXPECT_NEAR(row_right, 32, 3);
}

TEST_F(RendererTest, WorksWithoutDisplay) {
  unsetenv("DISPLAY");
  unsetenv("WAYLAND_DISPLAY");
  Simulation sim(robots::MakeRobot("panda7", {true, 256, {}, false}));
  RenderOptions options;
  options.width = 96;
  options.height = 80;
  Renderer renderer(sim.model(), options);
  const Image img = renderer.Render(sim.data(), sim.camera_id());
  EXPECT_EQ(img.height, 80);
  EXPECT_EQ(img.width, 96);
  long sum = 0;
  for (uint8_t v : img.rgb) sum += v;
  EXPECT_GT(sum, 0);
}

TEST_F(RendererTest, SeveralCamerasAreTiledLeftToRight) {
  Simulation sim(robots::MakeRobot("panda7"));
  ASSERT_EQ(sim.camera_ids().size(), 2u);
  EXPECT_EQ(sim.camera_label(), "front+side");
  Renderer renderer(sim.model());
  const int a = sim.camera_ids()[0], b = sim.camera_ids()[1];
  const Image tiled = renderer.Render(sim.data(), sim.camera_ids());
  const Image left = renderer.Render(sim.data(), a), right = renderer.Render(sim.data(), b);
  ASSERT_EQ(tiled.width, 64);
  ASSERT_EQ(tiled.height, 64);
  EXPECT_NE(left.rgb, right.rgb);
  // Column c of each half is the rounded mean of columns 2c and 2c + 1 of its camera's view.
  int mismatches = 0;
  for (int r = 0; r < 64; ++r) {
    for (int c = 0; c < 32; ++c) {
      for (int k = 0; k < 3; ++k) {
        const auto mean = [&](const Image& v) {
          return (v.rgb[(r * 64 + 2 * c) * 3 + k] + v.rgb[(r * 64 + 2 * c + 1) * 3 + k] + 1) / 2;
        };
        mismatches += tiled.rgb[(r * 64 + c) * 3 + k] != mean(left);
        mismatches += tiled.rgb[(r * 64 + 32 + c) * 3 + k] != mean(right);
      }
    }
  }
  EXPECT_EQ(mismatches, 0);
  // One camera in the list renders exactly that camera.
  EXPECT_EQ(renderer.Render(sim.data(), std::vector<int>{a}).rgb, left.rgb);
  EXPECT_THROW(renderer.Render(sim.data(), std::vector<int>{}), std::invalid_argument);
  Renderer odd(sim.model(), {63, 64});
  EXPECT_THROW(odd.Render(sim.data(), sim.camera_ids()), std::invalid_argument);
  Simulation reacher(robots::MakeRobot("reacher2d"));
  EXPECT_EQ(reacher.camera_label(), "top");
}

TEST_F(RendererTest, ImageLargerThanOffscreenBufferIsRejected) {
  Simulation sim(robots::MakeRobot("reacher2d", {false, 128, {}, false}));
  RenderOptions options;
  options.width = options.height = 200;
  EXPECT_THROW(Renderer(sim.model(), options), std::invalid_argument);
}

TEST_F(RendererTest, RendersFromManyThreadsIdentically) {
  Simulation sim(robots::MakeRobot("reacher2d"));
  Renderer renderer(sim.model());
  const Image reference = renderer.Render(sim.data(), sim.camera_id());
  std::vector<std::vector<uint8_t>> results(3);
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&, i] {
      Simulation local(sim);
      Renderer r(local.model());
      results[i] = r.Render(local.data(), local.camera_id()).rgb;
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& r : results) EXPECT_EQ(r, reference.rgb);
}

// The projection the report draws plans with lands where the renderer draws the point: the
// fingertip's projected position is the centre of its red ball, in several poses, at two image
// sizes, and in each view of a two-camera image.
TEST_F(RendererTest, ProjectionLandsOnTheRenderedPoint) {
  Simulation sim(robots::MakeRobot("reacher2d"));
  for (int size : {64, 128}) {
    RenderOptions o;
    o.width = o.height = size;
    Renderer renderer(sim.model(), o);
    for (double a : {-1.0, 0.3, 1.2}) {
      Eigen::VectorXd q(2);
      q << a, 0.8 - a;
      sim.SetArmPose(q);
      const Eigen::Vector3d ee = sim.ee_pos();
      const auto at = ProjectToImage(sim.model(), sim.data(), {sim.camera_id()}, ee.data(), size, size);
      ASSERT_EQ(at.size(), 1u);
      ASSERT_TRUE(at[0].visible);
      auto [row, col] = RedCentroid(renderer.Render(sim.data(), sim.camera_id()));
      // Pixel centres sit at +0.5 of the projected coordinate.
      EXPECT_NEAR(at[0].x, col + 0.5, 0.03 * size) << "size " << size << " pose " << a;
      EXPECT_NEAR(at[0].y, row + 0.5, 0.03 * size) << "size " << size << " pose " << a;
    }
  }
  // Two views side by side: the same point in each half, and nothing behind a camera.
  const int id = sim.camera_id();
  const Eigen::Vector3d ee = sim.ee_pos();
  const auto two = ProjectToImage(sim.model(), sim.data(), {id, id}, ee.data(), 128, 128);
  const auto one = ProjectToImage(sim.model(), sim.data(), {id}, ee.data(), 128, 128);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_NEAR(two[0].x, one[0].x / 2, 1e-9);
  EXPECT_NEAR(two[1].x, one[0].x / 2 + 64, 1e-9);
  EXPECT_NEAR(two[1].y, one[0].y, 1e-9);
  const mjtNum* pos = sim.data()->cam_xpos + 3 * id;
  const mjtNum* rot = sim.data()->cam_xmat + 9 * id;
  const double behind[3] = {pos[0] + rot[2], pos[1] + rot[5], pos[2] + rot[8]};  // along +z: behind it
  EXPECT_FALSE(ProjectToImage(sim.model(), sim.data(), {id}, behind, 64, 64)[0].visible);
  EXPECT_FALSE(ProjectToImage(sim.model(), sim.data(), {-1}, ee.data(), 64, 64)[0].visible);
}

}  // namespace
}  // namespace jepa_mpc::sim
