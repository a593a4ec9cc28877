#pragma once

// Builds a planner by name with the common sizes; what a controller or a binary offers its users.

#include <memory>
#include <string>
#include <vector>

#include "planner/planner.h"

namespace jepa_mpc::planner {

struct PlannerChoice {
  std::string name = "cem";    // cem | mppi | gd
  int64_t samples = 0;         // candidates per iteration; 0: the planner's default (gd: restarts)
  int64_t elites = 0;          // 0: the planner's default (cem, mppi)
};

// Throws std::invalid_argument naming the known planners or the bad size.
std::unique_ptr<Planner> MakePlanner(const PlannerChoice& choice, PlannerOptions options);
std::vector<std::string> PlannerNames();

}  // namespace jepa_mpc::planner
