#pragma once

// Child processes for command-line tests: started with extra environment variables and an
// optional file-size limit, stderr to a file, waited for with an optional SIGKILL.
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace jepa_mpc::testing {

struct Outcome {
  bool exited = false;  // ended by exit(), not by a signal
  int code = -1;
  std::string err;
  double seconds = 0;   // from Start to the end
};

struct Child {
  pid_t pid = -1;
  std::filesystem::path err_file;
  std::chrono::steady_clock::time_point started;
};

// Starts binary with args and the variables env set; stderr goes to err_file, stdout to
// /dev/null. file_size_limit > 0 sets RLIMIT_FSIZE (bytes) in the child.
inline Child Start(const std::string& binary, const std::vector<std::string>& args,
                   const std::filesystem::path& err_file,
                   const std::vector<std::pair<std::string, std::string>>& env = {}, long file_size_limit = 0) {
  std::vector<std::string> all = {binary};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  Child c{-1, err_file, std::chrono::steady_clock::now()};
  c.pid = fork();
  if (c.pid == 0) {
    if (file_size_limit > 0) {
      rlimit r{static_cast<rlim_t>(file_size_limit), static_cast<rlim_t>(file_size_limit)};
      setrlimit(RLIMIT_FSIZE, &r);
    }
    for (const auto& [name, value] : env) setenv(name.c_str(), value.c_str(), 1);
    if (!freopen(err_file.c_str(), "w", stderr) || !freopen("/dev/null", "w", stdout)) _exit(127);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return c;
}

// Waits for the child. kill_after_ms > 0 sends SIGKILL after that long unless it ended before,
// or, with kill_when_exists, at the first moment after that when the file exists.
inline Outcome Wait(const Child& c, int kill_after_ms = 0, const std::string& kill_when_exists = "") {
  int status = 0;
  if (kill_after_ms > 0) {
    const auto end = c.started + std::chrono::milliseconds(kill_after_ms);
    while (waitpid(c.pid, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() >= end &&
          (kill_when_exists.empty() || std::filesystem::exists(kill_when_exists))) {
        kill(c.pid, SIGKILL);
        waitpid(c.pid, &status, 0);
        break;
      }
      if (kill_when_exists.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  } else {
    waitpid(c.pid, &status, 0);
  }
  std::ifstream in(c.err_file);
  std::stringstream s;
  s << in.rdbuf();
  return {WIFEXITED(status), WIFEXITED(status) ? WEXITSTATUS(status) : -1, s.str(),
          std::chrono::duration<double>(std::chrono::steady_clock::now() - c.started).count()};
}

// args followed by extra: one command line from a shared part and a test's own flags.
inline std::vector<std::string> Concat(std::vector<std::string> args, const std::vector<std::string>& extra) {
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// Start then Wait.
inline Outcome Spawn(const std::string& binary, const std::vector<std::string>& args,
                     const std::filesystem::path& err_file, long file_size_limit = 0, int kill_after_ms = 0,
                     const std::string& kill_when_exists = "") {
  return Wait(Start(binary, args, err_file, {}, file_size_limit), kill_after_ms, kill_when_exists);
}

}  // namespace jepa_mpc::testing
