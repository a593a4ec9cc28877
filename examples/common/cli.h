#pragma once

// What every example binary does at its edges: one clear line on error, exit codes, and
// Ctrl-C / SIGTERM turned into a flag so work in progress is committed before exiting.

#include <atomic>
#include <functional>

namespace jepa_mpc::tools {

// Runs body; prints "<program>: error: <what>" on an exception and returns 1 (2 for
// std::invalid_argument, i.e. bad input). Returns body's value otherwise.
int RunMain(const char* program, const std::function<int()>& body);

// Installs SIGINT/SIGTERM/SIGHUP handlers that set the returned flag; a second signal exits at
// once with code 130.
const std::atomic<bool>* InstallStopFlag();

}  // namespace jepa_mpc::tools
