#pragma once

// RAII ownership of MuJoCo's model and data, loading with clear errors, and error handlers that
// throw instead of calling exit().

#include <mujoco/mujoco.h>

#include <memory>
#include <string>
#include <vector>

namespace jepa_mpc::sim {

struct ModelDeleter {
  void operator()(mjModel* m) const { mj_deleteModel(m); }
};
struct DataDeleter {
  void operator()(mjData* d) const { mj_deleteData(d); }
};
using ModelPtr = std::unique_ptr<mjModel, ModelDeleter>;
using DataPtr = std::unique_ptr<mjData, DataDeleter>;

// Routes mju_error to a C++ exception (std::runtime_error with MuJoCo's message) and mju_warning
// to a per-thread list (see TakeMujocoWarnings). Idempotent and thread-safe.
void InstallMujocoHandlers();

// Warnings MuJoCo raised on this thread since the last call; clears the list.
std::vector<std::string> TakeMujocoWarnings();

// Compiles an MJCF document. Throws std::runtime_error with MuJoCo's message, prefixed with
// `what` (e.g. a file name) so the user knows which input was bad.
ModelPtr LoadModelFromString(const std::string& mjcf, const std::string& what = "MJCF");

// Reads and compiles an MJCF file. Throws std::runtime_error if it is missing or malformed.
ModelPtr LoadModelFromFile(const std::string& path);

// Reads a whole text file; throws std::runtime_error naming the path if it cannot.
std::string ReadTextFile(const std::string& path);

DataPtr MakeData(const mjModel* m);

// Id of a named MuJoCo object; throws std::invalid_argument naming the object and its kind.
int RequireId(const mjModel* m, mjtObj type, const std::string& name);

}  // namespace jepa_mpc::sim
