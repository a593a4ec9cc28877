#pragma once

// Data-parallel training over several processes and machines with PyTorch's own distributed
// engine (c10d, Gloo backend). A process joins a group when the variables PyTorch's launchers and
// cluster schedulers set are present: WORLD_SIZE, RANK, MASTER_ADDR, MASTER_PORT (a TCPStore
// rendezvous served by rank 0). docs/distributed.md says how to run it.

#include <torch/torch.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace jepa_mpc::world_model {

struct GroupEnvironment {
  int world_size = 1;
  int rank = 0;
  int local_world_size = 1;    // ranks on this machine (LOCAL_WORLD_SIZE; 1 when unset)
  std::string master_addr;     // rank 0's host, where the TCPStore listens
  int master_port = 0;
  double timeout_s = 300;      // rendezvous and every collective: a lost rank ends the others after this
  std::string socket_interface;  // GLOO_SOCKET_IFNAME: the network interface Gloo uses ("": by host name)

  bool distributed() const { return world_size > 1; }
  std::string Describe() const;  // "rank 1 of 4 (master 10.0.0.1:29500)"
};

// Reads the environment: world_size 1 (no group) when WORLD_SIZE is unset. timeout_s comes from
// JEPA_MPC_DIST_TIMEOUT (seconds) when set. Throws std::invalid_argument naming the variable that
// is missing or malformed.
GroupEnvironment GroupEnvironmentFromEnv();

// A collective that could not complete: a rank died or the network failed.
class GroupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One member of a Gloo process group. Every collective either completes on all ranks or throws
// GroupError on each surviving rank within the timeout (a rank that died, a network that
// failed), naming the operation; no call hangs.
class ProcessGroup {
 public:
  // Rendezvous: waits for all ranks (throws GroupError after timeout_s if some never come).
  explicit ProcessGroup(const GroupEnvironment& env);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const { return env_.rank; }
  int size() const { return env_.world_size; }
  const GroupEnvironment& env() const { return env_; }

  // In place, element-wise sum over the ranks (a contiguous CPU tensor); every rank gets the same
  // bits.
  void AllReduceSum(torch::Tensor& tensor);
  // In place: root's values on every rank.
  void Broadcast(torch::Tensor& tensor, int root = 0);
  // Every rank's tensor (same shape on all ranks), concatenated along dim 0 in rank order.
  torch::Tensor AllGather(const torch::Tensor& tensor);
  void Barrier();

  // Counters for measurement: bytes this rank passed to AllReduceSum and AllGather, and the wall
  // time spent in collectives.
  int64_t bytes_communicated() const { return bytes_; }
  double seconds_communicating() const { return seconds_; }

 private:
  struct Impl;
  GroupEnvironment env_;
  std::unique_ptr<Impl> impl_;
  int64_t bytes_ = 0;
  double seconds_ = 0;
};

}  // namespace jepa_mpc::world_model
