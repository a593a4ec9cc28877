#include "sim/mj.h"

#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>

namespace jepa_mpc::sim {

namespace {

thread_local std::vector<std::string> t_warnings;

void ThrowingError(const char* msg) { throw std::runtime_error(std::string("MuJoCo error: ") + msg); }

void CollectingWarning(const char* msg) {
  if (t_warnings.size() < 100) t_warnings.emplace_back(msg);
}

}  // namespace

void InstallMujocoHandlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    mju_user_error = ThrowingError;
    mju_user_warning = CollectingWarning;
  });
}

std::vector<std::string> TakeMujocoWarnings() {
  std::vector<std::string> out;
  out.swap(t_warnings);
  return out;
}

ModelPtr LoadModelFromString(const std::string& mjcf, const std::string& what) {
  InstallMujocoHandlers();
  // MuJoCo 2.2 parses from its virtual file system; one VFS per call keeps this thread-safe.
  auto vfs = std::make_unique<mjVFS>();
  mj_defaultVFS(vfs.get());
  const char* kName = "model.xml";
  if (mj_makeEmptyFileVFS(vfs.get(), kName, static_cast<int>(mjcf.size())) != 0) {
    mj_deleteVFS(vfs.get());
    throw std::runtime_error(what + ": could not allocate MuJoCo's virtual file");
  }
  int idx = mj_findFileVFS(vfs.get(), kName);
  std::copy(mjcf.begin(), mjcf.end(), static_cast<char*>(vfs->filedata[idx]));
  char error[1024] = "";
  mjModel* m = mj_loadXML(kName, vfs.get(), error, sizeof(error));
  mj_deleteVFS(vfs.get());
  if (!m) throw std::runtime_error(what + " is not a valid MuJoCo model: " + error);
  return ModelPtr(m);
}

std::string ReadTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read '" + path + "': no such file or not readable");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

ModelPtr LoadModelFromFile(const std::string& path) {
  ReadTextFile(path);  // a clear error for a missing or unreadable file
  InstallMujocoHandlers();
  // From the file itself, so that its <include>s, meshes and textures are found relative to it.
  char error[1024] = "";
  mjModel* m = mj_loadXML(path.c_str(), nullptr, error, sizeof(error));
  if (!m) {
    // One line: MuJoCo's message names the element and line over several.
    std::string message = error;
    for (size_t p = message.find('\n'); p != std::string::npos; p = message.find('\n', p)) {
      const size_t end = message.find_first_not_of('\n', p);
      message.replace(p, (end == std::string::npos ? message.size() : end) - p, end == std::string::npos ? "" : "; ");
    }
    throw std::runtime_error("MJCF file '" + path + "' could not be loaded by MuJoCo " + mj_versionString() +
                             ": " + message);
  }
  return ModelPtr(m);
}

DataPtr MakeData(const mjModel* m) {
  InstallMujocoHandlers();
  mjData* d = mj_makeData(m);
  if (!d) throw std::runtime_error("MuJoCo could not allocate mjData");
  return DataPtr(d);
}

int RequireId(const mjModel* m, mjtObj type, const std::string& name) {
  int id = mj_name2id(m, type, name.c_str());
  if (id < 0) {
    const char* kind = mju_type2Str(type);
    throw std::invalid_argument(std::string("model has no ") + (kind ? kind : "object") + " named '" +
                                name + "'");
  }
  return id;
}

}  // namespace jepa_mpc::sim
