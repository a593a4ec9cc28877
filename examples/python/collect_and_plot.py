#!/usr/bin/env python3
"""An Env loop with random actions, and a plot of the end effector's path (matplotlib, if installed).

    PYTHONPATH=build/python python3 examples/python/collect_and_plot.py --task reach2d --out path.png

Datasets written by `collect` are HDF5 files; read them with h5py (docs/formats.md has the layout):

    import h5py
    with h5py.File("data/reach2d.h5") as f:
        total = f["data"].attrs["total"]                   # complete episodes
        images = f["data/demo_0/obs/image"][:]             # T x H x W x 3 uint8
        actions = f["data/demo_0/actions"][:]              # T x A float32
"""
import argparse
import sys

import numpy as np

import jepa_mpc


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="reach2d", help="one of: " + jepa_mpc.tasks())
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="path.png")
    args = parser.parse_args()

    env = jepa_mpc.Env(args.task, seed=args.seed)
    rng = np.random.default_rng(args.seed)
    obs = env.reset(args.seed)
    path, done = [obs["ee_pos"]], False
    while not done:
        obs, _, done, info = env.step(rng.uniform(-1, 1, env.action_dim))
        path.append(obs["ee_pos"])
    path = np.array(path)
    print(f"{len(path) - 1} steps; end effector from {np.round(path[0], 3)} to {np.round(path[-1], 3)} m; "
          f"{info['distance'] * 100:.1f} cm from the goal")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (apt-get install python3-matplotlib): no plot written")
        return 0
    fig, (ax_path, ax_view) = plt.subplots(1, 2, figsize=(9, 4.5))
    ax_path.plot(path[:, 0], path[:, 1], ".-")
    ax_path.set_xlabel("x (m)")
    ax_path.set_ylabel("y (m)")
    ax_path.set_title("end effector, random actions")
    ax_path.set_aspect("equal")
    ax_view.imshow(env.render(256))
    ax_view.set_title("camera at the end")
    ax_view.axis("off")
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
