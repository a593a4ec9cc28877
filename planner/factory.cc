#include "planner/factory.h"

#include <algorithm>
#include <cmath>
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

// The registered CEM plans a receding horizon: warm-started from the last plan at every step,
// it searches near it (0.2 of the action range) with 64 samples x 2 iterations by default. Chosen
// by success and final distance per millisecond on reach2d and reach3d (docs/performance.md).
constexpr int64_t kCemSamples = 64;
constexpr double kCemInitStd = 0.2;

std::unique_ptr<Planner> MakeCem(const PlannerChoice& c, PlannerOptions o) {
  CemOptions cem = SampleSizes<CemOptions>({c.name, c.samples ? c.samples : kCemSamples, c.elites});
  cem.init_std = kCemInitStd;
  return std::make_unique<Cem>(std::move(o), cem);
}
// CEM as DINO-WM and V-JEPA 2-AC plan with it: the refit elites' mean is the plan. Its sizes are
// MPPI's (512 samples, the 64 best, from 0.5 of the range), at which the mean of many good
// samples is steady; chosen on push (docs/experiments/push.md, "The planner").
std::unique_ptr<Planner> MakeCemMean(const PlannerChoice& c, PlannerOptions o) {
  const MppiOptions m = SampleSizes<MppiOptions>(c);  // MPPI's search, its elites weighed alike
  CemOptions cem;
  cem.samples = m.samples;
  cem.elites = m.elites;
  cem.init_std = m.noise_std;
  cem.min_std = m.min_std;
  cem.momentum = m.momentum;
  cem.mean_plan = true;
  return std::make_unique<Cem>(std::move(o), cem);
}
std::unique_ptr<Planner> MakeGradient(const PlannerChoice& c, PlannerOptions o) {
  GradientOptions g;
  if (c.samples) g.candidates = c.samples;
  return std::make_unique<GradientDescent>(std::move(o), g);
}

Registry<PlannerEntry> BuiltIns() {
  Registry<PlannerEntry> r("planner");
  r.Add("cem", {"cross-entropy method: refit a Gaussian to the elites (default)", kCemSamples, MakeCem, 2});
  r.Add("cem-mean", {"cross-entropy method whose plan is the elites' refit mean (512 x 2 from 0.5)",
                     MppiOptions().samples, MakeCemMean, 2});
  PlannerEntry mppi{"model predictive path integral: exp(-cost) weighted elites", MppiOptions().samples,
                    [](const PlannerChoice& c, PlannerOptions o) -> std::unique_ptr<Planner> {
                      MppiOptions m = SampleSizes<MppiOptions>(c);
                      if (c.temperature > 0) m.temperature = c.temperature;
                      return std::make_unique<Mppi>(std::move(o), m);
                    }};
  mppi.takes_temperature = true;
  r.Add("mppi", mppi);
  r.Add("gd", {"Adam on the actions through the differentiable model, several starts",
               GradientOptions().candidates, MakeGradient});
  r.Add("cem-gd", {"CEM, then Adam from its plan (each stage gets the budget)", kCemSamples,
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

bool TakesTemperature(const std::string& planner) { return PlannerRegistry().Get(planner).takes_temperature; }

int64_t IterationsPerStep(const std::string& planner, int64_t iterations) {
  return iterations > 0 ? iterations : PlannerRegistry().Get(planner).default_iterations;
}

int64_t SamplesPerIteration(const PlannerChoice& choice) {
  return choice.samples > 0 ? choice.samples : PlannerRegistry().Get(choice.name).default_samples;
}

std::unique_ptr<Planner> MakePlanner(const PlannerChoice& choice, PlannerOptions options) {
  const PlannerEntry& entry = PlannerRegistry().Get(choice.name);
  if (choice.samples < 0 || choice.elites < 0) {
    throw std::invalid_argument("planner samples and elites must be positive (0: default)");
  }
  if (!(choice.temperature >= 0) || !std::isfinite(choice.temperature)) {
    throw std::invalid_argument("planner temperature must be a number >= 0 (0: default)");
  }
  if (choice.temperature > 0 && !entry.takes_temperature) {
    throw std::invalid_argument("planner temperature is mppi's option; " + choice.name + " has none");
  }
  return entry.make(choice, std::move(options));
}

}  // namespace jepa_mpc::planner
