#include "planner/factory.h"

#include <stdexcept>

#include "planner/cem.h"
#include "planner/gradient.h"

namespace jepa_mpc::planner {

std::vector<std::string> PlannerNames() { return {"cem", "mppi", "gd"}; }

std::unique_ptr<Planner> MakePlanner(const PlannerChoice& choice, PlannerOptions options) {
  if (choice.samples < 0 || choice.elites < 0) {
    throw std::invalid_argument("planner samples and elites must be positive (0: default)");
  }
  if (choice.name == "cem") {
    CemOptions c;
    if (choice.samples) c.samples = choice.samples;
    if (choice.elites) c.elites = choice.elites;
    else c.elites = std::min(c.elites, std::max<int64_t>(1, c.samples / 4));
    return std::make_unique<Cem>(std::move(options), c);
  }
  if (choice.name == "mppi") {
    MppiOptions m;
    if (choice.samples) m.samples = choice.samples;
    if (choice.elites) m.elites = choice.elites;
    else m.elites = std::min(m.elites, std::max<int64_t>(1, m.samples / 4));
    return std::make_unique<Mppi>(std::move(options), m);
  }
  if (choice.name == "gd") {
    GradientOptions g;
    if (choice.samples) g.candidates = choice.samples;
    return std::make_unique<GradientDescent>(std::move(options), g);
  }
  throw std::invalid_argument("unknown planner '" + choice.name + "', expected cem, mppi or gd");
}

}  // namespace jepa_mpc::planner
