#include "examples/common/media.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <csignal>
#include <cstdlib>
#include <stdexcept>

#include "util/atomic_file.h"

namespace jepa_mpc::tools {

std::vector<uint8_t> Upscale(const uint8_t* rgb, int height, int width, int scale) {
  std::vector<uint8_t> out(static_cast<size_t>(height) * scale * width * scale * 3);
  for (int r = 0; r < height * scale; ++r) {
    for (int c = 0; c < width * scale; ++c) {
      const uint8_t* p = rgb + ((r / scale) * width + c / scale) * 3;
      uint8_t* q = out.data() + (static_cast<size_t>(r) * width * scale + c) * 3;
      q[0] = p[0], q[1] = p[1], q[2] = p[2];
    }
  }
  return out;
}

void WritePng(const std::string& path, const uint8_t* rgb, int height, int width, int scale) {
  std::vector<uint8_t> big = Upscale(rgb, height, width, scale);
  cv::Mat m(height * scale, width * scale, CV_8UC3, big.data());
  cv::Mat bgr;
  cv::cvtColor(m, bgr, cv::COLOR_RGB2BGR);
  WriteImage(path, bgr, "image");
}

void WriteImage(const std::string& path, const cv::Mat& img, const char* what) {
  const size_t dot = path.find_last_of('.');
  std::vector<uint8_t> bytes;
  if (dot == std::string::npos || !cv::imencode(path.substr(dot), img, bytes)) {
    throw std::runtime_error(std::string("cannot encode ") + what + " '" + path + "'");
  }
  util::WriteFileAtomically(path, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

VideoWriter::VideoWriter(const std::string& path, int height, int width, double fps)
    : path_(path), height_(height), width_(width) {
  if (height % 2 || width % 2) throw std::invalid_argument("video frames need even sizes");
  if (std::system("command -v ffmpeg >/dev/null 2>&1") != 0) {
    throw std::runtime_error("ffmpeg not found, needed for video '" + path +
                             "' (scripts/setup.sh installs it)");
  }
  std::signal(SIGPIPE, SIG_IGN);  // a dead ffmpeg becomes a write error, not a crash
  const std::string cmd = "ffmpeg -hide_banner -loglevel error -y -f rawvideo -pix_fmt rgb24 -s " +
                          std::to_string(width) + "x" + std::to_string(height) + " -r " +
                          std::to_string(fps) +
                          " -i - -c:v libx264 -preset veryfast -crf 18 -pix_fmt yuv420p "
                          "-movflags +faststart '" + path + "'";
  pipe_ = popen(cmd.c_str(), "w");
  if (!pipe_) throw std::runtime_error("cannot start ffmpeg for video '" + path + "'");
}

VideoWriter::~VideoWriter() {
  if (pipe_) pclose(pipe_);
}

void VideoWriter::Write(const uint8_t* rgb) {
  const size_t n = static_cast<size_t>(height_) * width_ * 3;
  if (!pipe_ || std::fwrite(rgb, 1, n, pipe_) != n) {
    throw std::runtime_error("writing video '" + path_ + "' failed (is ffmpeg installed?)");
  }
}

void VideoWriter::Close() {
  if (!pipe_) return;
  const int status = pclose(pipe_);
  pipe_ = nullptr;
  if (status != 0) throw std::runtime_error("ffmpeg failed writing '" + path_ + "' (is ffmpeg installed?)");
}

}  // namespace jepa_mpc::tools
