// Fuzz target: what a robot's code hands the controller at run time: images of any size and
// content (as goal or observation), joint states and applied actions of any length and value.
// Bad sizes and non-finite values must be std::invalid_argument; every action returned must be
// finite and in [-1, 1].
#include <cmath>
#include <cstring>
#include <exception>
#include <vector>

#include "control/controller.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/world_model/test_models.h"
#include "world_model/checkpoint.h"

namespace {
std::string g_plain, g_proprio;
jepa_mpc::ControllerOptions g_options;

// Reads the input front to back; past its end, zeros.
struct Reader {
  const uint8_t* p;
  size_t n;
  uint8_t Byte() { return n ? (--n, *p++) : 0; }
  template <typename T>
  T Value() {
    T v{};
    uint8_t b[sizeof(T)];
    for (auto& x : b) x = Byte();
    std::memcpy(&v, b, sizeof(T));
    return v;
  }
};
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  at::set_num_threads(1);
  torch::manual_seed(0);
  const std::string a = jepa_mpc::fuzz::ScratchPath("model") + ".pt";
  const std::string b = jepa_mpc::fuzz::ScratchPath("proprio") + ".pt";
  jepa_mpc::world_model::WorldModel plain(jepa_mpc::testing::Meta()), proprio(jepa_mpc::testing::ProprioMeta());
  jepa_mpc::world_model::SaveCheckpoint(a, plain, nullptr, {});
  jepa_mpc::world_model::SaveCheckpoint(b, proprio, nullptr, {});
  g_plain = a, g_proprio = b;
  g_options.samples = 8;
  g_options.elites = 2;
  g_options.iterations = 1;
  g_options.horizon = 2;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Reader in{data, size};
  // A fresh controller for each input, so an input's outcome does not depend on the ones before.
  jepa_mpc::Controller c(in.Byte() % 2 ? g_proprio : g_plain, g_options);
  for (int call = 0; call < 4 && in.n > 0; ++call) {
    const uint8_t op = in.Byte() % 6;
    // An image: a size near the expected one (or anywhere up to 255), then its pixels.
    const int h = in.Byte() % 2 ? c.image_size() : in.Byte();
    const int w = in.Byte() % 2 ? c.image_size() : in.Byte();
    std::vector<uint8_t> rgb(static_cast<size_t>(h) * w * 3);
    const uint8_t fill = in.Byte();
    for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = in.n ? in.Byte() : static_cast<uint8_t>(fill + i);
    const jepa_mpc::ImageView image{rgb.empty() ? nullptr : rgb.data(), h, w};
    std::vector<double> joints(in.Byte() % 4);
    for (auto& v : joints) v = in.Value<double>();
    std::vector<float> applied(in.Byte() % 4);
    for (auto& v : applied) v = in.Value<float>();
    try {
      switch (op) {
        case 0: c.SetGoal(image); break;
        case 1:
        case 2: {
          const std::vector<float> a = c.Act(image, joints);
          if (a.size() != static_cast<size_t>(c.action_dim())) jepa_mpc::fuzz::Finding("action of the wrong size");
          for (float v : a) {
            if (!std::isfinite(v) || std::abs(v) > 1.0f) jepa_mpc::fuzz::Finding("action non-finite or outside [-1, 1]");
          }
          break;
        }
        case 3: (void)c.Energy(image); break;
        case 4: c.SetAppliedAction(applied); break;
        default: c.Reset();
      }
    } catch (const std::logic_error& e) {  // invalid_argument, or Act before any goal
      jepa_mpc::fuzz::Rejected(e);
    }
  }
  return 0;
}
