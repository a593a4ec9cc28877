// The pieces of the report and the live view: charts, frames, contact sheets, probes, and the
// live view's server read by an HTTP client as a browser reads it.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "examples/common/charts.h"
#include "examples/common/episode_view.h"
#include "examples/common/live_view.h"
#include "tests/temp_dir.h"

// Last: OpenSSL's headers, which httplib includes, define macros that clash with Eigen's.
#include <httplib.h>

namespace jepa_mpc::tools {
namespace {

TEST(ChartsTest, TheLibrariesAreInlinedAndSpecsAreValidVegaLite) {
  const std::string scripts = VegaScripts();
  EXPECT_GT(scripts.size(), 500000u);  // vega, vega-lite and vega-embed, minified
  EXPECT_NE(scripts.find("vegaEmbed"), std::string::npos);
  EXPECT_EQ(scripts.find("</script", 8), scripts.find("</script>"));  // no early end of a script

  const auto spec = LineSpec("t", "control step", "distance (cm)",
                             {{"a", 0, 1}, {"a", 1, NAN}, {"b", 0, -1}, {"b", 1, 2}}, true, {{1.5, "target"}});
  EXPECT_EQ(spec["$schema"], "https://vega.github.io/schema/vega-lite/v5.json");
  EXPECT_EQ(spec["data"]["values"].size(), 2u);  // NaN, and -1 on a log axis, are left out
  EXPECT_EQ(spec["layer"][0]["encoding"]["y"]["scale"]["type"], "log");
  EXPECT_EQ(spec["layer"][0]["encoding"]["x"]["title"], "control step");
  EXPECT_EQ(spec["layer"].size(), 3u);  // the lines, the target's rule and its label
  EXPECT_THROW(BarSpec("t", "y", {"a", "b"}, {1}), std::invalid_argument);

  const std::string chart = VegaChart("energy-1", {{"title", "</script><b>"}});
  EXPECT_EQ(chart.find("</script><b>"), std::string::npos);  // data cannot end the script
  EXPECT_THROW(VegaChart("bad id", spec), std::invalid_argument);
}

sim::Image Solid(int size, uint8_t r, uint8_t g, uint8_t b) {
  sim::Image im{size, size, std::vector<uint8_t>(static_cast<size_t>(size) * size * 3)};
  for (size_t i = 0; i < im.rgb.size(); i += 3) im.rgb[i] = r, im.rgb[i + 1] = g, im.rgb[i + 2] = b;
  return im;
}

TEST(EpisodeViewTest, FramesAndContactSheetsHoldTheirPieces) {
  const sim::Image goal = Solid(64, 0, 0, 255), view = Solid(64, 255, 0, 0);
  FrameComposer composer(64, goal, "learned-cem", 10);
  const cv::Mat f = composer.Compose(view, 3, {0.5, 0.4, 0.3, 0.2}, {0.1, 0.09, 0.08, 0.07}, false);
  ASSERT_EQ(f.rows, 64 + FrameComposer::kBar);
  ASSERT_EQ(f.cols, 3 * 64);
  EXPECT_EQ(f.at<cv::Vec3b>(40, 40), cv::Vec3b(255, 0, 0));  // camera, left
  EXPECT_EQ(f.at<cv::Vec3b>(40, 104), cv::Vec3b(0, 0, 255));  // goal, middle
  EXPECT_THROW(FrameComposer(32, goal, "x", 10), std::invalid_argument);

  const cv::Mat sheet = ContactSheet({view, view, view}, goal, 24);
  ASSERT_EQ(sheet.rows, 24);
  ASSERT_EQ(sheet.cols, 4 * 24 + 6);
  EXPECT_EQ(sheet.at<cv::Vec3b>(12, 12), cv::Vec3b(255, 0, 0));
  EXPECT_EQ(sheet.at<cv::Vec3b>(12, 3 * 26 + 12), cv::Vec3b(0, 0, 255));  // the goal last
}

TEST(EpisodeViewTest, ProbesReadPositionsOffEmbeddings) {
  jepa_mpc::testing::TempDir dir("jepa_probe_test");
  // D = 2: position = z0 * (1, 0, 0) + z1 * (0, 2, 0) + (0, 0, 3).
  std::ofstream(dir / "quality.json") << R"({"probe_ee": [[1, 0, 0], [0, 2, 0], [0, 0, 3]]})";
  const Probes p = LoadProbes(dir / "checkpoint.pt");
  ASSERT_EQ(p.ee.size(), 3u);
  EXPECT_TRUE(p.object.empty());
  const float z[4] = {0.5f, 1.0f, -1.0f, 0.25f};
  const auto path = Decode(p.ee, z, 2, 2);
  ASSERT_EQ(path.size(), 2u);
  EXPECT_TRUE(path[0].isApprox(Eigen::Vector3d(0.5, 2, 3)));
  EXPECT_TRUE(path[1].isApprox(Eigen::Vector3d(-1, 0.5, 3)));
  EXPECT_TRUE(Decode(p.ee, z, 1, 3).empty());  // a probe for another embedding size
  EXPECT_TRUE(LoadProbes((dir.path() / "none" / "checkpoint.pt").string()).ee.empty());
}

TEST(LiveViewTest, ServesThePageTheStateAndAnMjpegStream) {
  LiveView live("127.0.0.1", 0, 200);
  ASSERT_GT(live.port(), 0);
  EXPECT_FALSE(live.WantsFrame());  // nobody watches: no frames are made
  httplib::Client client("127.0.0.1", live.port());
  auto page = client.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("stream.mjpg"), std::string::npos);

  std::atomic<bool> done{false};
  std::thread publisher([&] {
    cv::Mat frame(48, 96, CV_8UC3, cv::Scalar(10, 200, 30));
    for (int i = 0; !done && i < 2000; ++i) {
      if (live.WantsFrame()) live.Publish(frame, {{"step", i}});
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  // Read the stream until two whole JPEG parts have arrived.
  std::string stream;
  httplib::Client reader("127.0.0.1", live.port());
  reader.Get("/stream.mjpg", [&](const char* data, size_t n) {
    stream.append(data, n);
    size_t parts = 0;
    for (size_t at = 0; (at = stream.find("\r\n\r\n\xff\xd8", at)) != std::string::npos; ++at) ++parts;
    return parts < 2 || stream.find("\xff\xd9", stream.rfind("\xff\xd8")) == std::string::npos;
  });
  done = true;
  publisher.join();
  EXPECT_EQ(stream.rfind("--frame\r\nContent-Type: image/jpeg\r\nContent-Length: ", 0), 0u);
  // The server counts a frame once its last bytes are written, a moment after the client has them.
  for (int i = 0; i < 1000 && live.frames_sent() < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_GE(live.frames_sent(), 2);
  auto state = client.Get("/state");
  ASSERT_TRUE(state);
  EXPECT_NE(state->body.find("\"step\""), std::string::npos);
  auto report = client.Post("/viewer", R"({"frames": 7, "fps": 12.5, "first_frame_ms": 80})", "application/json");
  ASSERT_TRUE(report);
  EXPECT_EQ(live.viewer().frames, 7);
  EXPECT_DOUBLE_EQ(live.viewer().fps, 12.5);
  EXPECT_EQ(client.Post("/viewer", "not json", "application/json")->status, 400);
  EXPECT_THROW(LiveView("127.0.0.1", live.port()), std::runtime_error);  // the port is taken
}

}  // namespace
}  // namespace jepa_mpc::tools
