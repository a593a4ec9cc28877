#pragma once

// A live view of a running evaluation: an HTTP server (cpp-httplib) on its own threads that serves
// a page streaming the latest frame (camera with the planned traces, goal, energy curve) as MJPEG,
// with the run's state beside it. The control loop hands over JPEG-encoded frames (encoded on its
// own thread, between steps, so nothing runs beside the planner's threads); the network is on the
// server's threads, and frames are made only while someone watches.
//
//   LiveView live("127.0.0.1", 8080);   // 0: any free port; live.port() tells which
//   ... each control step: if (live.WantsFrame()) live.Publish(frame_rgb, state_json);

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include <memory>
#include <string>

namespace jepa_mpc::tools {

// What the page reports back about the frames it received (it posts every second).
struct ViewerReport {
  int64_t frames = 0;           // frames shown by the page
  double fps = 0;               // over the last second
  double first_frame_ms = 0;    // from the page's load to its first frame
  int64_t reports = 0;          // reports received (0: no page has reported)
};

class LiveView {
 public:
  // Binds host:port (0: a free port) and starts serving. Throws std::runtime_error naming the
  // address if it cannot bind.
  LiveView(const std::string& host, int port, double max_fps = 10);
  ~LiveView();  // stops the server and ends open streams
  LiveView(const LiveView&) = delete;
  LiveView& operator=(const LiveView&) = delete;

  int port() const;
  std::string url() const;
  // True when a stream is open and the last frame was handed over at least 1 / max_fps ago.
  bool WantsFrame() const;
  // Hands over a frame (RGB, copied) and the state the page shows as text.
  void Publish(const cv::Mat& rgb, const nlohmann::json& state);
  // Updates the state alone (e.g. at the end of an episode).
  void SetState(const nlohmann::json& state);
  // Waits until a page opens the stream, up to `seconds`. True if one did.
  bool WaitForViewer(double seconds) const;
  int64_t frames_sent() const;
  ViewerReport viewer() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace jepa_mpc::tools
