// The all-reduce that data-parallel training runs once a step, alone: run it under
// scripts/launch.sh N to see what moving the gradients costs between N idle processes.
//
//   scripts/launch.sh 2 build/benchmarks/allreduce_bench
#include <chrono>
#include <cstdio>

#include "world_model/distributed.h"

int main() {
  using namespace jepa_mpc::world_model;
  try {
    const GroupEnvironment env = GroupEnvironmentFromEnv();
    if (!env.distributed()) {
      std::fprintf(stderr, "allreduce_bench: run it under scripts/launch.sh N (WORLD_SIZE is not set)\n");
      return 2;
    }
    ProcessGroup group(env);
    // 4 kB, the push model's gradients (170,948 floats), ten times that.
    for (int64_t floats : {int64_t{1000}, int64_t{170948}, int64_t{1709480}}) {
      auto t = torch::ones({floats});
      group.AllReduceSum(t);  // warm-up
      group.Barrier();
      const int reps = 50;
      const auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < reps; ++i) group.AllReduceSum(t);
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / reps;
      if (group.rank() == 0) {
        std::printf("%d ranks: all-reduce of %.3f MB: %.3f ms\n", group.size(), floats * 4 / 1e6, ms);
      }
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "allreduce_bench: error: %s\n", e.what());
    return 1;
  }
}
