#pragma once

// Twin episodes for violation-of-expectation tests: a possible episode (the exploration policy in
// a scene with an object) and, for each impossible event, the same episode with the event
// applied at one step: identical frames, joint states and actions before it, the same actions
// after it. The events:
//  - teleport: the object jumps 5-10 cm across the table between two frames;
//  - vanish: the object leaves the scene (it is moved far out of every camera's view);
//  - reappear: it vanishes, and 3 steps later is back 5-15 cm from where it was;
//  - colour: the object's colour changes (a visual change, not a physical one: the physics of
//    the twins stay identical).

#include <Eigen/Core>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "sim/dataset.h"
#include "sim/mj.h"
#include "sim/renderer.h"
#include "sim/task.h"

namespace jepa_mpc::sim {

enum class ImpossibleEvent { kTeleport, kVanish, kReappear, kColour };

// "teleport", "vanish", "reappear", "colour", in that order.
const std::vector<std::string>& ImpossibleEventNames();
std::string EventName(ImpossibleEvent event);
// Throws std::invalid_argument naming the known events.
ImpossibleEvent ParseImpossibleEvent(const std::string& name);

// A copy of the scene's model with object `object`'s geoms recoloured (rgba), to render the
// colour event's frames. Throws std::invalid_argument for an object the scene lacks.
ModelPtr RecolouredModel(const Simulation& sim, int object, const Eigen::Vector4f& rgba);

// Replays a recorded episode from task.Reset(recorded.seed) with its (stored, single-precision)
// actions: the possible twin, made the same way as the impossible ones.
EpisodeData ReplayEpisode(Task& task, Renderer& renderer, const EpisodeData& recorded);

// Replays `possible` (an episode RunEpisode recorded on this task) from task.Reset(possible.seed)
// with its actions, applying `event` to object 0 at event_step (before that step's frame is
// rendered). `recoloured` renders the frames from event_step on for the colour event (a renderer
// on RecolouredModel of this task's scene); the others use `renderer`. Draws the event's place
// from rng. Throws std::invalid_argument for a task without an object or an event step outside
// [1, length - 4].
EpisodeData ReplayWithEvent(Task& task, Renderer& renderer, Renderer& recoloured, const EpisodeData& possible,
                            ImpossibleEvent event, int event_step, std::mt19937_64& rng);

}  // namespace jepa_mpc::sim
