"""Deterministic evaluation episodes and the report a run's evaluation writes.

Evaluation episode ``i`` of a run with seed ``s`` resets its env with seed ``s + EVAL_SEED_OFFSET + i``, so
repeated evaluations of one policy give the same numbers and never reuse a training layout seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import gymnasium
import numpy as np

from safexp.plugin import Learner, get_registry
from safexp_experiments.config import ExperimentConfig, load_config
from safexp_experiments.envs import env_label, make_env, suite_name
from safexp_experiments.metrics import normalize
from safexp_experiments.runs import RunDir, RunDirError, write_json
from safexp_sb3.learner import SB3Learner

EVAL_SEED_OFFSET = 1_000_000


class Policy(Protocol):
    """What playing episodes needs of a policy: :meth:`safexp.plugin.Learner.predict`."""

    def predict(self, observation: Any, deterministic: bool = True, episode_start: bool = False) -> np.ndarray: ...


@dataclass(frozen=True)
class EpisodeStats:
    """Per-episode return, cost and length of a set of episodes."""

    returns: tuple[float, ...]
    costs: tuple[float, ...]
    lengths: tuple[int, ...]

    def summary(self) -> dict[str, float | int]:
        """Mean and (population) standard deviation of return and cost, mean length, episode count."""
        return {
            "episodes": len(self.returns),
            "return_mean": float(np.mean(self.returns)), "return_std": float(np.std(self.returns)),
            "cost_mean": float(np.mean(self.costs)), "cost_std": float(np.std(self.costs)),
            "length_mean": float(np.mean(self.lengths)),
        }


def run_episodes(policy: Policy, env: gymnasium.Env, episodes: int, seed: int, deterministic: bool = True) -> EpisodeStats:
    """Play ``episodes`` episodes of ``policy`` (a :class:`~safexp.plugin.Learner`, or anything with its
    ``predict``) on ``env``.

    :param seed: episode ``i`` resets with ``seed + i``.
    :return: the return (sum of rewards), cost (sum of ``info["cost"]``) and length of each episode.
    """
    returns, costs, lengths = [], [], []
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed + episode)
        total_reward = total_cost = 0.0
        steps, done = 0, False
        while not done:
            action = policy.predict(obs, deterministic=deterministic, episode_start=steps == 0)
            obs, reward, terminated, truncated, info = env.step(action)
            total_reward += float(reward)
            total_cost += float(info.get("cost", 0.0))
            steps += 1
            done = terminated or truncated
        returns.append(total_reward)
        costs.append(total_cost)
        lengths.append(steps)
    return EpisodeStats(tuple(returns), tuple(costs), tuple(lengths))


def evaluation_report(config: ExperimentConfig, stats: EpisodeStats, steps: int, train_cost_rate: float | None) -> dict[str, Any]:
    """The machine-readable result of an evaluation.

    :param steps: the env steps the evaluated policy was trained for.
    :param train_cost_rate: all training cost / all training env steps (``None`` when unknown).
    :return: env (its label and suite name), algorithm, seed, steps, the :meth:`EpisodeStats.summary`
        figures, the training cost rate and, for a suite env, ``metrics`` with ``J_r``, ``M_c``, ``rho_c``.
    """
    summary = stats.summary()
    name = suite_name(config.env)
    metrics = None
    if name is not None and train_cost_rate is not None:
        normalized = normalize(name, summary["return_mean"], summary["cost_mean"], train_cost_rate)
        metrics = normalized.as_dict() if normalized else None
    return {
        "env": env_label(config.env), "suite_env": name, "algo": config.algo, "seed": config.run.seed,
        "steps": int(steps), **summary, "train_cost_rate": train_cost_rate, "metrics": metrics,
        "episode_returns": list(stats.returns), "episode_costs": list(stats.costs),
    }


def load_policy(run: RunDir, config: ExperimentConfig) -> Learner:
    """The run's trained learner (final model, else latest checkpoint), without envs, to act."""
    spec = get_registry().get("algorithms", config.algo)
    return SB3Learner.load(spec, str(run.policy_file()), device=config.run.device)


def evaluate(run_dir: str | Path, episodes: int | None = None, write: bool = True) -> dict[str, Any]:
    """Evaluate a run's trained policy with deterministic actions.

    :param run_dir: a run directory made by :func:`safexp_experiments.train`.
    :param episodes: how many episodes (default: the run's ``eval_episodes``).
    :param write: also write the report to the run's ``eval.json``.
    :return: the report of :func:`evaluation_report`; ``train_cost_rate`` comes from the trainer state of
        the latest checkpoint.
    """
    run = RunDir.open(run_dir)
    config = load_config(run.config_source())
    try:
        checkpoint = run.latest_checkpoint()
    except RunDirError:
        if not run.model_file.is_file():
            raise
        checkpoint = None  # the final model can still be evaluated, without the training cost rate
    state = checkpoint.trainer_state() if checkpoint else {}
    model = load_policy(run, config)
    env = make_env(config.env, scene=config.scene)
    try:
        stats = run_episodes(model, env, episodes or config.run.eval_episodes, config.run.seed + EVAL_SEED_OFFSET)
    finally:
        env.close()
    report = evaluation_report(config, stats, model.num_timesteps, train_cost_rate(state))
    report["run_dir"] = str(run.path)
    if write:
        write_json(run.eval_file, report)
    return report


def train_cost_rate(trainer_state: dict[str, Any]) -> float | None:
    """Safety Gym's training cost rate from a trainer state: all training cost / all training env steps (as the
    learner counted it), ``None`` when unknown."""
    rate = trainer_state.get("train_cost_rate")
    return None if rate is None else float(rate)


def format_report(report: dict[str, Any]) -> str:
    """A few readable lines: mean ± std return and cost, the training cost rate and the normalised metrics."""
    lines = [f"{report['env']} · {report['algo']} · seed {report['seed']} · {report['steps']:,} steps · "
             f"{report['episodes']} deterministic episode{'s' if report['episodes'] != 1 else ''}",
             f"  return {report['return_mean']:.3f} ± {report['return_std']:.3f}    "
             f"cost {report['cost_mean']:.3f} ± {report['cost_std']:.3f}"]
    if report.get("train_cost_rate") is not None:
        lines.append(f"  training cost rate {report['train_cost_rate']:.4f}")
    metrics = report.get("metrics")
    if metrics:
        lines.append(f"  Safety Gym ({report['suite_env']}): J_r {metrics['J_r']:.3f}   M_c {metrics['M_c']:.3f}   "
                     f"rho_c {metrics['rho_c']:.3f}")
    else:
        lines.append("  (no normalised metrics: not an unmodified Safety Gym suite env with reference scores)")
    return "\n".join(lines)
