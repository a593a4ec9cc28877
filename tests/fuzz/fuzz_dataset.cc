// Fuzz target: the HDF5 dataset reader (sim::DatasetReader), on any file a user may pass to
// train, inspect or collect --resume. Errors are exceptions; anything else is a finding.
#include <algorithm>
#include <exception>

#include "sim/dataset.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = jepa_mpc::fuzz::WriteInput(data, size, ".h5");
  try {
    jepa_mpc::sim::DatasetReader reader(path);
    const auto& info = reader.info();
    for (int k = 0; k < std::min(reader.num_episodes(), 3); ++k) {
      const jepa_mpc::sim::EpisodeData e = reader.Read(k);
      const size_t T = e.length;
      if (e.images.size() != T * info.image_height * info.image_width * 3 || e.actions.size() != T * info.action_dim) {
        jepa_mpc::fuzz::Finding("an episode whose arrays do not match the dataset's sizes was returned");
      }
    }
  } catch (const std::exception& e) {
    jepa_mpc::fuzz::Rejected(e);
  }
  return 0;
}
