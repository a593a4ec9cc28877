#pragma once

// Shared by the fuzz targets: each reader takes a path, so the input goes to a file first.
// The targets build two ways: with clang's libFuzzer (JEPA_MPC_FUZZ=ON, scripts/fuzz.sh) to
// search, and with replay_main.cc in every build, where ctest runs the kept corpus (seconds).

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

namespace jepa_mpc::fuzz {

// $TMPDIR (or /tmp) with a name of this process's own: "<dir>/jepa_fuzz_<name>_<pid>".
inline std::string ScratchPath(const std::string& name) {
  static const std::string dir = [] {
    const char* t = std::getenv("TMPDIR");
    return std::string(t && *t ? t : "/tmp");
  }();
  return dir + "/jepa_fuzz_" + name + "_" + std::to_string(getpid());
}

// Writes bytes to path (aborts if it cannot: the harness, not the reader, failed).
inline void WriteBytes(const std::string& path, const uint8_t* data, size_t size) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
}

// A per-process scratch file holding the input.
inline std::string WriteInput(const uint8_t* data, size_t size, const char* suffix) {
  const std::string path = ScratchPath("input") + suffix;
  WriteBytes(path, data, size);
  return path;
}

// An input the reader rejected with an exception, as it should; JEPA_FUZZ_VERBOSE=1 prints why
// (to check that the seeds are accepted and the errors read well).
inline void Rejected(const std::exception& e) {
  static const bool verbose = std::getenv("JEPA_FUZZ_VERBOSE") != nullptr;
  if (verbose) std::fprintf(stderr, "rejected: %s\n", e.what());
}

// A finding: the harness aborts so the fuzzer (or the replay test) reports the input.
[[noreturn]] inline void Finding(const char* what) {
  std::fprintf(stderr, "fuzz finding: %s\n", what);
  std::abort();
}

}  // namespace jepa_mpc::fuzz
