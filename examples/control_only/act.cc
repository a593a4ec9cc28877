// act: the controller alone, as a robot's control loop links it: torch and jepa_mpc, no
// simulator, renderer or HDF5. Reads the goal and the current camera image from binary PPM files
// (P6, the model's image size) and prints the action to apply.
//
//   act CHECKPOINT GOAL.ppm OBSERVATION.ppm [JOINT_ANGLE ...] [HAND_X HAND_Y HAND_Z]
#include <cstdio>
#include <exception>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "control/controller.h"

namespace {

struct Rgb {
  std::vector<uint8_t> bytes;
  int width = 0, height = 0;
};

Rgb ReadPpm(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::string magic;
  int maxval = 0;
  Rgb image;
  in >> magic >> image.width >> image.height >> maxval;
  if (magic != "P6" || image.width <= 0 || image.height <= 0 || maxval != 255) {
    throw std::runtime_error(path + " is not a binary PPM (P6, 8 bits per channel)");
  }
  in.get();  // the one whitespace byte after the header
  image.bytes.resize(static_cast<size_t>(image.width) * image.height * 3);
  if (!in.read(reinterpret_cast<char*>(image.bytes.data()), image.bytes.size())) {
    throw std::runtime_error(path + " is shorter than its header says");
  }
  return image;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: act CHECKPOINT GOAL.ppm OBSERVATION.ppm [JOINT_ANGLE ...] [HAND_X HAND_Y HAND_Z]\n");
    return 2;
  }
  try {
    jepa_mpc::Controller controller(argv[1]);
    const Rgb goal = ReadPpm(argv[2]), observation = ReadPpm(argv[3]);
    // The joint angles the model reads (proprio_dim()), then the end effector's position (m) for a
    // model that reads the hand from the robot (hand_dim()).
    std::vector<double> joints, hand;
    for (int k = 4; k < argc; ++k) {
      (static_cast<int>(joints.size()) < controller.proprio_dim() ? joints : hand).push_back(std::stod(argv[k]));
    }
    controller.SetGoal({goal.bytes.data(), goal.height, goal.width});
    const std::vector<float> action =
        controller.Act({observation.bytes.data(), observation.height, observation.width}, joints, hand);
    std::printf("action");
    for (float a : action) std::printf(" %.4f", a);
    std::printf("\nenergy %.4f  planned cost %.4f  %.1f ms\n", controller.last().energy,
                controller.last().planned_cost, 1000 * controller.last().seconds);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "act: error: %s\n", e.what());
    return 1;
  }
}
