// Fuzz target: the robot description reader (--robot arm.json or arm.xml). The first byte picks
// the form: even, the rest is a JSON description beside a valid MJCF (arm6.xml, copied into the
// scratch folder, so "mjcf": "arm6.xml" finds it); odd, the rest is an MJCF file read alone. A
// description that loads must give a simulation that steps.
#include <exception>
#include <filesystem>

#include "sim/robot_description.h"
#include "sim/simulation.h"
#include "tests/fuzz/fuzz_support.h"

namespace {
std::string g_dir;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_dir = jepa_mpc::fuzz::ScratchPath("robot");
  std::filesystem::create_directories(g_dir);
  std::filesystem::copy_file(std::string(ARMS_DIR) + "/arm6.xml", g_dir + "/arm6.xml",
                             std::filesystem::copy_options::overwrite_existing);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool json = data[0] % 2 == 0;
  const std::string path = g_dir + (json ? "/arm.json" : "/arm.xml");
  jepa_mpc::fuzz::WriteBytes(path, data + 1, size - 1);
  try {
    const jepa_mpc::robots::RobotSpec spec = jepa_mpc::sim::LoadRobotDescription(path);
    jepa_mpc::sim::Simulation sim(spec);
    sim.Reset();
    sim.SetArmTargets(sim.arm_qpos());
    sim.Advance();
  } catch (const std::exception& e) {
    jepa_mpc::fuzz::Rejected(e);
  }
  return 0;
}
