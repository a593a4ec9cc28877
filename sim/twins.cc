#include "sim/twins.h"

#include "sim/collector.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace jepa_mpc::sim {

const std::vector<std::string>& ImpossibleEventNames() {
  static const std::vector<std::string> names = {"teleport", "vanish", "reappear", "colour"};
  return names;
}

std::string EventName(ImpossibleEvent event) { return ImpossibleEventNames()[static_cast<int>(event)]; }

ImpossibleEvent ParseImpossibleEvent(const std::string& name) {
  const auto& names = ImpossibleEventNames();
  const auto it = std::find(names.begin(), names.end(), name);
  if (it == names.end()) {
    throw std::invalid_argument("unknown event '" + name + "', expected teleport, vanish, reappear or colour");
  }
  return static_cast<ImpossibleEvent>(it - names.begin());
}

namespace {

int ObjectBody(const Simulation& sim, int object) {
  if (object < 0 || object >= sim.num_objects()) {
    throw std::invalid_argument("the scene has " + std::to_string(sim.num_objects()) + " objects, no object " +
                                std::to_string(object) + " (impossible events need a task with an object, e.g. push)");
  }
  return mj_name2id(sim.model(), mjOBJ_BODY, sim.spec().objects[object].c_str());
}

// Where the block tasks keep the object (the goal region, in view of their cameras).
constexpr double kXMin = 0.35, kXMax = 0.65, kYMin = -0.2, kYMax = 0.2;

// A place on the table `lo` to `hi` m from `from`, inside the region, and >= 8 cm from the
// hand (the object must not appear inside the fingers).
Eigen::Vector3d NewPlace(const Simulation& sim, const Eigen::Vector3d& from, double lo, double hi,
                         std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(0, 1);
  const Eigen::Vector3d ee = sim.ee_pos();
  Eigen::Vector3d best = from;
  for (int attempt = 0; attempt < 200; ++attempt) {
    const double angle = 2 * M_PI * u(rng), r = lo + (hi - lo) * u(rng);
    Eigen::Vector3d p(from.x() + r * std::cos(angle), from.y() + r * std::sin(angle), from.z());
    if (p.x() < kXMin || p.x() > kXMax || p.y() < kYMin || p.y() > kYMax) continue;
    if ((p - ee).head<2>().norm() < 0.08) continue;
    return p;
  }
  // A corner of the region far enough from both (the region is 30 x 40 cm).
  for (double x : {kXMin, kXMax}) {
    for (double y : {kYMin, kYMax}) {
      Eigen::Vector3d p(x, y, from.z());
      if ((p - from).head<2>().norm() >= lo && (p - ee).head<2>().norm() >= 0.08) best = p;
    }
  }
  return best;
}

}  // namespace

ModelPtr RecolouredModel(const Simulation& sim, int object, const Eigen::Vector4f& rgba) {
  const int body = ObjectBody(sim, object);
  ModelPtr copy(mj_copyModel(nullptr, sim.model()));
  if (!copy) throw std::runtime_error("cannot copy the MuJoCo model");
  for (int g = 0; g < copy->ngeom; ++g) {
    if (copy->geom_bodyid[g] != body) continue;
    for (int k = 0; k < 4; ++k) copy->geom_rgba[4 * g + k] = rgba[k];
    copy->geom_matid[g] = -1;  // the colour comes from rgba, not a material
  }
  return copy;
}

namespace {

// event_step -1: no event.
EpisodeData Replay(Task& task, Renderer& renderer, Renderer* recoloured, const EpisodeData& possible,
                   ImpossibleEvent event, int event_step, std::mt19937_64* rng) {
  Simulation& sim = task.sim();
  const int T = possible.length, A = task.action_dim();
  task.Reset(possible.seed);
  EpisodeData e = EmptyEpisode(task, renderer, T, possible.seed);
  e.actions = possible.actions;
  Eigen::Vector3d before = Eigen::Vector3d::Zero();
  const Eigen::Vector3d away(3.0, 3.0, 0.025);  // on the table plane, out of every view
  for (int t = 0; t < T; ++t) {
    if (t == event_step) {
      before = sim.object_pos(0);
      if (event == ImpossibleEvent::kTeleport) {
        sim.SetObjectPosition(0, NewPlace(sim, before, 0.05, 0.10, *rng));
      } else if (event == ImpossibleEvent::kVanish || event == ImpossibleEvent::kReappear) {
        sim.SetObjectPosition(0, Eigen::Vector3d(away.x(), away.y(), before.z()));
      }
    }
    if (event == ImpossibleEvent::kReappear && t == event_step + 3) {
      sim.SetObjectPosition(0, NewPlace(sim, before, 0.05, 0.15, *rng));
    }
    RecordFrame(task, recoloured && event == ImpossibleEvent::kColour && t >= event_step ? *recoloured : renderer, t,
                e);
    Eigen::VectorXd a(A);
    for (int i = 0; i < A; ++i) a[i] = possible.actions[static_cast<size_t>(t) * A + i];
    task.Step(a);
  }
  return e;
}

}  // namespace

EpisodeData ReplayEpisode(Task& task, Renderer& renderer, const EpisodeData& recorded) {
  return Replay(task, renderer, nullptr, recorded, ImpossibleEvent::kTeleport, -1, nullptr);
}

EpisodeData ReplayWithEvent(Task& task, Renderer& renderer, Renderer& recoloured, const EpisodeData& possible,
                            ImpossibleEvent event, int event_step, std::mt19937_64& rng) {
  ObjectBody(task.sim(), 0);
  const int T = possible.length;
  if (event_step < 1 || event_step > T - 4) {
    throw std::invalid_argument("event step " + std::to_string(event_step) + " is outside [1, " +
                                std::to_string(T - 4) + "] for an episode of " + std::to_string(T) + " steps");
  }
  return Replay(task, renderer, &recoloured, possible, event, event_step, &rng);
}

}  // namespace jepa_mpc::sim
