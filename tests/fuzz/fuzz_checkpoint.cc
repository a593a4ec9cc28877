// Fuzz target: the checkpoint loader (world_model::LoadCheckpoint), on any file given to evaluate,
// the controller or train --resume. A checkpoint that loads must also encode an image.
#include <exception>

#include "tests/fuzz/fuzz_support.h"
#include "world_model/checkpoint.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  at::set_num_threads(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = jepa_mpc::fuzz::WriteInput(data, size, ".pt");
  try {
    jepa_mpc::world_model::Checkpoint ck = jepa_mpc::world_model::LoadCheckpoint(path);
    const auto& meta = ck.model->meta();
    torch::NoGradGuard no_grad;
    const torch::Tensor image = torch::zeros({1, meta.image_size, meta.image_size, 3}, torch::kUInt8);
    const torch::Tensor z = ck.model->Encode(image);
    if (z.size(-1) != meta.config.latent_dim) jepa_mpc::fuzz::Finding("embedding size differs from the metadata's");
  } catch (const std::exception& e) {
    jepa_mpc::fuzz::Rejected(e);
  }
  return 0;
}
