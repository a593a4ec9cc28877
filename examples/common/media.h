#pragma once

// Writing what happened where people can look at it: PNG images and H.264 mp4 videos.

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace cv {
class Mat;
}

namespace jepa_mpc::tools {

// rgb: height x width x 3, rows top to bottom. scale > 1 enlarges with nearest neighbours.
void WritePng(const std::string& path, const uint8_t* rgb, int height, int width, int scale = 1);

// Encodes a BGR image in the format its extension names and writes it atomically
// (util/atomic_file.h). Throws std::runtime_error naming `what` and the path on failure.
void WriteImage(const std::string& path, const cv::Mat& bgr, const char* what);

// Pipes RGB frames to ffmpeg (libx264, yuv420p: plays in browsers). Throws std::runtime_error
// if ffmpeg is missing or fails.
class VideoWriter {
 public:
  VideoWriter(const std::string& path, int height, int width, double fps);
  ~VideoWriter();
  VideoWriter(const VideoWriter&) = delete;
  VideoWriter& operator=(const VideoWriter&) = delete;
  void Write(const uint8_t* rgb);  // height x width x 3
  void Close();                    // waits for ffmpeg; throws if it failed

 private:
  std::string path_;
  int height_, width_;
  FILE* pipe_ = nullptr;
};

// Enlarges an image by an integer factor (nearest neighbour).
std::vector<uint8_t> Upscale(const uint8_t* rgb, int height, int width, int scale);

}  // namespace jepa_mpc::tools
