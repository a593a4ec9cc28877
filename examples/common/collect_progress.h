#pragma once

#include <atomic>

#include "sim/collector.h"

namespace jepa_mpc::tools {

// sim::Collect with a progress bar (episodes, frames/s, ETA) on stderr; the bar is finished
// unless the run was interrupted.
sim::CollectResult CollectWithProgress(const sim::CollectOptions& options,
                                       const std::atomic<bool>* stop);

}  // namespace jepa_mpc::tools
