// Fuzz target: the training config reader (train --config FILE, and config.json on --resume):
// JSON parsed into a TrainConfig and validated. Errors are exceptions; a config that passes
// Validate() must have sizes a model can be built from.
#include <nlohmann/json.hpp>

#include <exception>
#include <string>

#include "tests/fuzz/fuzz_support.h"
#include "world_model/trainer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    jepa_mpc::world_model::TrainConfig c = jepa_mpc::world_model::DefaultTrainConfig("reacher2d", "reach2d");
    jepa_mpc::world_model::from_json(j, c);
    c.Validate();
    if (c.steps <= 0 || c.batch_size <= 0 || c.sequence_length < 2 || c.model.latent_dim <= 0 || c.model.hidden <= 0) {
      jepa_mpc::fuzz::Finding("Validate() accepted a non-positive size");
    }
    (void)nlohmann::json(c).dump();  // what a run saves as config.json
  } catch (const std::exception& e) {
    jepa_mpc::fuzz::Rejected(e);
  }
  return 0;
}
