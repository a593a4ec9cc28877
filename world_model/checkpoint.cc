#include "world_model/checkpoint.h"

#include "util/atomic_file.h"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <stdexcept>

namespace jepa_mpc::world_model {

namespace {

const char* kMagic = "jepa-mpc-checkpoint";

// A checkpoint file is the LibTorch archive behind a 24-byte envelope: kEnvelope, the archive's
// length and its FNV-1a hash (little endian). LibTorch's reader crashes on some corrupted archives
// (fuzzing found it in seconds); the envelope turns every truncation or changed byte into an
// error before the archive reaches it. Files from before the envelope are read as they are.
constexpr char kEnvelope[8] = {'J', 'E', 'P', 'A', 'C', 'K', 'P', '1'};
constexpr size_t kEnvelopeSize = 24;

uint64_t Fnv1a(const char* data, size_t size) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < size; ++i) h = (h ^ static_cast<uint8_t>(data[i])) * 1099511628211ull;
  return h;
}

void PutU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

torch::serialize::InputArchive OpenArchive(const std::string& path) {
  if (!std::filesystem::exists(path)) {
    throw std::runtime_error("checkpoint '" + path + "' does not exist");
  }
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) throw std::runtime_error("cannot read checkpoint '" + path + "'");
  torch::serialize::InputArchive archive;
  try {
    if (bytes.size() >= sizeof(kEnvelope) && std::memcmp(bytes.data(), kEnvelope, sizeof(kEnvelope)) == 0) {
      if (bytes.size() < kEnvelopeSize || GetU64(bytes.data() + 8) != bytes.size() - kEnvelopeSize) {
        throw std::runtime_error("truncated");
      }
      if (GetU64(bytes.data() + 16) != Fnv1a(bytes.data() + kEnvelopeSize, bytes.size() - kEnvelopeSize)) {
        throw std::runtime_error("checksum");
      }
      std::istringstream stream(bytes.substr(kEnvelopeSize));
      archive.load_from(stream);
    } else {
      std::istringstream stream(bytes);
      archive.load_from(stream);
    }
  } catch (const std::exception&) {
    throw std::runtime_error("'" + path +
                             "' is not a readable checkpoint (truncated, corrupted or another format)");
  }
  c10::IValue magic;
  if (!archive.try_read("format", magic) || !magic.isString() || magic.toStringRef() != kMagic) {
    throw std::runtime_error("'" + path + "' is not a jepa-mpc checkpoint");
  }
  c10::IValue version;
  if (!archive.try_read("version", version) || !version.isInt() ||
      version.toInt() != kCheckpointFormatVersion) {
    throw std::runtime_error("'" + path + "' has an unsupported checkpoint version, expected " +
                             std::to_string(kCheckpointFormatVersion));
  }
  return archive;
}

}  // namespace

void SaveCheckpoint(const std::string& path, WorldModel& model, torch::optim::Optimizer* optimizer,
                    const TrainState& state) {
  torch::serialize::OutputArchive archive;
  archive.write("format", c10::IValue(std::string(kMagic)));
  archive.write("version", c10::IValue(static_cast<int64_t>(kCheckpointFormatVersion)));
  archive.write("meta", c10::IValue(nlohmann::json(model->meta()).dump()));
  archive.write("step", c10::IValue(state.step));
  archive.write("rng_state", c10::IValue(state.rng_state));
  archive.write("config", c10::IValue(state.config_json));
  archive.write("predictor_phase", c10::IValue(state.predictor_phase));
  torch::serialize::OutputArchive weights;
  model->save(weights);
  archive.write("model", weights);
  if (optimizer) {
    torch::serialize::OutputArchive opt;
    optimizer->save(opt);
    archive.write("optimizer", opt);
  }
  // Serialised in memory first: LibTorch's file writer throws from its destructor when a write
  // fails (disk full), which ends the process; our writer reports it and leaves the old file.
  std::ostringstream stream;
  archive.save_to(stream);
  const std::string body = stream.str();
  std::string bytes(kEnvelope, sizeof(kEnvelope));
  PutU64(bytes, body.size());
  PutU64(bytes, Fnv1a(body.data(), body.size()));
  bytes += body;
  try {
    util::WriteFileAtomically(path, bytes);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string(e.what()) + (std::filesystem::exists(path)
                                                          ? "; the previous checkpoint is unchanged"
                                                          : "; no checkpoint was written"));
  }
}

Checkpoint LoadCheckpoint(const std::string& path) {
  auto archive = OpenArchive(path);
  c10::IValue meta_json, step, rng, config;
  if (!archive.try_read("meta", meta_json) || !meta_json.isString()) {
    throw std::runtime_error("checkpoint '" + path + "' has no metadata");
  }
  ModelMeta meta;
  try {
    const auto j = nlohmann::json::parse(meta_json.toStringRef());
    meta = j.get<ModelMeta>();
    // Every model option must be stated: a missing one would silently take today's default and
    // build another architecture than the one the weights came from.
    // The exceptions are options added since the first checkpoints: models from before them
    // had none, which their defaults (false, 1, "mlp", 0, "jepa", false) state.
    static const std::set<std::string> added_since = {"proprio", "views", "inverse_dynamics_head",
                                                      "object_keypoints", "objective", "object_spread"};
    const nlohmann::json expected = meta.config;
    for (const auto& [key, value] : expected.items()) {
      if (!j.at("model").contains(key) && !added_since.count(key)) {
        throw std::runtime_error("model option '" + key + "' is missing");
      }
    }
  } catch (const std::exception& e) {
    throw std::runtime_error("checkpoint '" + path + "' has malformed metadata: " + e.what());
  }
  Checkpoint ck;
  try {
    ck.model = WorldModel(meta);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error("checkpoint '" + path + "' has malformed metadata: " + e.what());
  }
  torch::serialize::InputArchive weights;
  if (!archive.try_read("model", weights)) {
    throw std::runtime_error("checkpoint '" + path + "' has no weights");
  }
  try {
    ck.model->load(weights);
  } catch (const std::exception& e) {
    throw std::runtime_error("checkpoint '" + path + "' weights do not fit its metadata");
  }
  if (archive.try_read("step", step) && step.isInt()) ck.state.step = step.toInt();
  if (archive.try_read("rng_state", rng) && rng.isString()) ck.state.rng_state = rng.toStringRef();
  if (archive.try_read("config", config) && config.isString()) {
    ck.state.config_json = config.toStringRef();
  }
  c10::IValue phase;
  if (archive.try_read("predictor_phase", phase) && phase.isString()) ck.state.predictor_phase = phase.toStringRef();
  ck.model->eval();
  return ck;
}

void LoadOptimizerState(const std::string& path, torch::optim::Optimizer& optimizer) {
  auto archive = OpenArchive(path);
  torch::serialize::InputArchive opt;
  if (!archive.try_read("optimizer", opt)) {
    throw std::runtime_error("checkpoint '" + path + "' holds no optimizer state");
  }
  optimizer.load(opt);
}

}  // namespace jepa_mpc::world_model
