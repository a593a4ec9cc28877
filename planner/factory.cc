#include "planner/factory.h"

#include <algorithm>
#include <stdexcept>

#include "planner/cem.h"
#include "planner/chain.h"
#include "planner/gradient.h"

namespace jepa_mpc::planner {

namespace {

// Elites default to a quarter of the samples when the samples are set and the elites are not.
template <class Options>
Options SampleSizes(const PlannerChoice& choice) {
  Options o;
  if (choice.samples) o.samples = choice.samples;
  if (choice.elites) o.elites = choice.elites;
  else o.elites = std::min(o.elites, std::max<int64_t>(1, o.samples / 4));
  return o;
}

std::unique_ptr<Planner> MakeCem(const PlannerChoice& c, PlannerOptions o) {
  return std::make_unique<Cem>(std::move(o), SampleSizes<CemOptions>(c));
}
std::unique_ptr<Planner> MakeGradient(const PlannerChoice& c, PlannerOptions o) {
  GradientOptions g;
  if (c.samples) g.candidates = c.samples;
  return std::make_unique<GradientDescent>(std::move(o), g);
}

Registry<PlannerEntry> BuiltIns() {
  Registry<PlannerEntry> r("planner");
  r.Add("cem", {"cross-entropy method: refit a Gaussian to the elites (default)", CemOptions().samples, MakeCem});
  r.Add("mppi", {"model predictive path integral: exp(-cost) weighted elites", MppiOptions().samples,
                 [](const PlannerChoice& c, PlannerOptions o) -> std::unique_ptr<Planner> {
                   return std::make_unique<Mppi>(std::move(o), SampleSizes<MppiOptions>(c));
                 }});
  r.Add("gd", {"Adam on the actions through the differentiable model, several starts",
               GradientOptions().candidates, MakeGradient});
  r.Add("cem-gd", {"CEM, then Adam from its plan (each stage gets the budget)", CemOptions().samples,
                   [](const PlannerChoice& c, PlannerOptions o) -> std::unique_ptr<Planner> {
                     return std::make_unique<Chain>(MakeCem(c, o), MakeGradient({"gd", 0, 0}, o));
                   }});
  return r;
}

}  // namespace

Registry<PlannerEntry>& PlannerRegistry() {
  static Registry<PlannerEntry> registry = BuiltIns();
  return registry;
}

std::vector<std::string> PlannerNames() { return PlannerRegistry().Names(); }

std::string PlannerHelp() {
  std::string help;
  for (const auto& n : PlannerNames()) help += n + ": " + PlannerRegistry().Get(n).summary + "\n";
  return help;
}

int64_t SamplesPerIteration(const PlannerChoice& choice) {
  return choice.samples > 0 ? choice.samples : PlannerRegistry().Get(choice.name).default_samples;
}

std::unique_ptr<Planner> MakePlanner(const PlannerChoice& choice, PlannerOptions options) {
  const PlannerEntry& entry = PlannerRegistry().Get(choice.name);
  if (choice.samples < 0 || choice.elites < 0) {
    throw std::invalid_argument("planner samples and elites must be positive (0: default)");
  }
  return entry.make(choice, std::move(options));
}

}  // namespace jepa_mpc::planner
