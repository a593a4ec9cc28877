#include "examples/common/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace jepa_mpc::tools {

std::string FormatDuration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  char buf[32];
  const long t = std::lround(s);
  if (t >= 3600) {
    std::snprintf(buf, sizeof(buf), "%ldh%02ldm", t / 3600, (t / 60) % 60);
  } else if (t >= 60) {
    std::snprintf(buf, sizeof(buf), "%ldm%02lds", t / 60, t % 60);
  } else {
    std::snprintf(buf, sizeof(buf), "%lds", t);
  }
  return buf;
}

ProgressBar::ProgressBar(std::string stage, long total, std::string unit)
    : stage_(std::move(stage)), unit_(std::move(unit)), total_(total), tty_(isatty(2)) {
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

std::string ProgressBar::Line(long done, const std::string& extra) const {
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double frac = total_ > 0 ? std::min(1.0, double(done) / total_) : 1.0;
  const int width = 24, filled = static_cast<int>(frac * width);
  std::string bar(filled, '#');
  bar += std::string(width - filled, '.');
  const double eta = done > 0 ? elapsed * (total_ - done) / done : NAN;
  char buf[256];
  std::snprintf(buf, sizeof(buf), "%-10s [%s] %ld/%ld %s  %s elapsed, ETA %s", stage_.c_str(),
                bar.c_str(), done, total_, unit_.c_str(), FormatDuration(elapsed).c_str(),
                FormatDuration(eta).c_str());
  std::string line = buf;
  if (!extra.empty()) line += "  " + extra;
  return line;
}

void ProgressBar::Update(long done, const std::string& extra) {
  const auto now = std::chrono::steady_clock::now();
  if (tty_) {
    if (done < total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    std::fprintf(stderr, "\r\033[K%s", Line(done, extra).c_str());
  } else {
    const int decile = total_ > 0 ? static_cast<int>(10 * done / total_) : 10;
    if (decile == last_decile_) return;
    last_decile_ = decile;
    std::fprintf(stderr, "%s\n", Line(done, extra).c_str());
  }
  std::fflush(stderr);
}

void ProgressBar::Finish(const std::string& extra) {
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s\n", Line(total_, extra).c_str());
  } else if (last_decile_ != 10) {
    std::fprintf(stderr, "%s\n", Line(total_, extra).c_str());
  }
  std::fflush(stderr);
}

}  // namespace jepa_mpc::tools
