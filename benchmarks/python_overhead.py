#!/usr/bin/env python3
"""What calling from Python adds: Controller.act and Env.step against the C++ work they wrap.

    PYTHONPATH=build/python python3 benchmarks/python_overhead.py runs/reach2d/checkpoint.pt [CALLS]

For each call, the Python wall time minus the time the C++ side measured for the same call
(Controller.last.seconds: Act() encoding included; info["seconds"]: the step's physics, rendering
and state reads). Prints the medians over CALLS calls (default 1000).
"""
import statistics
import sys
import time

import jepa_mpc


def main():
    checkpoint = sys.argv[1]
    calls = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    jepa_mpc.set_num_threads(2)
    controller = jepa_mpc.Controller(checkpoint)
    env = jepa_mpc.Env(controller.task, robot=controller.robot, image_size=controller.image_size)
    act_py, act_cpp, step_py, step_cpp = [], [], [], []
    seed = 0
    obs = env.reset(seed)
    controller.set_goal(env.goal_image)
    joints = (lambda o: o["joint_state"]) if controller.proprio_dim else (lambda o: None)
    for _ in range(calls):
        t0 = time.perf_counter()
        action = controller.act(obs["image"], joints(obs))
        act_py.append(time.perf_counter() - t0)
        act_cpp.append(controller.last.seconds)
        t0 = time.perf_counter()
        obs, _, done, info = env.step(action)
        step_py.append(time.perf_counter() - t0)
        step_cpp.append(info["seconds"])
        if done:
            seed += 1
            obs = env.reset(seed)
            controller.set_goal(env.goal_image)
    med = lambda v: statistics.median(v) * 1e3  # noqa: E731
    over = lambda p, c: statistics.median([a - b for a, b in zip(p, c)]) * 1e3  # noqa: E731
    print(f"{calls} calls, task {controller.task}, {controller.image_size} px")
    print(f"act:  Python {med(act_py):.3f} ms, C++ {med(act_cpp):.3f} ms, overhead {over(act_py, act_cpp):.3f} ms (median)")
    print(f"step: Python {med(step_py):.3f} ms, C++ {med(step_cpp):.3f} ms, overhead {over(step_py, step_cpp):.3f} ms (median)")


if __name__ == "__main__":
    main()
