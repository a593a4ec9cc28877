#include "examples/common/collect_progress.h"

#include <algorithm>
#include <cstdio>

#include "examples/common/progress.h"

namespace jepa_mpc::tools {

sim::CollectResult CollectWithProgress(const sim::CollectOptions& options,
                                       const std::atomic<bool>* stop) {
  const auto [first, last] = options.shard_count > 0
                                 ? sim::ShardRange(options.episodes, options.shard_index, options.shard_count)
                                 : std::pair<int, int>{0, options.episodes};
  ProgressBar bar("collect", last - first, "episodes");
  auto result = sim::Collect(
      options,
      [&](const sim::CollectProgress& p) {
        char extra[64];
        std::snprintf(extra, sizeof(extra), "%.0f frames/s", p.frames / std::max(p.seconds, 1e-9));
        bar.Update(p.episodes_done, extra);
      },
      stop);
  if (!result.interrupted) bar.Finish();
  return result;
}

}  // namespace jepa_mpc::tools
