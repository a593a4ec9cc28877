// embed: goal reaching in your own control loop, with jepa_mpc::Controller. The simulator stands in
// for a robot, its camera and its joint encoders; replace those calls with yours.
//
//   embed CHECKPOINT [GOAL_SEED] [--serve PORT]
//
// --serve PORT (built in this tree: it needs the tools library) serves a live view of the loop on
// http://127.0.0.1:PORT/: the camera with the plan drawn on it, the goal and the energy curve. It
// waits up to 30 s for a page to open, then runs at the robot's control rate.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "control/controller.h"
#include "sim/task.h"
#ifdef JEPA_MPC_LIVE_VIEW
#include "examples/common/episode_view.h"
#include "examples/common/live_view.h"
#endif

int main(int argc, char** argv) {
  int serve = -1;
  std::vector<char*> args;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--serve") == 0 && i + 1 < argc) serve = std::atoi(argv[++i]);
    else args.push_back(argv[i]);
  }
  if (args.empty() || args.size() > 2) {
    std::fprintf(stderr, "usage: embed CHECKPOINT [GOAL_SEED] [--serve PORT]\n");
    return 2;
  }
  try {
    jepa_mpc::ControllerOptions options;  // planner, horizon, samples, time budget, seed
    jepa_mpc::Controller controller(args[0], options);

    // The "robot": a simulated task with a goal, and a camera at the model's image size.
    jepa_mpc::sim::TaskOptions task_options;
    task_options.robot = controller.robot();
    task_options.cameras = controller.camera();
    task_options.antialias = controller.antialias();
    auto robot = jepa_mpc::sim::MakeTask(controller.task(), task_options);
    robot->Reset(args.size() > 1 ? std::strtoull(args[1], nullptr, 10) : 7);
    jepa_mpc::sim::RenderOptions size;
    size.width = size.height = controller.image_size();
    jepa_mpc::sim::Renderer camera(robot->sim().model(), size);

    const jepa_mpc::sim::Image goal = robot->RenderGoal(camera);
    controller.SetGoal({goal.rgb.data(), goal.height, goal.width});
#ifdef JEPA_MPC_LIVE_VIEW
    // The live view: a larger camera, a copy of the scene for the plan's true future, and the
    // model's probes (quality.json beside the checkpoint) to read the plan off its embeddings.
    namespace tools = jepa_mpc::tools;
    std::unique_ptr<tools::LiveView> live;
    std::unique_ptr<jepa_mpc::sim::Renderer> big;
    std::unique_ptr<jepa_mpc::sim::Task> copy;
    std::unique_ptr<tools::FrameComposer> composer;
    const tools::Probes probes = tools::LoadProbes(args[0]);
    std::vector<double> energy, distance;
    if (serve >= 0) {
      live = std::make_unique<tools::LiveView>("127.0.0.1", serve);
      std::fprintf(stderr, "live view: %s\n", live->url().c_str());
      live->WaitForViewer(30);
      jepa_mpc::sim::RenderOptions large;
      large.width = large.height = 256;
      big = std::make_unique<jepa_mpc::sim::Renderer>(robot->sim().model(), large);
      copy = jepa_mpc::sim::MakeTask(controller.task(), task_options);
      composer = std::make_unique<tools::FrameComposer>(256, robot->RenderGoal(*big), "embed",
                                                         robot->info().episode_steps);
    }
#else
    if (serve >= 0) throw std::invalid_argument("--serve needs embed built in the jepa-mpc tree (the live view)");
#endif
    int t = 0;
    for (; t < robot->info().episode_steps && !robot->Success(); ++t) {
      const auto image = camera.Render(robot->sim().data(), robot->sim().camera_ids());
      // A model trained with proprioception also takes the joint angles (proprio_dim() > 0).
      const std::vector<double> joints =
          controller.proprio_dim() > 0 ? robot->sim().joint_state() : std::vector<double>();
      // A model whose reaching term reads the hand from the robot also takes the end effector's
      // position (hand_dim() > 0, the push models).
      const Eigen::Vector3d ee = robot->sim().ee_pos();
      const std::vector<double> hand =
          controller.hand_dim() > 0 ? std::vector<double>{ee.x(), ee.y(), ee.z()} : std::vector<double>();
      const std::vector<float> action = controller.Act({image.rgb.data(), image.height, image.width}, joints, hand);
#ifdef JEPA_MPC_LIVE_VIEW
      if (live) {
        energy.push_back(controller.last().energy);
        distance.push_back(robot->Distance());
        if (live->WantsFrame()) {
          jepa_mpc::sim::Image view = big->Render(robot->sim().data(), robot->sim().camera_ids());
          tools::DrawTraces(view, tools::PlanTracesOf(controller.Preview(), probes, *robot, *copy),
                            robot->sim().model(), robot->sim().data(), robot->sim().camera_ids());
          live->Publish(composer->Compose(view, t, energy, distance, robot->Success()),
                        {{"step", t}, {"energy", energy.back()}, {"distance_cm", 100 * distance.back()}});
        }
        std::this_thread::sleep_for(std::chrono::duration<double>(robot->sim().spec().control_period));
      }
#endif
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
