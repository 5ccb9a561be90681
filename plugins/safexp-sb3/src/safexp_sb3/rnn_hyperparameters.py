"""The hyperparameter record of the recurrent SAC-Lagrangian (``sac_lag_rnn``, :mod:`safexp_sb3.sac_lag_rnn`).

A plain dataclass (no torch), so that registering the learner imports no learning library. The defaults are the
paper's (Knight & Achiam, "Safely transferring to unsafe environments with constrained RL", Tables 2 and 3;
``shared/reference/safe-transfer.md``) where it gives one, and say so below where it does not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List

from safexp.plugin import bounded
from safexp_sb3.hyperparameters import MultiplierOverrides


@dataclass
class SACLagRNNParams:
    """Hyperparameters of the recurrent SAC-Lagrangian (``sac_lag_rnn``).

    Networks (SeLU activations throughout; Table 2 sizes):

    :param cnn_embedding: width of the linear layer after the Nature CNN of each image entry (512: 1.3e5
        parameters on the Nature CNN's 2×2×64 output of a 50×50 image, the paper's "CNN embedding").
    :param vector_net_arch: hidden layer sizes of the MLP on the vector entries of the observation (the robot's
        sensors and, with the feedback wrapper, the previous reward and costs); its last size is its output.
    :param gru_hidden: size of the GRU's hidden state (256: about 6.4e5 parameters on the default inputs, a 512-wide
        image embedding and a 64-wide vector MLP).
    :param head_net_arch: hidden layer sizes of the policy head and of each of the three Q heads (two reward,
        one cost), which read the GRU state (and, for the Q heads, the action).

    Learning (Table 3):

    :param learning_rate: Adam step size of the encoder, GRU and Q heads, and of the policy head (3e-4).
    :param ent_coef: the fixed entropy coefficient α (0.005).
    :param gamma: reward discount γ (the paper does not state it; 0.99).
    :param cost_gamma: discount γ_c of the cost Q target (0.99).
    :param tau: Polyak coefficient of the target network (``targ ← τ·net + (1 − τ)·targ``; not stated, 0.005).
    :param batch_size: sequences per gradient step (256).
    :param sequence_length: the backprop horizon: transitions per sampled sequence (30). Each sequence is
        unrolled from the hidden state the actor had at its first step (stored with it, no burn-in).
    :param buffer_size: replay capacity in stored rows per env (one per env step, plus one per finished episode
        for its final observation). The paper's learner replay holds 2e6; images take ``H·W·C`` values a row.
    :param learning_starts: env steps of uniformly random actions before the first gradient step (not stated).
    :param train_freq: env steps (per env) between two training phases.
    :param gradient_steps: gradient steps per training phase.
    :param stats_window_size: finished episodes averaged by ``rollout/ep_rew_mean`` and ``rollout/ep_cost_mean``.
    :param log_interval: finished episodes between two writes of the training log.

    The constraint:

    :param cost_limit: the per-step cost limit c of every constraint (0.01: 10 per 1000-step episode).
    :param cost_limits: per-constraint per-step limits, constraint name → limit; when given it replaces
        ``cost_limit`` and must name every constraint of the env.
    :param multiplier: the multiplier preset (:mod:`safexp_sb3.multipliers`): ``omnisafe`` (λ clamped at 0),
        ``safety_starter_agents``, ``sgd``, ``pid`` or ``pid_trpo``.
    :param multiplier_settings: overrides of the preset's settings. The default sets the Adam step size to the
        paper's 3e-4 (its λ and θ updates alternate with one learning rate); set ``lr: null`` for a PID preset.
    :param multiplier_source: what the multiplier is fed, in per-step cost units, against ``cost_limit``:
        ``q_cost`` (the paper's form: after every gradient step, ``(1 − γ_c)·mean Q_c(s, ã)`` over the batch, the
        discounted per-step cost the critic predicts for the current policy) or ``episode_cost`` (whenever
        episodes end, the cost per step of the episodes finished since the last update).
    :param normalize_actor_loss: divide the actor loss by ``1 + Σλ`` (OmniSafe's form; the paper does not).
    """

    cnn_embedding: int = bounded(512, ge=1)
    vector_net_arch: List[int] = bounded(default_factory=lambda: [64, 64], ge=1)
    gru_hidden: int = bounded(256, ge=1)
    head_net_arch: List[int] = bounded(default_factory=lambda: [512, 512], ge=1)
    learning_rate: float = bounded(3e-4, gt=0)
    ent_coef: float = bounded(0.005, ge=0)
    gamma: float = bounded(0.99, ge=0, le=1)
    cost_gamma: float = bounded(0.99, ge=0, lt=1)
    tau: float = bounded(0.005, gt=0, le=1)
    batch_size: int = bounded(256, ge=1)
    sequence_length: int = bounded(30, ge=1)
    buffer_size: int = bounded(2_000_000, ge=2)
    learning_starts: int = bounded(10_000, ge=0)
    train_freq: int = bounded(1, ge=1)
    gradient_steps: int = bounded(1, ge=1)
    stats_window_size: int = bounded(100, ge=1)
    log_interval: int = bounded(4, ge=1)
    cost_limit: float = bounded(0.01, ge=0)
    cost_limits: Dict[str, float] = field(default_factory=dict)
    multiplier: str = "omnisafe"
    multiplier_settings: MultiplierOverrides = field(default_factory=lambda: MultiplierOverrides(lr=3e-4))
    multiplier_source: str = "q_cost"
    normalize_actor_loss: bool = False
