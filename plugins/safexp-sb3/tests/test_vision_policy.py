"""stable-baselines3's MultiInputPolicy works on vision observations as they are: a CNN on the RGB image, the
depth image and the vector flattened."""

import gymnasium
import safexp  # noqa: F401  (registers the safexp/ ids)
import numpy as np
import pytest
from stable_baselines3 import PPO
from stable_baselines3.common.env_checker import check_env


def test_sb3_check_env_and_a_short_ppo_run_on_rgbd_vision():
    env = gymnasium.make("safexp/PointGoal1-v0", vision={"mode": "rgbd", "size": [36, 36]}, max_episode_steps=50)
    # Depth is float32 metres, which stable-baselines3 flattens rather than treating as an image; it says so.
    with pytest.warns(UserWarning, match="observation depth is an image but its `dtype` is"):
        check_env(env.unwrapped, warn=True)
    model = PPO("MultiInputPolicy", env, n_steps=32, batch_size=32, n_epochs=1, seed=0, device="cpu")
    assert type(model.policy.features_extractor.extractors["rgb"]).__name__ == "NatureCNN"
    model.learn(64)
    assert model.num_timesteps == 64
    obs, _ = env.reset(seed=1)
    action, _ = model.predict(obs, deterministic=True)
    assert env.action_space.contains(action.astype(np.float32))
    env.close()
