#pragma once

// The planner registry: builds a planner by name with the common sizes; what a controller or a
// binary offers its users. Add your own with PlannerRegistry().Add(name, {summary, factory}).

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "planner/planner.h"
#include "util/registry.h"

namespace jepa_mpc::planner {

struct PlannerChoice {
  std::string name = "cem";    // a registered planner (PlannerNames())
  int64_t samples = 0;         // candidates per iteration; 0: the planner's default (gd: restarts)
  int64_t elites = 0;          // 0: the planner's default (cem, cem-mean, mppi)
  double temperature = 0;      // mppi's weights exp(-cost / temperature); 0: its default (0.5)
};

struct PlannerEntry {
  std::string summary;  // one line for --help and the docs
  int64_t default_samples = 0;  // candidates scored per iteration when the choice says 0
  // Gets a validated choice (sizes >= 0); throws std::invalid_argument for sizes it cannot use.
  std::function<std::unique_ptr<Planner>(const PlannerChoice&, PlannerOptions)> make;
  int64_t default_iterations = 4;  // iterations per control step when the caller says 0
  bool takes_temperature = false;  // uses PlannerChoice::temperature (others refuse one > 0)
};

// Holds cem, cem-mean, mppi, gd and cem-gd on first use.
Registry<PlannerEntry>& PlannerRegistry();

// Throws std::invalid_argument naming the known planners or the bad size.
std::unique_ptr<Planner> MakePlanner(const PlannerChoice& choice, PlannerOptions options);
std::vector<std::string> PlannerNames();
// Candidates a choice scores per iteration: its samples, or the planner's default. The search
// budget of a planner is this times its iterations.
int64_t SamplesPerIteration(const PlannerChoice& choice);
// Whether the registered planner takes PlannerChoice::temperature (mppi does): a caller with one
// temperature for several planners passes it to these and 0 to the rest.
bool TakesTemperature(const std::string& planner);
// Iterations a planner runs per step: `iterations`, or the planner's default when it is 0.
int64_t IterationsPerStep(const std::string& planner, int64_t iterations);
// "name: summary" lines, one per planner, for --help.
std::string PlannerHelp();

}  // namespace jepa_mpc::planner
