"""Videos of episodes: a random policy on an env id, or a trained run's deterministic policy, headless.

Frames come from the env's ``rgb_array`` rendering (safexp envs show the red cost light on steps with cost)
and are encoded by the ffmpeg that ``imageio-ffmpeg`` ships: H.264 for ``.mp4``, a palette GIF for ``.gif``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium
import imageio_ffmpeg
import numpy as np

from safexp.plugin import ParameterError, UnknownComponentError, choices_hint, nearest_first

FORMATS = {
    ".mp4": {"codec": "libx264", "pix_fmt_out": "yuv420p", "quality": 7, "macro_block_size": 2},
    ".gif": {"codec": "gif", "pix_fmt_out": "pal8", "quality": None, "macro_block_size": 1,
             "output_params": ["-filter_complex", "split[a][b];[a]palettegen[p];[b][p]paletteuse"]},
}
"""Output suffix → ffmpeg settings."""


@dataclass(frozen=True)
class Recording:
    """What :func:`record` wrote: the file, its frame count, the episodes' returns and costs."""

    path: Path
    frames: int
    returns: tuple[float, ...]
    costs: tuple[float, ...]


class RandomPolicy:
    """Uniformly random actions from a seeded copy of the action space (the ``predict`` surface)."""

    def __init__(self, action_space: gymnasium.Space, seed: int) -> None:
        self.action_space = action_space
        self.action_space.seed(seed)

    def predict(self, observation: Any, deterministic: bool = True, episode_start: bool = False) -> Any:
        return self.action_space.sample()


def resolve_env_id(name: str) -> str:
    """A Gymnasium id from an id or a suite name (``PointGoal1`` → ``safexp/PointGoal1-v0``)."""
    import safexp  # noqa: F401  (registers the suite ids)

    if name in gymnasium.registry:
        return name
    suite_id = f"safexp/{name}-v0"
    if suite_id in gymnasium.registry:
        return suite_id
    raise UnknownComponentError(f"'{name}' is neither a run directory nor a Gymnasium env id; "
                                f"{choices_hint(name, nearest_first(name, gymnasium.registry)[:12])}")


def record(source: str | Path, out: str | Path, episodes: int = 1, max_steps: int | None = None,
           seed: int = 0) -> Recording:
    """Render ``episodes`` episodes into a video file.

    :param source: a run directory (its trained policy, deterministic actions, its env config) or an env id
        or suite name (random actions).
    :param out: the ``.mp4`` or ``.gif`` to write (atomically).
    :param max_steps: cut each episode after this many steps (``None``: play it to the end).
    :param seed: episode ``i`` resets with ``seed + i``; the random policy is seeded with ``seed``.
    """
    from safexp_experiments.config import check_writable_dir, load_config
    from safexp_experiments.evaluation import load_policy
    from safexp_experiments.envs import make_env
    from safexp_experiments.runs import RunDir

    out = Path(out)
    if out.suffix.lower() not in FORMATS:
        raise ParameterError(f"cannot write '{out.name}': the video format comes from the suffix; "
                             f"{choices_hint(out.suffix.lower(), FORMATS)}")
    if episodes < 1 or (max_steps is not None and max_steps < 1):
        raise ParameterError(f"episodes and max_steps must be at least 1, got {episodes} and {max_steps}")
    check_writable_dir(out.parent, f"--out '{out}'")
    if Path(source).is_dir():
        run = RunDir.open(source)
        config = load_config(run.config_source())
        env = make_env(config.env, render_mode="rgb_array", scene=config.scene)
        policy: Any = load_policy(run, config)
    else:
        env = gymnasium.make(resolve_env_id(str(source)), render_mode="rgb_array")
        policy = RandomPolicy(env.action_space, seed)
    try:
        fps = int(env.metadata.get("render_fps") or 30)
        frames, returns, costs = [], [], []
        for episode in range(episodes):
            episode_frames, total_reward, total_cost = _play(env, policy, seed + episode, max_steps)
            frames.extend(episode_frames)
            returns.append(total_reward)
            costs.append(total_cost)
    finally:
        env.close()
    write_video(out, frames, fps)
    return Recording(out, len(frames), tuple(returns), tuple(costs))


def _play(env: gymnasium.Env, policy: Any, seed: int, max_steps: int | None) -> tuple[list[np.ndarray], float, float]:
    obs, _ = env.reset(seed=seed)
    frames = [env.render()]
    total_reward = total_cost = 0.0
    steps, done = 0, False
    while not done and (max_steps is None or steps < max_steps):
        action = policy.predict(obs, deterministic=True, episode_start=steps == 0)
        obs, reward, terminated, truncated, info = env.step(action)
        total_reward += float(reward)
        total_cost += float(info.get("cost", 0.0))
        frames.append(env.render())
        steps += 1
        done = terminated or truncated
    return frames, total_reward, total_cost


def write_video(out: Path, frames: Iterable[np.ndarray], fps: int) -> None:
    """Encode RGB frames (H×W×3 uint8, all one size) to ``out`` through a temporary file in its directory."""
    frames = list(frames)
    if not frames:
        raise ParameterError("no frames to write")
    height, width = frames[0].shape[:2]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.stem}.partial{out.suffix}")
    writer = imageio_ffmpeg.write_frames(str(tmp), (width, height), fps=fps, ffmpeg_log_level="error",
                                         **FORMATS[out.suffix.lower()])
    try:
        writer.send(None)
        for frame in frames:
            writer.send(np.ascontiguousarray(frame[..., :3], dtype=np.uint8))
        writer.close()
        tmp.replace(out)
    except BaseException:
        writer.close()
        tmp.unlink(missing_ok=True)
        raise


def read_video(path: str | Path) -> tuple[dict[str, Any], np.ndarray]:
    """Decode a video written by :func:`write_video`: its ffmpeg metadata and frames (N×H×W×3 uint8)."""
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    width, height = meta["size"]
    frames = [np.frombuffer(chunk, np.uint8).reshape(height, width, 3) for chunk in reader]
    return meta, np.stack(frames)
