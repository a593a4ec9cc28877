#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace jepa_mpc::testing {

struct CliRun {
  int code;         // exit code (-1 if killed by a signal)
  std::string err;  // what the program wrote on stderr
};

// Runs `binary args` through the shell, stdout discarded, and collects stderr.
inline CliRun RunCli(const std::string& binary, const std::string& args) {
  const std::string cmd = binary + " " + args + " 2>&1 >/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[512];
  while (fgets(buf, sizeof(buf), p)) out += buf;
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace jepa_mpc::testing
