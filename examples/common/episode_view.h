#pragma once

// What evaluate shows of an episode: each frame is the camera view with the planner's intent
// drawn on it, the goal image, and the latent energy and true distance so far, with a caption
// bar (videos and the live view); a contact sheet sums an episode up in four small images.

#include <Eigen/Core>
#include <opencv2/core.hpp>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "control/controller.h"
#include "sim/renderer.h"
#include "sim/task.h"

namespace jepa_mpc::tools {

// The task a model of an object task was trained on (`task`, `robot`), its frames at least 256 px
// wide and image_size: throws naming `checkpoint` if the task has no object (which `program`
// needs) or renders another camera than the model saw.
std::unique_ptr<sim::Task> MakeObjectTask(const std::string& checkpoint, const std::string& task,
                                          const std::string& robot, const std::string& camera, int antialias,
                                          int image_size, const std::string& program);

// Paths in the world frame (m) to draw over the camera view.
struct PlanTraces {
  std::vector<Eigen::Vector3d> plan_ee, plan_object;        // predicted along the chosen plan
  std::vector<std::vector<Eigen::Vector3d>> candidates_ee;  // predicted along sampled candidates
  std::vector<Eigen::Vector3d> true_ee, true_object;        // the true simulator under the plan's actions
  bool empty() const {
    return plan_ee.empty() && plan_object.empty() && candidates_ee.empty() && true_ee.empty() && true_object.empty();
  }
};

// The linear probes train stores in quality.json beside a checkpoint: embedding -> end effector
// and -> first object, [D + 1][3] each (the last row the bias). Empty where absent (an older
// model): then only true futures are drawn.
struct Probes {
  std::vector<std::array<double, 3>> ee, object;
};
Probes LoadProbes(const std::string& checkpoint);

// [z, 1] @ probe for each of `steps` embeddings of size dim; empty if the probe does not fit.
std::vector<Eigen::Vector3d> Decode(const std::vector<std::array<double, 3>>& probe, const float* z, int steps,
                                    int dim);

// Adds to t where control-step actions [steps][A] take the true scene from `from`'s state: the end
// effector and the first object, now and after each action, rolled out in `copy` (a task built
// like `from`).
void TrueFuture(const sim::Task& from, const float* actions, int steps, int A, sim::Task& copy, PlanTraces& t);

// A learned planner's intent (Controller::Preview) as paths: the plan and its candidates read off
// the predicted embeddings by the probes, and the plan's true future.
PlanTraces PlanTracesOf(const PlanPreview& preview, const Probes& probes, const sim::Task& from, sim::Task& copy);

// Draws the traces into view (RGB, rendered from `cameras` of data's scene), projected with each
// camera's pose in data.
void DrawTraces(sim::Image& view, const PlanTraces& traces, const mjModel* model, const mjData* data,
                const std::vector<int>& cameras);

// Composes the frames of one episode: [camera | goal | energy and distance curves] over a caption bar.
class FrameComposer {
 public:
  static constexpr int kBar = 40;
  // size: the side of the camera and goal images (pixels); steps: the episode's control steps.
  FrameComposer(int size, const sim::Image& goal, std::string method, int steps);
  // energy and distance: one value per step so far, the current one last. RGB, kBar + size rows,
  // 3 * size columns.
  cv::Mat Compose(const sim::Image& view, int step, const std::vector<double>& energy,
                  const std::vector<double>& distance, bool success) const;
  int height() const { return size_ + kBar; }
  int width() const { return 3 * size_; }

 private:
  int size_, steps_;
  sim::Image goal_;
  std::string method_;
};

// start, middle and end frames beside the goal, each scaled to tile x tile: RGB, 4 * tile columns.
cv::Mat ContactSheet(const std::vector<sim::Image>& frames, const sim::Image& goal, int tile);

}  // namespace jepa_mpc::tools
