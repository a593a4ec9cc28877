// jepa_mpc: the controller and the simulated tasks from Python, images as numpy arrays.
//
//   import jepa_mpc
//   env = jepa_mpc.Env("reach2d", seed=0)
//   ctl = jepa_mpc.Controller("runs/reach2d/checkpoint.pt")
//   obs = env.reset(3)
//   ctl.set_goal(env.goal_image)
//   obs, success, done, info = env.step(ctl.act(obs["image"], obs["joint_state"]))
//
// The GIL is released while a controller plans and while a task steps or renders; one object may
// be used from several Python threads (its calls take turns). Errors raise with the library's
// one-line messages: ValueError for bad input, RuntimeError otherwise.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <ATen/Parallel.h>

#include "control/controller.h"
#include "sim/renderer.h"
#include "sim/task.h"

namespace py = pybind11;
using namespace jepa_mpc;

namespace {

using Bytes = py::array_t<uint8_t, py::array::c_style>;

// An H x W x 3 uint8 image, C-contiguous (a strided view is copied; another dtype is refused: a
// float image in [0, 1] cast to bytes would be black).
Bytes AsImage(const py::handle& object, const char* what) {
  if (!py::isinstance<py::array>(object)) {
    throw std::invalid_argument(std::string(what) + " must be a numpy array of shape (H, W, 3) and dtype uint8, got " +
                                std::string(py::str(py::type::of(object).attr("__name__"))));
  }
  auto array = py::reinterpret_borrow<py::array>(object);
  if (!array.dtype().is(py::dtype::of<uint8_t>())) {
    throw std::invalid_argument(std::string(what) + " must have dtype uint8 (RGB bytes), got " +
                                std::string(py::str(array.dtype())) +
                                ": convert it, e.g. (image * 255).round().astype(numpy.uint8)");
  }
  if (array.ndim() != 3 || array.shape(2) != 3) {
    std::string shape;
    for (py::ssize_t i = 0; i < array.ndim(); ++i) shape += (i ? ", " : "") + std::to_string(array.shape(i));
    throw std::invalid_argument(std::string(what) + " must have shape (H, W, 3), got (" + shape + ")");
  }
  return Bytes::ensure(array);  // a copy only when the layout is not already C-contiguous
}

ImageView View(const Bytes& image) {
  return {image.data(), static_cast<int>(image.shape(0)), static_cast<int>(image.shape(1))};
}

py::array_t<uint8_t> ToNumpy(sim::Image&& image) {
  auto* owner = new std::vector<uint8_t>(std::move(image.rgb));
  py::capsule free(owner, [](void* p) { delete static_cast<std::vector<uint8_t>*>(p); });
  return py::array_t<uint8_t>({image.height, image.width, 3}, owner->data(), free);
}

template <class T>
py::array_t<T> ToNumpy(const std::vector<T>& v) {
  return py::array_t<T>(static_cast<py::ssize_t>(v.size()), v.data());
}

class PyController {
 public:
  PyController(const std::string& checkpoint, const ControllerOptions& options) {
    py::gil_scoped_release release;
    controller_ = std::make_unique<Controller>(checkpoint, options);
  }
  void SetGoal(const py::handle& image) {
    const Bytes goal = AsImage(image, "goal image");
    py::gil_scoped_release release;
    std::lock_guard<std::mutex> lock(mu_);
    controller_->SetGoal(View(goal));
  }
  py::array_t<float> Act(const py::handle& image, const std::optional<std::vector<double>>& joint_state,
                         const std::optional<std::vector<double>>& hand) {
    const Bytes observation = AsImage(image, "image");
    std::vector<float> action;
    {
      py::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(mu_);
      action = controller_->Act(View(observation), joint_state.value_or(std::vector<double>{}),
                                hand.value_or(std::vector<double>{}));
    }
    return ToNumpy(action);
  }
  double Energy(const py::handle& image) {
    const Bytes observation = AsImage(image, "image");
    py::gil_scoped_release release;
    std::lock_guard<std::mutex> lock(mu_);
    return controller_->Energy(View(observation));
  }
  void SetAppliedAction(const std::vector<float>& action) {
    std::lock_guard<std::mutex> lock(mu_);
    controller_->SetAppliedAction(action);
  }
  void Reset() {
    std::lock_guard<std::mutex> lock(mu_);
    controller_->Reset();
  }
  void Reseed(uint64_t seed) {
    std::lock_guard<std::mutex> lock(mu_);
    controller_->Reseed(seed);
  }
  ActInfo Last() {
    std::lock_guard<std::mutex> lock(mu_);
    return controller_->last();
  }
  const Controller& get() const { return *controller_; }

 private:
  std::unique_ptr<Controller> controller_;
  std::mutex mu_;
};

// A task as a gymnasium-style environment: reset, step, the goal image, rendering.
class Env {
 public:
  Env(const std::string& task, const std::optional<std::string>& robot, uint64_t seed, int image_size)
      : seed_(seed), image_size_(image_size) {
    if (image_size < 8) {
      throw std::invalid_argument("image_size is " + std::to_string(image_size) + ", expected at least 8 pixels");
    }
    py::gil_scoped_release release;
    sim::TaskRegistry().Get(task);  // an unknown task names the known ones
    task_ = sim::MakeTask(task, {std::max(256, image_size), "", robot.value_or(""), ""});
    sim::RenderOptions ro;
    ro.width = ro.height = image_size;
    renderer_ = std::make_unique<sim::Renderer>(task_->sim().model(), ro);
    ResetUnlocked(seed);
  }

  py::dict Reset(const std::optional<uint64_t>& seed) {
    {
      py::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(mu_);
      ResetUnlocked(seed.value_or(++seed_));
    }
    return Observation();
  }

  py::tuple Step(const std::vector<double>& action) {
    const int A = task_->action_dim();
    if (static_cast<int>(action.size()) != A) {
      throw std::invalid_argument("action has " + std::to_string(action.size()) + " values, expected " +
                                  std::to_string(A));
    }
    for (double v : action) {
      if (!std::isfinite(v)) throw std::invalid_argument("action holds a non-finite value");
    }
    bool success = false, done = false;
    double distance = 0;
    const auto t0 = std::chrono::steady_clock::now();
    {
      py::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(mu_);
      if (step_ >= task_->info().episode_steps) {
        throw std::logic_error("the episode is over (" + std::to_string(step_) + " steps): call reset()");
      }
      Eigen::VectorXd a(A);
      for (int i = 0; i < A; ++i) a[i] = std::clamp(action[i], -1.0, 1.0);
      task_->Step(a);
      ++step_;
      success = task_->Success();
      distance = task_->Distance();
      done = step_ >= task_->info().episode_steps;
    }
    const double physics = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    py::dict obs = Observation();
    py::dict info;
    info["distance"] = distance;
    info["step"] = step_;
    // The C++ work of this call (physics, rendering, reading the state), without Python's share.
    info["seconds"] = physics + observation_seconds_;
    // Success counts at the end of the episode, as every binary judges it.
    return py::make_tuple(obs, success, done, info);
  }

  py::array_t<uint8_t> Render(int size) {
    if (size < 8 || size > std::max(256, image_size_)) {
      throw std::invalid_argument("render size is " + std::to_string(size) + ", expected 8.." +
                                  std::to_string(std::max(256, image_size_)));
    }
    sim::Image image;
    {
      py::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(mu_);
      // One view renderer, made again only when the size changes: a GL context per call would
      // cost more than the render in a loop that draws every step.
      if (!view_renderer_ || view_renderer_->width() != size) {
        sim::RenderOptions ro;
        ro.width = ro.height = size;
        view_renderer_ = std::make_unique<sim::Renderer>(task_->sim().model(), ro);
      }
      image = view_renderer_->Render(task_->sim().data(), task_->sim().camera_ids());
    }
    return ToNumpy(std::move(image));
  }

  py::array_t<uint8_t> GoalImage() {
    std::lock_guard<std::mutex> lock(mu_);
    return py::array_t<uint8_t>({image_size_, image_size_, 3}, goal_.rgb.data());
  }
  const sim::Task& task() const { return *task_; }
  int step() const { return step_; }
  double Distance() {
    std::lock_guard<std::mutex> lock(mu_);
    return task_->Distance();
  }

 private:
  void ResetUnlocked(uint64_t seed) {
    task_->Reset(seed);
    step_ = 0;
    goal_ = task_->RenderGoal(*renderer_);
  }
  py::dict Observation() {
    sim::Image image;
    std::vector<double> joints, ee(3), objects;
    {
      py::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(mu_);
      const auto t0 = std::chrono::steady_clock::now();
      sim::Simulation& s = task_->sim();
      image = renderer_->Render(s.data(), s.camera_ids());
      joints = s.joint_state();
      const Eigen::Vector3d p = s.ee_pos();
      ee = {p[0], p[1], p[2]};
      for (int o = 0; o < s.num_objects(); ++o) {
        const Eigen::Vector3d q = s.object_pos(o);
        objects.insert(objects.end(), {q[0], q[1], q[2]});
      }
      observation_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    py::dict obs;
    obs["image"] = ToNumpy(std::move(image));
    obs["joint_state"] = ToNumpy(joints);
    obs["ee_pos"] = ToNumpy(ee);
    obs["object_pos"] = ToNumpy(objects).reshape({static_cast<py::ssize_t>(objects.size() / 3), py::ssize_t{3}});
    return obs;
  }

  std::unique_ptr<sim::Task> task_;
  std::unique_ptr<sim::Renderer> renderer_;
  std::unique_ptr<sim::Renderer> view_renderer_;  // render(size)
  sim::Image goal_;
  uint64_t seed_;
  int image_size_;
  int step_ = 0;
  double observation_seconds_ = 0;
  std::mutex mu_;
};

}  // namespace

PYBIND11_MODULE(jepa_mpc, m) {
  m.doc() = "jepa-mpc: plan to a goal image in a learned world model (the controller) and the simulated tasks";

  py::class_<ActInfo>(m, "ActInfo", "What the last act() did.")
      .def_readonly("energy", &ActInfo::energy, "distance of the image's embedding to the goal's")
      .def_readonly("planned_cost", &ActInfo::planned_cost, "the chosen plan's cost in the model")
      .def_readonly("seconds", &ActInfo::seconds, "wall time of act(), encoding included")
      .def_readonly("iterations", &ActInfo::iterations, "planner iterations run")
      .def_readonly("fallback", &ActInfo::fallback, "every candidate cost was non-finite: the action is zero")
      .def("__repr__", [](const ActInfo& a) {
        return "ActInfo(energy=" + std::to_string(a.energy) + ", planned_cost=" + std::to_string(a.planned_cost) +
               ", seconds=" + std::to_string(a.seconds) + ", iterations=" + std::to_string(a.iterations) +
               ", fallback=" + (a.fallback ? "True" : "False") + ")";
      });

  py::class_<PyController>(m, "Controller",
                           "Goal-image control: set_goal(image) once, then act(image[, joint_state]) each step.")
      .def(py::init([](const std::string& checkpoint, const std::string& planner, int horizon, int samples,
                       int elites, int iterations, int action_repeat, double time_budget, uint64_t seed,
                       bool sum_over_horizon, bool l1, int withdraw_steps, std::vector<float> withdraw_action,
                       std::vector<std::string> ensemble, double disagreement_weight, double temperature,
                       double arm_weight, bool bfloat16, double reach_fade, double contact_height) {
             ControllerOptions o;
             o.planner = planner;
             o.horizon = horizon;
             o.samples = samples;
             o.elites = elites;
             o.iterations = iterations;
             o.action_repeat = action_repeat;
             o.time_budget = time_budget;
             o.seed = seed;
             o.sum_over_horizon = sum_over_horizon;
             o.l1 = l1;
             o.withdraw_steps = withdraw_steps;
             o.withdraw_action = std::move(withdraw_action);
             o.ensemble = std::move(ensemble);
             o.disagreement_weight = disagreement_weight;
             o.temperature = temperature;
             o.arm_weight = arm_weight;
             o.bfloat16 = bfloat16;
             o.reach_fade = reach_fade;
             o.contact_height = contact_height;
             return std::make_unique<PyController>(checkpoint, o);
           }),
           py::arg("checkpoint"), py::kw_only(), py::arg("planner") = "cem", py::arg("horizon") = ControllerOptions{}.horizon,
           py::arg("samples") = 0, py::arg("elites") = 0, py::arg("iterations") = ControllerOptions{}.iterations,
           py::arg("action_repeat") = 1, py::arg("time_budget") = ControllerOptions{}.time_budget, py::arg("seed") = 0, py::arg("sum_over_horizon") = true,
           py::arg("l1") = false, py::arg("withdraw_steps") = 0, py::arg("withdraw_action") = std::vector<float>{},
           py::arg("ensemble") = std::vector<std::string>{}, py::arg("disagreement_weight") = 0.0,
           py::arg("temperature") = 0.0, py::arg("arm_weight") = 0.0, py::arg("bfloat16") = false,
           py::arg("reach_fade") = ControllerOptions{}.reach_fade,
           py::arg("contact_height") = ControllerOptions{}.contact_height)
      .def("set_goal", &PyController::SetGoal, py::arg("image"),
           "Sets the goal image (H x W x 3 uint8, the model's size) and starts a new episode.")
      .def("act", &PyController::Act, py::arg("image"), py::arg("joint_state") = py::none(),
           py::arg("hand") = py::none(),
           "The next action (float32, each in [-1, 1]) for this camera image; joint_state: the arm's joint "
           "angles (and finger opening) when the model needs them (proprio_dim > 0); hand: the end effector's "
           "position in metres (Env's obs['ee_pos']) when the model reads the hand from the robot (hand_dim > 0).")
      .def("energy", &PyController::Energy, py::arg("image"), "Latent distance of an image to the goal.")
      .def("set_applied_action", &PyController::SetAppliedAction, py::arg("action"),
           "Records the action the robot actually applied after the last act().")
      .def("reset", &PyController::Reset, "Forgets the frame history and the warm start.")
      .def("reseed", &PyController::Reseed, py::arg("seed"), "Starts the planner's random stream anew.")
      .def_property_readonly("last", &PyController::Last, "ActInfo of the last act()")
      .def_property_readonly("robot", [](const PyController& c) { return c.get().robot(); })
      .def_property_readonly("task", [](const PyController& c) { return c.get().task(); })
      .def_property_readonly("camera", [](const PyController& c) { return c.get().camera(); })
      .def_property_readonly("image_size", [](const PyController& c) { return c.get().image_size(); })
      .def_property_readonly("action_dim", [](const PyController& c) { return c.get().action_dim(); })
      .def_property_readonly("proprio_dim", [](const PyController& c) { return c.get().proprio_dim(); })
      .def_property_readonly("hand_dim", [](const PyController& c) { return c.get().hand_dim(); });

  py::class_<Env>(m, "Env", "A simulated task: reset(seed) -> obs, step(action) -> (obs, success, done, info).")
      .def(py::init<const std::string&, const std::optional<std::string>&, uint64_t, int>(), py::arg("task"),
           py::arg("robot") = py::none(), py::arg("seed") = 0, py::arg("image_size") = 64)
      .def("reset", &Env::Reset, py::arg("seed") = py::none(),
           "A new episode (start and goal from seed; the next seed when None); returns the observation.")
      .def("step", &Env::Step, py::arg("action"),
           "Applies one action (clipped to [-1, 1]); returns (obs, success, done, info). success is the task's "
           "rule now; an episode counts as a success when it holds at done.")
      .def("render", &Env::Render, py::arg("size") = 256, "The camera view at size x size (uint8).")
      .def_property_readonly("goal_image", &Env::GoalImage, "The goal image (image_size x image_size x 3 uint8).")
      .def_property_readonly("action_dim", [](const Env& e) { return e.task().action_dim(); })
      .def_property_readonly("episode_steps", [](const Env& e) { return e.task().info().episode_steps; })
      .def_property_readonly("success_rule", [](const Env& e) { return e.task().info().success_rule; })
      .def_property_readonly("robot", [](const Env& e) { return e.task().sim().spec().name; })
      .def_property_readonly("camera", [](const Env& e) { return e.task().sim().camera_label(); })
      .def_property_readonly("step_count", &Env::step)
      .def_property_readonly("distance", &Env::Distance, "The task's distance to the goal now (m).");

  m.def("set_num_threads", [](int n) {
    if (n < 1) throw std::invalid_argument("set_num_threads: expected at least 1, got " + std::to_string(n));
    at::set_num_threads(n);
  }, py::arg("n"), "Torch's thread pool size (the application's choice, as in C++).");
  m.def("tasks", [] { return sim::TaskRegistry().Known(); }, "The registered tasks.");
}
