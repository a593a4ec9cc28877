// embed: goal reaching in your own control loop, with jepa_mpc::Controller. The simulator stands in
// for a robot, its camera and its joint encoders; replace those calls with yours.
//
//   embed CHECKPOINT [GOAL_SEED]
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "control/controller.h"
#include "sim/task.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: embed CHECKPOINT [GOAL_SEED]\n");
    return 2;
  }
  try {
    jepa_mpc::ControllerOptions options;  // planner, horizon, samples, time budget, seed
    jepa_mpc::Controller controller(argv[1], options);

    // The "robot": a simulated task with a goal, and a camera at the model's image size.
    jepa_mpc::sim::TaskOptions task_options;
    task_options.robot = controller.robot();
    auto robot = jepa_mpc::sim::MakeTask(controller.task(), task_options);
    robot->Reset(argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 7);
    jepa_mpc::sim::RenderOptions size;
    size.width = size.height = controller.image_size();
    jepa_mpc::sim::Renderer camera(robot->sim().model(), size);

    const jepa_mpc::sim::Image goal = robot->RenderGoal(camera);
    controller.SetGoal({goal.rgb.data(), goal.height, goal.width});
    int t = 0;
    for (; t < robot->info().episode_steps && !robot->Success(); ++t) {
      const auto image = camera.Render(robot->sim().data(), robot->sim().camera_ids());
      // A model trained with proprioception also takes the joint angles (proprio_dim() > 0).
      const std::vector<double> joints =
          controller.proprio_dim() > 0 ? robot->sim().joint_state() : std::vector<double>();
      const std::vector<float> action = controller.Act({image.rgb.data(), image.height, image.width}, joints);
      Eigen::VectorXd a(action.size());
      for (size_t k = 0; k < action.size(); ++k) a[k] = action[k];
      robot->Step(a);
      std::printf("step %2d  energy %.3f  distance %.1f cm  %.1f ms\n", t, controller.last().energy,
                  100 * robot->Distance(), 1000 * controller.last().seconds);
    }
    std::printf("%s after %d steps (distance %.1f cm)\n", robot->Success() ? "reached" : "not reached",
                t, 100 * robot->Distance());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "embed: error: %s\n", e.what());
    return 1;
  }
}
