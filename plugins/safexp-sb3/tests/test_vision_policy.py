"""stable-baselines3's MultiInputPolicy works on vision observations as they are: a CNN on the RGB image, the
depth image and the vector flattened."""

import gymnasium
import safexp  # noqa: F401  (registers the safexp/ ids)
import numpy as np
import pytest
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.env_checker import check_env


def test_sb3_check_env_and_a_short_ppo_run_on_rgbd_vision():
    env = gymnasium.make("safexp/PointGoal1-v0", vision={"mode": "rgbd", "size": [36, 36]}, max_episode_steps=50)
    # Depth is float32 metres, which stable-baselines3 flattens rather than treating as an image; it says so.
    with pytest.warns(UserWarning) as warned:
        check_env(env.unwrapped, warn=True)
    messages = [str(warning.message) for warning in warned]
    assert len(messages) == 2 and all("observation" in m and "depth is an image" in m for m in messages), messages
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the learners' own setting (torch_threads); faster for networks this small
    try:
        model = PPO("MultiInputPolicy", env, n_steps=32, batch_size=32, n_epochs=1, seed=0, device="cpu",
                    policy_kwargs={"net_arch": [32], "features_extractor_kwargs": {"cnn_output_dim": 32}})
        assert type(model.policy.features_extractor.extractors["rgb"]).__name__ == "NatureCNN"
        model.learn(64)
    finally:
        torch.set_num_threads(threads)
    assert model.num_timesteps == 64
    obs, _ = env.reset(seed=1)
    action, _ = model.predict(obs, deterministic=True)
    assert env.action_space.contains(action.astype(np.float32))
    env.close()
