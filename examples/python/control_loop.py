#!/usr/bin/env python3
"""The embedding example in Python: a trained model drives a simulated arm to goal images.

    PYTHONPATH=build/python python3 examples/python/control_loop.py runs/reach2d/checkpoint.pt

Swap jepa_mpc.Env for your robot's camera and joint readings: the controller needs only the image
(H x W x 3 uint8, the model's size) and, for models trained with it, the joint state.
"""
import argparse
import sys

import jepa_mpc


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", help="a trained model (train --out DIR writes DIR/checkpoint.pt)")
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--seed", type=int, default=100, help="goal seed of the first episode")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    jepa_mpc.set_num_threads(args.threads)
    controller = jepa_mpc.Controller(args.checkpoint)
    env = jepa_mpc.Env(controller.task, robot=controller.robot, image_size=controller.image_size)
    print(f"task {controller.task} on {controller.robot}: {env.success_rule}")
    successes = 0
    for episode in range(args.episodes):
        obs = env.reset(args.seed + episode)
        controller.set_goal(env.goal_image)
        start, done, success = env.distance, False, False
        while not done:
            action = controller.act(obs["image"], obs["joint_state"] if controller.proprio_dim else None)
            obs, success, done, info = env.step(action)
        successes += success
        print(f"episode {episode}: {start * 100:.1f} cm -> {env.distance * 100:.1f} cm, "
              f"{'reached' if success else 'missed'}, last plan {controller.last.seconds * 1000:.1f} ms")
    print(f"{successes}/{args.episodes} goals reached at the end of the episode")
    return 0


if __name__ == "__main__":
    sys.exit(main())
