#include "examples/common/live_view.h"

#include <httplib.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace jepa_mpc::tools {

namespace {

using Clock = std::chrono::steady_clock;

// The page: the MJPEG stream read with fetch (so the page can count frames and report its frame
// rate), the state as text.
const char* kPage = R"HTML(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>jepa-mpc live</title>
<style>body{font-family:sans-serif;margin:1.5em;color:#222}img{image-rendering:pixelated;border:1px solid #ccc}
#state{font-family:monospace;white-space:pre;margin-top:.6em}</style></head>
<body><h2>jepa-mpc: live view</h2>
<p>Left: the camera, with the planner's intent drawn on it (orange: the end effector along the chosen plan as the
model predicts it; light orange: sampled candidates; green: where the true simulator takes it under the same
actions; magenta and pink: the block). Middle: the goal image. Right: latent energy (blue) and true distance
(orange) so far.</p>
<img id="frame" alt="waiting for the first frame">
<div id="state">connecting...</div>
<div>frames received: <span id="frames">0</span>, <span id="fps">0</span> per second</div>
<script>
const start = performance.now();
let frames = 0, firstMs = 0, windowFrames = 0, windowStart = performance.now(), fps = 0, lastUrl = null;
const img = document.getElementById('frame');
function show(bytes) {
  const url = URL.createObjectURL(new Blob([bytes], {type: 'image/jpeg'}));
  img.src = url;
  if (lastUrl) URL.revokeObjectURL(lastUrl);
  lastUrl = url;
  if (frames === 0) firstMs = performance.now() - start;
  frames++; windowFrames++;
  document.getElementById('frames').textContent = frames;
  if (frames % 5 === 1) report();
}
function report() {
  fetch('viewer', {method: 'POST', headers: {'Content-Type': 'application/json'},
                   body: JSON.stringify({frames: frames, fps: fps, first_frame_ms: firstMs})}).catch(() => {});
}
function find(buf, len, pattern, from) {
  outer: for (let i = from; i + pattern.length <= len; i++) {
    for (let k = 0; k < pattern.length; k++) if (buf[i + k] !== pattern[k]) continue outer;
    return i;
  }
  return -1;
}
async function stream() {
  const response = await fetch('stream.mjpg');
  const reader = response.body.getReader();
  let buf = new Uint8Array(1 << 20), len = 0;
  const sep = new TextEncoder().encode('\r\n\r\n');
  for (;;) {
    const {value, done} = await reader.read();
    if (done) break;
    if (len + value.length > buf.length) {
      const bigger = new Uint8Array(Math.max(2 * buf.length, len + value.length));
      bigger.set(buf.subarray(0, len)); buf = bigger;
    }
    buf.set(value, len); len += value.length;
    for (;;) {
      const end = find(buf, len, sep, 0);
      if (end < 0) break;
      const head = new TextDecoder().decode(buf.subarray(0, end));
      const m = /Content-Length:\s*(\d+)/i.exec(head);
      if (!m) { len = 0; break; }
      const size = parseInt(m[1]), body = end + 4;
      if (len < body + size + 2) break;
      show(buf.slice(body, body + size));
      buf.copyWithin(0, body + size + 2, len); len -= body + size + 2;
    }
  }
  document.getElementById('state').textContent += '\nstream ended';
}
setInterval(() => {
  const now = performance.now();
  fps = windowFrames * 1000 / (now - windowStart); windowFrames = 0; windowStart = now;
  document.getElementById('fps').textContent = fps.toFixed(1);
  report();
  fetch('state').then(r => r.json()).then(s => {
    document.getElementById('state').textContent = Object.entries(s).map(([k, v]) => k + ': ' + v).join('\n');
  }).catch(() => {});
}, 1000);
stream().catch(e => { document.getElementById('state').textContent = 'stream failed: ' + e; });
</script></body></html>
)HTML";

}  // namespace

struct LiveView::Impl {
  httplib::Server server;
  std::thread thread;
  std::string host;
  int port = 0;
  double min_interval = 0.04;  // seconds between frames handed over

  mutable std::mutex mutex;
  std::condition_variable changed;
  std::shared_ptr<const std::vector<uchar>> jpeg;  // the latest frame
  int64_t frame_id = 0;
  nlohmann::json state = nlohmann::json::object();
  Clock::time_point last_publish{};
  std::atomic<int> streams{0};
  std::atomic<int64_t> sent{0};
  std::atomic<bool> stopping{false};
  ViewerReport viewer;
  mutable std::condition_variable viewer_arrived;
};

LiveView::LiveView(const std::string& host, int port, double max_fps) : impl_(std::make_unique<Impl>()) {
  if (port < 0 || port > 65535) throw std::invalid_argument("live view port " + std::to_string(port) + " is not 0-65535");
  if (!(max_fps > 0)) throw std::invalid_argument("live view frame rate must be positive");
  Impl& m = *impl_;
  m.host = host;
  m.min_interval = 1.0 / max_fps;
  // SO_REUSEADDR only: httplib's default also sets SO_REUSEPORT, with which a second server on a
  // taken port binds without error and the two share the requests.
  m.server.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  // One request per connection: a kept-alive connection would hold a worker (and the shutdown) for
  // httplib's keep-alive timeout after the stream ends.
  m.server.set_keep_alive_max_count(1);
  m.server.Get("/", [](const httplib::Request&, httplib::Response& res) { res.set_content(kPage, "text/html"); });
  m.server.Get("/state", [&m](const httplib::Request&, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(m.mutex);
    res.set_content(m.state.dump(), "application/json");
  });
  m.server.Post("/viewer", [&m](const httplib::Request& req, httplib::Response& res) {
    try {
      const auto j = nlohmann::json::parse(req.body);
      std::lock_guard<std::mutex> lock(m.mutex);
      m.viewer.frames = j.value("frames", int64_t{0});
      m.viewer.fps = j.value("fps", 0.0);
      m.viewer.first_frame_ms = j.value("first_frame_ms", 0.0);
      ++m.viewer.reports;
      res.set_content("{}", "application/json");
    } catch (const std::exception&) {
      res.status = 400;
      res.set_content("expected JSON {frames, fps, first_frame_ms}", "text/plain");
    }
  });
  m.server.Get("/stream.mjpg", [&m](const httplib::Request&, httplib::Response& res) {
    {
      // Under the lock WaitForViewer checks it with, so the wake-up cannot fall between its check
      // and its wait.
      std::lock_guard<std::mutex> lock(m.mutex);
      ++m.streams;
    }
    m.viewer_arrived.notify_all();
    auto last_sent = std::make_shared<int64_t>(0);
    res.set_content_provider(
        "multipart/x-mixed-replace; boundary=frame",
        [&m, last_sent](size_t, httplib::DataSink& sink) {
          std::shared_ptr<const std::vector<uchar>> jpeg;
          {
            std::unique_lock<std::mutex> lock(m.mutex);
            m.changed.wait_for(lock, std::chrono::milliseconds(500),
                               [&] { return m.stopping.load() || m.frame_id > *last_sent; });
            if (m.stopping) {
              sink.done();
              return true;
            }
            if (m.frame_id == *last_sent) return true;  // nothing new yet: ask again
            jpeg = m.jpeg;
            *last_sent = m.frame_id;
          }
          const std::string head = "--frame\r\nContent-Type: image/jpeg\r\nContent-Length: " +
                                   std::to_string(jpeg->size()) + "\r\n\r\n";
          if (!sink.write(head.data(), head.size()) ||
              !sink.write(reinterpret_cast<const char*>(jpeg->data()), jpeg->size())) {
            return false;
          }
          ++m.sent;
          return sink.write("\r\n", 2);
        },
        [&m](bool) { --m.streams; });
  });
  m.port = port == 0 ? m.server.bind_to_any_port(host) : (m.server.bind_to_port(host, port) ? port : -1);
  if (m.port <= 0) {
    throw std::runtime_error("live view: cannot listen on " + host + ":" + std::to_string(port) +
                             " (in use, or not an address of this machine)");
  }
  m.thread = std::thread([&m] { m.server.listen_after_bind(); });
  // Until it listens, Server::stop() would not stop it.
  for (int i = 0; i < 5000 && !m.server.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

LiveView::~LiveView() {
  impl_->stopping = true;
  impl_->changed.notify_all();
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

int LiveView::port() const { return impl_->port; }

std::string LiveView::url() const {
  return "http://" + (impl_->host == "0.0.0.0" ? std::string("127.0.0.1") : impl_->host) + ":" +
         std::to_string(impl_->port) + "/";
}

bool LiveView::WantsFrame() const {
  if (impl_->streams.load() == 0) return false;
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return std::chrono::duration<double>(Clock::now() - impl_->last_publish).count() >= impl_->min_interval;
}

void LiveView::Publish(const cv::Mat& rgb, const nlohmann::json& state) {
  // Encoded here, between two control steps: on a server thread the encoding ran beside the
  // planner's two threads and slowed their parallel sections (on 2 cores, with the stream read by
  // curl: +11% to +36% wall time per control step that way, -15% to +3% this way).
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  auto jpeg = std::make_shared<std::vector<uchar>>();
  cv::imencode(".jpg", bgr, *jpeg, {cv::IMWRITE_JPEG_QUALITY, 85});
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->jpeg = std::move(jpeg);
    impl_->state = state;
    ++impl_->frame_id;
    impl_->last_publish = Clock::now();
  }
  impl_->changed.notify_all();
}

void LiveView::SetState(const nlohmann::json& state) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->state = state;
}

bool LiveView::WaitForViewer(double seconds) const {
  std::unique_lock<std::mutex> lock(impl_->mutex);
  return impl_->viewer_arrived.wait_for(lock, std::chrono::duration<double>(seconds),
                                        [&] { return impl_->streams.load() > 0; });
}

int64_t LiveView::frames_sent() const { return impl_->sent.load(); }

ViewerReport LiveView::viewer() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->viewer;
}

}  // namespace jepa_mpc::tools
