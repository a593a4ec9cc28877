// c10d's Gloo process group is declared only with USE_C10D_GLOO (Debian's libtorch is built with it).
#define USE_C10D_GLOO 1
#include "world_model/distributed.h"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <stdexcept>

namespace jepa_mpc::world_model {

namespace {

const char* Env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

long ParseInt(const char* name, const char* text, long min, long max) {
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(text, &end, 10);
  if (errno || end == text || *end || v < min || v > max) {
    throw std::invalid_argument(std::string("environment variable ") + name + " is '" + text +
                                "', expected an integer in " + std::to_string(min) + ".." + std::to_string(max));
  }
  return v;
}

// The first line of a c10d or Gloo message (they append stack traces).
std::string FirstLine(const std::string& what) { return what.substr(0, what.find('\n')); }

}  // namespace

std::string GroupEnvironment::Describe() const {
  return "rank " + std::to_string(rank) + " of " + std::to_string(world_size) + " (master " + master_addr + ":" +
         std::to_string(master_port) + ")";
}

GroupEnvironment GroupEnvironmentFromEnv() {
  GroupEnvironment env;
  if (const char* t = Env("JEPA_MPC_DIST_TIMEOUT")) env.timeout_s = ParseInt("JEPA_MPC_DIST_TIMEOUT", t, 1, 86400);
  const char* world = Env("WORLD_SIZE");
  if (!world) return env;
  env.world_size = static_cast<int>(ParseInt("WORLD_SIZE", world, 1, 65536));
  if (env.world_size == 1) return env;
  for (const char* name : {"RANK", "MASTER_ADDR", "MASTER_PORT"}) {
    if (!Env(name)) {
      throw std::invalid_argument(std::string("WORLD_SIZE is ") + world + " but " + name +
                                  " is not set (each rank needs RANK, MASTER_ADDR and MASTER_PORT)");
    }
  }
  env.rank = static_cast<int>(ParseInt("RANK", Env("RANK"), 0, env.world_size - 1));
  env.master_addr = Env("MASTER_ADDR");
  env.master_port = static_cast<int>(ParseInt("MASTER_PORT", Env("MASTER_PORT"), 1, 65535));
  if (const char* l = Env("LOCAL_WORLD_SIZE")) {
    env.local_world_size = static_cast<int>(ParseInt("LOCAL_WORLD_SIZE", l, 1, env.world_size));
  }
  if (const char* i = Env("GLOO_SOCKET_IFNAME")) env.socket_interface = i;
  return env;
}

struct ProcessGroup::Impl {
  c10::intrusive_ptr<c10d::TCPStore> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
};

ProcessGroup::ProcessGroup(const GroupEnvironment& env) : env_(env), impl_(std::make_unique<Impl>()) {
  if (env.world_size < 2) throw std::invalid_argument("a process group needs WORLD_SIZE >= 2");
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(env.timeout_s * 1000));
  try {
    c10d::TCPStoreOptions so;
    so.port = static_cast<uint16_t>(env.master_port);
    so.isServer = env.rank == 0;
    so.numWorkers = env.world_size;
    so.waitWorkers = true;
    so.timeout = timeout;
    impl_->store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, so);
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    if (!env.socket_interface.empty()) {
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(env.socket_interface));
    } else if (env.master_addr == "127.0.0.1" || env.master_addr == "localhost") {
      // Every rank on this machine: the loopback interface, whatever the host name resolves to.
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    } else {
      options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    }
    options->threads = 1;  // one collective at a time: a second thread would only compete with compute
    impl_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, env.rank, env.world_size, options);
  } catch (const std::exception& e) {
    throw GroupError(env.Describe() + ": could not join the process group within " +
                             std::to_string(static_cast<int>(env.timeout_s)) + " s: " + FirstLine(e.what()));
  }
}

ProcessGroup::~ProcessGroup() = default;

namespace {

template <class F>
void Run(const GroupEnvironment& env, const char* op, double& seconds, F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  try {
    f()->wait();
  } catch (const std::exception& e) {
    throw GroupError(env.Describe() + ": " + op + " failed (" + FirstLine(e.what()) +
                             "): another rank stopped or the network failed");
  }
  seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void CheckTensor(const torch::Tensor& t, const char* op) {
  if (!t.defined() || !t.is_contiguous() || t.device().type() != torch::kCPU) {
    throw std::invalid_argument(std::string("ProcessGroup::") + op + ": expected a contiguous CPU tensor");
  }
}

}  // namespace

void ProcessGroup::AllReduceSum(torch::Tensor& tensor) {
  CheckTensor(tensor, "AllReduceSum");
  std::vector<at::Tensor> ts{tensor};
  c10d::AllreduceOptions o;
  o.reduceOp = c10d::ReduceOp::SUM;
  bytes_ += tensor.numel() * tensor.element_size();
  Run(env_, "all-reduce", seconds_, [&] { return impl_->group->allreduce(ts, o); });
}

void ProcessGroup::Broadcast(torch::Tensor& tensor, int root) {
  CheckTensor(tensor, "Broadcast");
  std::vector<at::Tensor> ts{tensor};
  c10d::BroadcastOptions o;
  o.rootRank = root;
  Run(env_, "broadcast", seconds_, [&] { return impl_->group->broadcast(ts, o); });
}

torch::Tensor ProcessGroup::AllGather(const torch::Tensor& tensor) {
  auto input = tensor.contiguous();
  CheckTensor(input, "AllGather");
  std::vector<std::vector<at::Tensor>> outputs(1);
  for (int r = 0; r < size(); ++r) outputs[0].push_back(torch::empty_like(input));
  std::vector<at::Tensor> inputs{input};
  bytes_ += input.numel() * input.element_size();
  Run(env_, "all-gather", seconds_, [&] { return impl_->group->allgather(outputs, inputs); });
  return torch::cat(outputs[0]);
}

void ProcessGroup::Barrier() {
  Run(env_, "barrier", seconds_, [&] { return impl_->group->barrier(); });
}

}  // namespace jepa_mpc::world_model
