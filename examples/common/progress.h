#pragma once

// A one-line progress bar on stderr: stage, bar, count, rate and ETA. Redraws in place on a
// terminal; elsewhere (CI logs) prints a line every ~10% so logs stay short.

#include <chrono>
#include <string>

namespace jepa_mpc::tools {

class ProgressBar {
 public:
  ProgressBar(std::string stage, long total, std::string unit = "it");
  // done: items finished; extra: appended text (e.g. "812 frames/s").
  void Update(long done, const std::string& extra = "");
  void Finish(const std::string& extra = "");

 private:
  std::string Line(long done, const std::string& extra) const;

  std::string stage_, unit_;
  long total_;
  bool tty_;
  int last_decile_ = -1;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

// "1m05s", "42s".
std::string FormatDuration(double seconds);

}  // namespace jepa_mpc::tools
