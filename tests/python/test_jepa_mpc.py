"""The jepa_mpc Python module through ctest: a closed loop that reaches, every bad input raising
with its message, two threads sharing a controller, numpy layouts converted or refused."""
import os
import subprocess
import threading

import numpy as np
import pytest

import jepa_mpc

BINARIES = os.environ.get("JEPA_MPC_BINARIES", "")  # the folder holding collect and train


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A small reach2d model trained for this run (32 px, 60 episodes, 600 steps)."""
    folder = tmp_path_factory.mktemp("model")
    run = lambda *args: subprocess.run(args, check=True, capture_output=True, text=True)  # noqa: E731
    run(os.path.join(BINARIES, "collect"), "--task", "reach2d", "--episodes", "60", "--image-size", "32",
        "--out", str(folder / "data.h5"))
    run(os.path.join(BINARIES, "train"), "--data", str(folder / "data.h5"), "--out", str(folder / "model"),
        "--steps", "600", "--threads", "2")
    return str(folder / "model" / "checkpoint.pt")


@pytest.fixture(scope="module")
def controller(checkpoint):
    jepa_mpc.set_num_threads(1)
    # No time budget: the iterations run must not depend on the machine's load.
    return jepa_mpc.Controller(checkpoint, samples=64, iterations=2, time_budget=0, seed=0)


def test_env_reset_step_and_observation():
    env = jepa_mpc.Env("reach2d", seed=0, image_size=32)
    obs = env.reset(5)
    assert obs["image"].shape == (32, 32, 3) and obs["image"].dtype == np.uint8
    assert obs["joint_state"].shape == (2,)
    assert obs["ee_pos"].shape == (3,)
    assert obs["object_pos"].shape == (0, 3)
    assert env.goal_image.shape == (32, 32, 3)
    assert env.action_dim == 2 and env.episode_steps == 50
    before = obs["joint_state"].copy()
    obs, success, done, info = env.step([1.0, -1.0])
    assert not np.allclose(before, obs["joint_state"]), "the arm did not move"
    assert isinstance(success, bool) and done is False and info["step"] == 1
    assert info["distance"] == pytest.approx(env.distance)
    # The same seed gives the same start and goal.
    again = jepa_mpc.Env("reach2d", seed=0, image_size=32)
    assert np.array_equal(again.reset(5)["image"], env.reset(5)["image"])
    assert np.array_equal(again.goal_image, env.goal_image)
    assert env.render(64).shape == (64, 64, 3)


def test_episode_ends_and_refuses_more_steps():
    env = jepa_mpc.Env("reach2d", image_size=16)
    env.reset(1)
    done = False
    for _ in range(env.episode_steps):
        assert not done
        _, _, done, _ = env.step([0.0, 0.0])
    assert done
    with pytest.raises(RuntimeError, match="the episode is over"):
        env.step([0.0, 0.0])


def test_closed_loop_with_the_learned_controller_reduces_the_distance(controller):
    env = jepa_mpc.Env("reach2d", image_size=controller.image_size)
    reduced = 0
    for seed in range(3):
        obs = env.reset(100 + seed)
        controller.set_goal(env.goal_image)
        start = env.distance
        for _ in range(30):
            obs, _, _, _ = env.step(controller.act(obs["image"], obs["joint_state"]))
        reduced += env.distance < 0.5 * start
        assert controller.last.iterations == 2
        assert controller.last.seconds > 0 and np.isfinite(controller.last.energy)
    assert reduced >= 2, "the controller brought fewer than 2 of 3 goals within half their distance"


def test_bad_inputs_raise_with_their_message(controller, checkpoint):
    size = controller.image_size
    image = np.zeros((size, size, 3), np.uint8)
    with pytest.raises(RuntimeError, match="checkpoint"):
        jepa_mpc.Controller("/nonexistent/checkpoint.pt")
    with pytest.raises(ValueError, match="unknown planner 'nope'"):
        jepa_mpc.Controller(checkpoint, planner="nope")
    with pytest.raises(ValueError, match="withdraw action has 3 values, expected the model's 2"):
        jepa_mpc.Controller(checkpoint, withdraw_steps=2, withdraw_action=[0, 0, 1])
    withdrawing = jepa_mpc.Controller(checkpoint, samples=16, iterations=1, time_budget=0, withdraw_steps=2,
                                      withdraw_action=[0.0, -1.0])
    withdrawing.set_goal(image)
    assert withdrawing.act(image, np.zeros(controller.proprio_dim)).shape == (controller.action_dim,)
    with pytest.raises(ValueError, match="disagreement_weight needs ensemble checkpoints"):
        jepa_mpc.Controller(checkpoint, disagreement_weight=1.0)
    with pytest.raises(ValueError, match="temperature is mppi's option; cem has none"):
        jepa_mpc.Controller(checkpoint, temperature=2.0)
    # The arm weight reaches the goal cost, which refuses it for a model without an object group.
    with pytest.raises(ValueError, match="arm weight needs a model with an object group"):
        jepa_mpc.Controller(checkpoint, arm_weight=0.02)
    with pytest.raises(ValueError, match="arm weight must be a number >= 0"):
        jepa_mpc.Controller(checkpoint, arm_weight=-1.0)
    with pytest.raises(ValueError, match="reach fade must be a positive number of metres"):
        jepa_mpc.Controller(checkpoint, reach_fade=0.0)
    # The contact height reaches the goal cost, which refuses it for a model that does not read the hand.
    with pytest.raises(ValueError, match="contact height needs a push model"):
        jepa_mpc.Controller(checkpoint, contact_height=0.025)
    warm = jepa_mpc.Controller(checkpoint, planner="mppi", samples=16, iterations=1, time_budget=0, temperature=2.0)
    warm.set_goal(image)
    assert warm.act(image, np.zeros(controller.proprio_dim)).shape == (controller.action_dim,)
    reduced = jepa_mpc.Controller(checkpoint, samples=16, iterations=1, time_budget=0, bfloat16=True)
    reduced.set_goal(image)
    action = reduced.act(image, np.zeros(controller.proprio_dim))
    assert action.shape == (controller.action_dim,) and np.all(np.abs(action) <= 1)
    # The model's own checkpoint as a member: the same encoder, an ensemble of two equal predictors.
    ensemble = jepa_mpc.Controller(checkpoint, samples=16, iterations=1, time_budget=0, ensemble=[checkpoint],
                                   disagreement_weight=1.0)
    ensemble.set_goal(image)
    assert ensemble.act(image, np.zeros(controller.proprio_dim)).shape == (controller.action_dim,)
    fresh = jepa_mpc.Controller(checkpoint)
    with pytest.raises(RuntimeError, match="SetGoal before Act"):
        fresh.act(image, np.zeros(controller.proprio_dim))
    with pytest.raises(ValueError, match=r"must have shape \(H, W, 3\), got \(4, 4\)"):
        controller.set_goal(np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError, match="dtype uint8"):
        controller.set_goal(np.zeros((size, size, 3), np.float32))
    with pytest.raises(ValueError, match="numpy array"):
        controller.set_goal([[0, 0, 0]])
    with pytest.raises(ValueError, match=f"{size}x{size}"):
        controller.set_goal(np.zeros((size + 1, size, 3), np.uint8))
    controller.set_goal(image)
    with pytest.raises(ValueError, match="joint"):
        controller.act(image, [0.0] * (controller.proprio_dim + 1))
    # A model that reads the hand from the image refuses a hand position it cannot use.
    assert controller.hand_dim == 0
    with pytest.raises(ValueError, match="hand position has 3 values, the model expects 0"):
        controller.act(image, np.zeros(controller.proprio_dim), hand=[0.4, 0.0, 0.1])
    with pytest.raises(ValueError, match="unknown task 'fly'"):
        jepa_mpc.Env("fly")
    with pytest.raises(ValueError, match="unknown robot"):
        jepa_mpc.Env("reach2d", robot="r2d2")
    with pytest.raises(ValueError, match="image_size is 4"):
        jepa_mpc.Env("reach2d", image_size=4)
    env = jepa_mpc.Env("reach2d", image_size=16)
    with pytest.raises(ValueError, match="action has 3 values, expected 2"):
        env.step([0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="non-finite"):
        env.step([float("nan"), 0.0])


def test_strided_images_are_converted(controller):
    env = jepa_mpc.Env("reach2d", image_size=controller.image_size)
    obs = env.reset(7)
    controller.set_goal(env.goal_image)
    contiguous = controller.energy(obs["image"])
    # The same pixels in a Fortran-ordered copy and as a view with negative strides.
    assert controller.energy(np.asfortranarray(obs["image"])) == pytest.approx(contiguous)
    flipped_twice = obs["image"][::-1][::-1]
    assert controller.energy(flipped_twice) == pytest.approx(contiguous)
    assert controller.energy(obs["image"][::-1]) != pytest.approx(contiguous)


def test_one_controller_from_two_threads_does_not_deadlock(controller):
    env = jepa_mpc.Env("reach2d", image_size=controller.image_size)
    obs = env.reset(3)
    controller.set_goal(env.goal_image)
    errors, actions = [], []

    def loop():
        try:
            for _ in range(20):
                actions.append(controller.act(obs["image"], obs["joint_state"]))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=loop) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread is still waiting after 120 s"
    assert not errors
    assert len(actions) == 40 and all(a.shape == (2,) and np.all(np.abs(a) <= 1) for a in actions)
