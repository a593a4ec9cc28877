#include "examples/common/cli.h"

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <exception>
#include <stdexcept>

namespace jepa_mpc::tools {

namespace {
std::atomic<bool> g_stop{false};

void OnSignal(int) {
  if (g_stop.exchange(true)) _exit(130);
  const char msg[] = "\nstopping: finishing the current commit (signal again to abort)\n";
  (void)!write(2, msg, sizeof(msg) - 1);
}
}  // namespace

const std::atomic<bool>* InstallStopFlag() {
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);
  return &g_stop;
}

int RunMain(const char* program, const std::function<int()>& body) {
  // Past a file-size limit (ulimit -f) a write fails with EFBIG instead of killing the process
  // without a word, so the writer reports it like a full disk and everything committed stays.
  std::signal(SIGXFSZ, SIG_IGN);
  try {
    return body();
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "%s: error: %s\n", program, e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: error: %s\n", program, e.what());
    return 1;
  }
}

}  // namespace jepa_mpc::tools
