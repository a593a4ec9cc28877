// energy_map: how a trained object-task model's goal energy follows the object's distance to its
// goal, with the arm away (the pose of the goal image) and with the hand beside the object on each
// side, at pushing height and lifted 15 cm. For each of the task's evaluation goals the object is
// placed at 0-15 cm from the goal in 8 directions, the scene rendered and scored by the model (the
// energy the planner lowers, its reaching term apart). It tells an energy that cannot see the
// object near the hand from one that cannot see it at all. --yaw turns every placed block about
// the vertical, the goal image's not: how much the block's turn moves the reading.
//
//   energy_map --checkpoint runs/push/checkpoint.pt --goals 8 --out map.csv
#include <CLI/CLI.hpp>
#include <Eigen/Core>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "control/controller.h"
#include "examples/common/cli.h"
#include "examples/common/episode_view.h"
#include "examples/common/evaluation.h"
#include "examples/common/progress.h"
#include "sim/ik.h"
#include "sim/renderer.h"
#include "sim/task.h"

using namespace jepa_mpc;

namespace {

constexpr double kDistances[] = {0, 0.01, 0.02, 0.03, 0.04, 0.06, 0.08, 0.10, 0.15};  // m
constexpr int kDirections = 8;
// Where the hand is: the goal image's arm pose, or the end effector 5.5 cm from the object's
// centre on one side (+x faces the table camera), 3 cm above the table (pushing) or 15 cm (lifted
// after a push: what a plan judged after a withdrawal shows, evaluate --withdraw-steps).
const char* const kHands[] = {"arm as in the goal image", "hand at +x (camera side)", "hand at -x (base side)",
                              "hand at +y", "hand at -y", "hand at +x, lifted", "hand at -x, lifted",
                              "hand at +y, lifted", "hand at -y, lifted"};
const Eigen::Vector3d kHandOffset[] = {{0, 0, 0},        {0.055, 0, 0.03},  {-0.055, 0, 0.03},
                                       {0, 0.055, 0.03}, {0, -0.055, 0.03}, {0.055, 0, 0.15},
                                       {-0.055, 0, 0.15}, {0, 0.055, 0.15}, {0, -0.055, 0.15}};

// The goal energy with the object slid through its goal in 2 mm steps (-3..3 cm) along x and y,
// the rest of the scene as the goal image shows it: mean over the goals, and the share of steps
// that change the image and that change the energy (by more than 1e-3).
void FineSweep(Controller& model, sim::Task& task, sim::Renderer& renderer, int goals, uint64_t seed) {
  constexpr int K = 31;
  const int S = model.image_size();
  sim::Simulation& s = task.sim();
  std::vector<double> energy[2] = {std::vector<double>(K, 0.0), std::vector<double>(K, 0.0)};
  int steps = 0, image_changed = 0, energy_changed = 0, rising = 0;
  tools::ProgressBar bar("energy_map", goals, "goals");
  for (int g = 0; g < goals; ++g) {
    task.Reset(tools::GoalSeed(seed, g));
    const sim::Image goal = task.RenderGoal(renderer);
    model.SetGoal({goal.rgb.data(), S, S});
    const sim::SimState goal_state = task.goal_state();
    const Eigen::Vector3d centre = task.goal_position();
    s.SetState(goal_state);
    const double height = s.object_pos(0).z();
    for (int axis = 0; axis < 2; ++axis) {
      std::vector<uint8_t> last_image;
      double last_energy = 0;
      for (int k = 0; k < K; ++k) {
        const double offset = (k - K / 2) * 0.002;
        s.SetState(goal_state);
        s.SetObjectPosition(0, Eigen::Vector3d(centre.x() + (axis == 0 ? offset : 0),
                                               centre.y() + (axis == 1 ? offset : 0), height));
        const sim::Image image = renderer.Render(s.data(), s.camera_ids());
        const double e = model.Energy({image.rgb.data(), S, S});
        energy[axis][k] += e / goals;
        if (k > 0) {
          ++steps;
          image_changed += image.rgb != last_image;
          energy_changed += std::abs(e - last_energy) > 1e-3;
          // Read away from the goal: on the + side this step, on the - side the step back.
          rising += (k > K / 2 ? e - last_energy : last_energy - e) > 1e-3;
        }
        last_image = image.rgb;
        last_energy = e;
      }
    }
    bar.Update(g + 1);
  }
  bar.Finish();
  std::printf("goal energy (the object's part) by the object's offset from its goal along x (the table camera's line "
              "of sight) and y, mean over %d goals:\n", goals);
  std::printf("%-12s", "offset (cm)");
  for (int k = 0; k < K; k += 2) std::printf(" %5.1f", (k - K / 2) * 0.2);
  for (int axis = 0; axis < 2; ++axis) {
    std::printf("\n%-12s", axis == 0 ? "along x" : "along y");
    for (int k = 0; k < K; k += 2) std::printf(" %5.3f", energy[axis][k]);
  }
  std::printf("\n2 mm steps that change the image: %.1f%%, that change the energy: %.1f%%, whose energy rises "
              "away from the goal: %.1f%% (%d steps)\n",
              100.0 * image_changed / steps, 100.0 * energy_changed / steps, 100.0 * rising / steps, steps);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"The goal energy of an object-task model against the object's distance to its goal."};
  std::string checkpoint, out;
  int goals = 8;
  double yaw_deg = 0;
  uint64_t seed = 100;
  app.add_option("--checkpoint", checkpoint, "trained model of a task with an object (push)")->required();
  app.add_option("--goals", goals, "evaluation goals to place the object around")->capture_default_str();
  app.add_option("--seed", seed, "goal seed (evaluate's: the same seed, the same goals)")->capture_default_str();
  app.add_option("--yaw", yaw_deg, "every placement's block turned this much about the vertical (degrees; the goal "
                 "image's is not)")->capture_default_str();
  app.add_option("--out", out, "CSV of every placement (goal, hand, distance_m, direction, energy, cost)");
  bool fine = false;
  app.add_flag("--fine", fine, "instead: the object slid through its goal in 2 mm steps along x (the table camera's "
               "line of sight) and y, the arm as in the goal image: the energy at each step, and how many steps "
               "change the image and the energy");
  CLI11_PARSE(app, argc, argv);
  return tools::RunMain("energy_map", [&] {
    if (goals < 1) throw std::invalid_argument("--goals is " + std::to_string(goals) + ", expected at least 1");
    Controller model(checkpoint);
    const int S = model.image_size();
    auto task = tools::MakeObjectTask(checkpoint, model.task(), model.robot(), model.camera(), model.antialias(), S, "energy_map");
    sim::Simulation& s = task->sim();
    sim::RenderOptions ro;
    ro.width = ro.height = S;
    sim::Renderer renderer(s.model(), ro);
    sim::DifferentialIk ik(s);
    std::ofstream csv;
    if (!out.empty()) {
      csv.open(out);
      if (!csv) throw std::runtime_error("cannot write " + out);
      csv << "goal,hand,distance_m,direction,energy,cost\n";
    }
    if (fine) {
      FineSweep(model, *task, renderer, goals, seed);
      return 0;
    }
    constexpr int H = std::size(kHands), N = std::size(kDistances);
    // energy[hand][distance][goal * directions + direction]
    std::vector<std::vector<std::vector<double>>> energy(H, std::vector<std::vector<double>>(N));
    tools::ProgressBar bar("energy_map", goals, "goals");
    for (int g = 0; g < goals; ++g) {
      task->Reset(tools::GoalSeed(seed, g));
      const sim::Image goal = task->RenderGoal(renderer);
      model.SetGoal({goal.rgb.data(), S, S});
      const sim::SimState goal_state = task->goal_state();
      s.SetState(goal_state);
      const Eigen::Vector3d centre = task->goal_position();
      const double height = s.object_pos(0).z();
      for (int h = 0; h < H; ++h) {
        for (int d = 0; d < N; ++d) {
          for (int k = 0; k < kDirections; ++k) {
            const double angle = 2 * M_PI * k / kDirections;
            s.SetState(goal_state);
            const Eigen::Vector3d p(centre.x() + kDistances[d] * std::cos(angle),
                                    centre.y() + kDistances[d] * std::sin(angle), height);
            if (h > 0) {
              Eigen::Vector3d hand = p + kHandOffset[h];
              hand.z() = kHandOffset[h].z();
              s.SetArmPose(ik.Solve(s, s.arm_qpos(), hand).q);
            }
            s.SetObjectPosition(0, p, yaw_deg * M_PI / 180);
            const sim::Image image = renderer.Render(s.data(), s.camera_ids());
            const ImageView view{image.rgb.data(), S, S};
            const Eigen::Vector3d hand = s.ee_pos();
            const double e = model.Energy(view);
            const double cost = model.FutureCosts(
                {view}, 1, model.hand_dim() > 0 ? std::vector<double>{hand.x(), hand.y(), hand.z()} : std::vector<double>())[0];
            energy[h][d].push_back(e);
            if (csv) csv << g << ',' << h << ',' << kDistances[d] << ',' << k << ',' << e << ',' << cost << '\n';
          }
        }
      }
      bar.Update(g + 1);
    }
    bar.Finish();
    // Mean energy by distance, and how often a placement nearer the goal scores lower than one
    // farther out in the same direction (1 cm vs 4 cm, 2 vs 6, 4 vs 10).
    std::printf("goal energy (the object's part; the planner adds the reaching term) by the object's distance to its goal,\n"
                "mean over %d goals x %d directions:\n%-26s", goals, kDirections, "");
    for (double d : kDistances) std::printf(" %5.0f cm", 100 * d);
    std::printf("   1<4 cm  2<6 cm  4<10 cm\n");
    auto ordered = [&](int h, int near, int far) {
      int ok = 0;
      for (size_t i = 0; i < energy[h][near].size(); ++i) ok += energy[h][near][i] < energy[h][far][i];
      return static_cast<double>(ok) / energy[h][near].size();
    };
    for (int h = 0; h < H; ++h) {
      std::printf("%-26s", kHands[h]);
      for (int d = 0; d < N; ++d) {
        double mean = 0;
        for (double e : energy[h][d]) mean += e;
        std::printf(" %8.3f", mean / energy[h][d].size());
      }
      std::printf("   %6.2f  %6.2f  %7.2f\n", ordered(h, 1, 4), ordered(h, 2, 5), ordered(h, 4, 7));
    }
    std::printf("(the last columns: the share of placements at which the nearer one has the lower energy)\n");
    if (!out.empty()) std::printf("wrote %s\n", out.c_str());
    return 0;
  });
}
