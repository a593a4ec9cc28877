// inspect: a summary of a collected dataset (what it holds and how well it covers the task), or
// of a robot description (every field, the inferred ones filled in, and its camera's view).
//
//   inspect --data data/push.h5
//   inspect --robot my_arm.json --view view.png
#include <CLI/CLI.hpp>
#include <Eigen/Core>
#include <cmath>
#include <cstdio>

#include "examples/common/cli.h"
#include "examples/common/media.h"
#include "sim/dataset.h"
#include "sim/renderer.h"
#include "sim/robot_description.h"
#include "sim/task.h"

using namespace jepa_mpc;

int main(int argc, char** argv) {
  CLI::App app{"Summarise an HDF5 dataset written by collect, or a robot description."};
  std::string path, robot, view;
  int image_size = 256;
  auto* data = app.add_option("--data", path, "dataset file");
  auto* robot_opt = app.add_option("--robot", robot, "robot description (.json) or MJCF file (.xml), or a built-in robot");
  app.add_option("--view", view, "with --robot: write what its camera(s) see at the home pose to this PNG");
  app.add_option("--image-size", image_size, "with --view: image size in pixels")->capture_default_str();
  data->excludes(robot_opt);
  CLI11_PARSE(app, argc, argv);
  return tools::RunMain("inspect", [&] {
    if (path.empty() && robot.empty()) throw std::invalid_argument("give --data (a dataset) or --robot (a robot)");
    if (!robot.empty()) {
      robots::SceneOptions scene;
      scene.offscreen_size = std::max(256, image_size);
      const robots::RobotSpec spec = sim::MakeRobotSpec(robot, scene);
      std::printf("%s\n", sim::DescribeSpec(spec).dump(2).c_str());
      std::printf("default task: %s\n", sim::DefaultTaskForRobot(robot).c_str());
      if (!view.empty()) {
        sim::Simulation s(spec);
        sim::RenderOptions ro;
        ro.width = ro.height = image_size;
        sim::Renderer renderer(s.model(), ro);
        const sim::Image image = renderer.Render(s.data(), s.camera_ids());
        tools::WritePng(view, image.rgb.data(), image.height, image.width);
        std::printf("wrote %s (%dx%d, camera %s)\n", view.c_str(), image.width, image.height, s.camera_label().c_str());
      }
      return 0;
    }
    sim::DatasetReader reader(path);
    const auto& info = reader.info();
    std::printf("%s\n  %s, camera '%s', action mode %s, control period %.3f s\n", path.c_str(),
                info.Describe().c_str(), info.camera.c_str(), info.action_mode.c_str(),
                info.control_period);
    const int A = info.action_dim, O = info.num_objects;
    long frames = 0;
    Eigen::ArrayXd sum = Eigen::ArrayXd::Zero(A), sq = Eigen::ArrayXd::Zero(A);
    Eigen::Array3d lo = Eigen::Array3d::Constant(1e9), hi = Eigen::Array3d::Constant(-1e9);
    int moved = 0, lifted = 0;
    long moving_frames = 0, object_frames = 0;  // frames after which the object moves > 2 mm
    for (int k = 0; k < reader.num_episodes(); ++k) {
      const sim::EpisodeData e = reader.Read(k);
      frames += e.length;
      for (int t = 0; t < e.length; ++t) {
        for (int i = 0; i < A; ++i) {
          const double a = e.actions[t * A + i];
          sum[i] += a, sq[i] += a * a;
        }
        const Eigen::Array3d p(e.ee_pos[3 * t], e.ee_pos[3 * t + 1], e.ee_pos[3 * t + 2]);
        lo = lo.min(p), hi = hi.max(p);
      }
      if (O > 0 && e.length > 0) {
        const double* first = &e.object_pos[0];
        double max_shift = 0, max_z = first[2];
        for (int t = 0; t < e.length; ++t) {
          const double* p = &e.object_pos[t * 3 * O];
          max_shift = std::max(max_shift, std::hypot(p[0] - first[0], p[1] - first[1]));
          max_z = std::max(max_z, p[2]);
        }
        for (int t = 0; t + 1 < e.length; ++t) {
          const double* p = &e.object_pos[t * 3 * O];
          const double* q = &e.object_pos[(t + 1) * 3 * O];
          moving_frames += std::hypot(q[0] - p[0], q[1] - p[1], q[2] - p[2]) > 0.002;
          ++object_frames;
        }
        moved += max_shift > 0.01;
        lifted += max_z > first[2] + 0.04;
      }
    }
    std::printf("  %d episodes, %ld frames\n", reader.num_episodes(), frames);
    for (int i = 0; i < A; ++i) {
      const double mean = frames ? sum[i] / frames : 0;
      const double var = frames ? sq[i] / frames - mean * mean : 0;
      std::printf("  action[%d]: mean %+.3f, std %.3f\n", i, mean, std::sqrt(std::max(var, 0.0)));
    }
    std::printf("  end effector range (m): x %.3f..%.3f, y %.3f..%.3f, z %.3f..%.3f\n", lo[0],
                hi[0], lo[1], hi[1], lo[2], hi[2]);
    if (O > 0) {
      std::printf("  episodes that move the first object > 1 cm: %d (%.0f%%); lift it > 4 cm: %d (%.0f%%)\n",
                  moved, 100.0 * moved / std::max(1, reader.num_episodes()), lifted,
                  100.0 * lifted / std::max(1, reader.num_episodes()));
      std::printf("  frames after which the first object moves > 2 mm: %ld of %ld (%.0f%%)\n",
                  moving_frames, object_frames, 100.0 * moving_frames / std::max(1L, object_frames));
    }
    return 0;
  });
}
