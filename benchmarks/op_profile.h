// Operator times and FLOP counts from LibTorch's profiler, for the benchmarks.
#pragma once

#include <torch/csrc/autograd/profiler_kineto.h>
#include <torch/torch.h>

#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace jepa_mpc::bench {

struct OpTime {
  double self_us = 0, total_us = 0;
  int64_t calls = 0;
  double flops = 0;  // the profiler's count for the forward operators it knows (conv, mm, addmm)
  double image_flops = 0;  // of it, in calls whose input is an image [B, 3, H, W]
};

// Operator self times over the calls of fn made while profiling, per call of fn.
inline std::map<std::string, OpTime> ProfileOps(const std::function<void()>& fn, int reps) {
  namespace prof = torch::autograd::profiler;
  namespace pimpl = torch::profiler::impl;
  pimpl::ProfilerConfig config(pimpl::ProfilerState::KINETO, /*report_input_shapes=*/true,
                               /*profile_memory=*/false, /*with_stack=*/false, /*with_flops=*/true);
  prof::prepareProfiler(config, {pimpl::ActivityType::CPU});
  prof::enableProfiler(config, {pimpl::ActivityType::CPU});
  for (int i = 0; i < reps; ++i) fn();
  auto result = prof::disableProfiler();
  struct Ev {
    uint64_t thread, start, duration;
    std::string name;
    double flops;
    bool image_input;
  };
  std::vector<Ev> events;
  for (const auto& e : result->events()) {
    bool image = false;
    if (e.hasShapes() && !e.shapes().empty() && e.shapes()[0].size() == 4 && e.shapes()[0][1] == 3) image = true;
    events.push_back({e.startThreadId(), e.startUs(), e.durationUs(), e.name(), static_cast<double>(e.flops()), image});
  }
  // By thread and start; of two events starting together, the longer (the enclosing) first.
  std::sort(events.begin(), events.end(), [](const Ev& a, const Ev& b) {
    return std::tie(a.thread, a.start, b.duration) < std::tie(b.thread, b.start, a.duration);
  });
  std::map<std::string, OpTime> ops;
  // Self time: an event's duration less its direct children's (events nested in it on its thread).
  std::vector<size_t> stack;
  std::vector<double> child(events.size(), 0.0);
  for (size_t i = 0; i < events.size(); ++i) {
    const Ev& e = events[i];
    while (!stack.empty()) {
      const Ev& top = events[stack.back()];
      if (top.thread == e.thread && e.start < top.start + top.duration) break;
      stack.pop_back();
    }
    if (!stack.empty()) child[stack.back()] += static_cast<double>(e.duration);
    stack.push_back(i);
  }
  for (size_t i = 0; i < events.size(); ++i) {
    OpTime& o = ops[events[i].name];
    o.total_us += static_cast<double>(events[i].duration) / reps;
    o.self_us += std::max(0.0, static_cast<double>(events[i].duration) - child[i]) / reps;
    o.calls += 1;
    o.flops += events[i].flops / reps;
    if (events[i].image_input) o.image_flops += events[i].flops / reps;
  }
  for (auto& [name, o] : ops) o.calls = (o.calls + reps - 1) / reps;
  return ops;
}

// Floating-point operations of one training step whose forward pass is `forward`: the forward's
// convolutions and matrix multiplies as the profiler counts them, and twice that for the backward
// (input and weight gradients), less the input gradients of the convolutions that read images.
inline double TrainingStepFlops(const std::function<void()>& forward) {
  const auto ops = ProfileOps(forward, 1);
  double flops = 0, image_conv = 0;
  for (const auto& [name, op] : ops) {
    // aten::matmul and aten::linear are counted by the mm / addmm they call.
    if (name == "aten::conv2d" || name == "aten::addmm" || name == "aten::mm" || name == "aten::bmm") {
      flops += op.flops;
    }
    if (name == "aten::conv2d") image_conv = op.image_flops;
  }
  return 3 * flops - image_conv;
}

// Multiply-adds x 2 of a module's linear layers for one input row (the predictor's cost per
// sample and step).
inline double LinearFlops(torch::nn::Module& module) {
  double flops = 0;
  for (const auto& m : module.modules(false)) {
    if (auto* linear = m->as<torch::nn::Linear>()) flops += 2.0 * linear->weight.numel();
  }
  return flops;
}

}  // namespace jepa_mpc::bench
