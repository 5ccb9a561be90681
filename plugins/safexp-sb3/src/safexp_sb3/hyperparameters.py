"""The hyperparameter records of this plugin's learners: the ``params`` schemas of its algorithm records.

Plain dataclasses with no learning library behind them, so that registering the learners (``safexp plugins``,
``safexp list algorithms``, config validation) imports neither torch nor stable-baselines3. Each field's
meaning and reference value is in its record's docstring; :mod:`safexp_sb3.params` turns a record into the
learner's constructor arguments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional

from safexp.plugin import bounded


@dataclass
class PolicyParams:
    """Network and statistics settings every learner has.

    :param net_arch: hidden layer sizes of the policy and of the reward critic (separate networks).
    :param activation: hidden activation: ``tanh``, ``relu`` or ``elu``.
    :param stats_window_size: finished episodes averaged by ``rollout/ep_rew_mean`` and ``rollout/ep_cost_mean``
        (and by the fallback J_c estimate of the constrained learners).
    """

    net_arch: List[int] = bounded(default_factory=lambda: [64, 64], ge=1)
    activation: str = "tanh"
    stats_window_size: int = bounded(100, ge=1)


@dataclass
class CostLimitParams:
    """The episode cost limit of every constraint.

    :param cost_limit: episode cost limit d of every constraint (undiscounted; Safety Gym: 25 per 1000-step
        episode).
    :param cost_limits: per-constraint limits, constraint name → limit; when given it replaces ``cost_limit``
        and must name every constraint of the env.
    """

    cost_limit: float = bounded(25.0, ge=0)
    cost_limits: Dict[str, float] = bounded(default_factory=dict, ge=0)


@dataclass
class MultiplierOverrides:
    """Settings replacing those of the chosen multiplier preset; an unset one (``None``) keeps the preset's.

    Gradient presets (``omnisafe``, ``safety_starter_agents``, ``sgd``) take ``init``, ``lr``,
    ``parameterisation``, ``optimizer``, ``max_value`` and ``cost_ema``; PID presets (``pid``, ``pid_trpo``) take
    ``init``, ``kp``, ``ki``, ``kd``, ``d_delay``, ``ema``, ``ema_d``, ``max_value`` and ``cost_ema``. Setting one
    that the preset's kind lacks is an error when the learner is built.

    :param init: the initial λ.
    :param lr: step size of the gradient multiplier's optimiser.
    :param parameterisation: ``softplus`` (λ = softplus(p)) or ``clamp`` (λ = max(0, p)).
    :param optimizer: ``adam`` or ``sgd`` (λ moves ``lr`` per unit of violation).
    :param max_value: the largest λ (the PID's penalty maximum).
    :param kp: PID proportional gain.
    :param ki: PID integral gain.
    :param kd: PID derivative gain.
    :param d_delay: updates back that the PID derivative compares the smoothed cost with.
    :param ema: PID smoothing of the proportional term.
    :param ema_d: PID smoothing of the cost the derivative reads.
    :param cost_ema: smoothing of the episode cost estimates fed to the multiplier (``0``: none).
    """

    init: Optional[float] = bounded(None, ge=0)
    lr: Optional[float] = bounded(None, ge=0)
    parameterisation: Optional[str] = None
    optimizer: Optional[str] = None
    max_value: Optional[float] = bounded(None, gt=0)
    kp: Optional[float] = bounded(None, ge=0)
    ki: Optional[float] = bounded(None, ge=0)
    kd: Optional[float] = bounded(None, ge=0)
    d_delay: Optional[int] = bounded(None, ge=1)
    ema: Optional[float] = bounded(None, ge=0, lt=1)
    ema_d: Optional[float] = bounded(None, ge=0, lt=1)
    cost_ema: Optional[float] = bounded(None, ge=0, lt=1)


@dataclass
class MultiplierParams:
    """The Lagrange multiplier of every constraint (:mod:`safexp_sb3.multipliers`).

    :param multiplier: preset: ``omnisafe`` (λ clamped at 0, init 0.001, Adam lr 0.035),
        ``safety_starter_agents`` (λ = softplus(p), init 1, Adam lr 0.05 on p), ``sgd`` (clamp, init 0, plain
        gradient lr 0.01: λ moves 0.01 per unit of violation), ``pid`` (OmniSafe's CPPOPID gains, Stooke et al.:
        kp 0.1, ki 0.01, kd 0.01, d_delay 10, ema 0.95, max 100, init 0.001) or ``pid_trpo`` (OmniSafe's TRPOPID
        gains: as ``pid`` with kp 0.01).
    :param multiplier_settings: settings replacing the preset's (:class:`MultiplierOverrides`), e.g.
        ``{lr: 0.01, init: 0.5}``, ``{kp: 0.05}`` for ``pid``, or ``{cost_ema: 0.9}`` for any preset.
    """

    multiplier: str = "omnisafe"
    multiplier_settings: MultiplierOverrides = field(default_factory=MultiplierOverrides)


@dataclass
class OnPolicyParams(PolicyParams):
    """What PPO and TRPO share: :class:`PolicyParams` and the rollout and its reward advantages.

    :param n_steps: env steps per env per update (reference 20,000 in total).
    :param gamma: reward discount γ.
    :param gae_lambda: GAE λ of the reward advantages.
    :param normalize_advantage: standardise the reward advantages.
    """

    n_steps: int = bounded(20000, ge=1)
    gamma: float = bounded(0.99, ge=0, le=1)
    gae_lambda: float = bounded(0.95, ge=0, le=1)
    normalize_advantage: bool = True


@dataclass
class PPOParams(OnPolicyParams):
    """Hyperparameters of PPO (``ppo``): :class:`OnPolicyParams` and these.

    :param learning_rate: Adam step size of the policy and the reward critic (reference 3e-4).
    :param batch_size: minibatch size (reference 64).
    :param n_epochs: passes over the rollout per update (reference 40).
    :param clip_range: PPO ratio clip ε.
    :param ent_coef: entropy bonus coefficient.
    :param vf_coef: weight of the reward-critic loss.
    :param max_grad_norm: gradient-norm clip (reference 40).
    :param target_kl: stop the epochs of an update early once the approximate KL exceeds 1.5 × this
        (reference 0.02); ``None`` never stops.
    """

    learning_rate: float = bounded(3e-4, gt=0)
    batch_size: int = bounded(64, ge=2)
    n_epochs: int = bounded(40, ge=1)
    clip_range: float = bounded(0.2, gt=0)
    ent_coef: float = bounded(0.0, ge=0)
    vf_coef: float = bounded(0.5, ge=0)
    max_grad_norm: float = bounded(40.0, gt=0)
    target_kl: Optional[float] = bounded(0.02, gt=0)


@dataclass
class TRPOParams(OnPolicyParams):
    """Hyperparameters of TRPO (``trpo``): :class:`OnPolicyParams` and these.

    :param learning_rate: Adam step size of the reward critic (reference 1e-3).
    :param batch_size: minibatch size of the critic regression (reference 128).
    :param n_critic_updates: passes over the rollout of the critic regression (reference 10).
    :param target_kl: the KL trust region δ (reference 0.01).
    :param cg_max_steps: conjugate-gradient iterations (reference 10 to 15).
    :param cg_damping: damping added to the KL Hessian (reference 0.1).
    :param line_search_shrinking_factor: backtracking factor (reference 0.8).
    :param line_search_max_iter: backtracking steps (reference 10).
    """

    learning_rate: float = bounded(1e-3, gt=0)
    batch_size: int = bounded(128, ge=1)
    n_critic_updates: int = bounded(10, ge=1)
    target_kl: float = bounded(0.01, gt=0)
    cg_max_steps: int = bounded(10, ge=1)
    cg_damping: float = bounded(0.1, ge=0)
    line_search_shrinking_factor: float = bounded(0.8, gt=0, lt=1)
    line_search_max_iter: int = bounded(10, ge=1)


@dataclass
class CostParams(CostLimitParams):
    """The constraint (:class:`CostLimitParams`: ``cost_limit``, ``cost_limits``) and the cost
    critic.

    :param cost_gamma: discount γ_c of the cost returns.
    :param cost_gae_lambda: GAE λ_c of the cost advantages.
    :param cost_critic_lr: Adam step size of the cost critic.
    :param cost_critic_net_arch: hidden layer sizes of the cost critic (its own network, one output per
        constraint).
    :param cost_critic_epochs: ``None``: the cost critic steps on every minibatch the reward critic steps on, in
        the same loop (``n_epochs`` or ``n_critic_updates`` passes, ending early with PPO's KL stop, as OmniSafe
        does); a number: its own schedule of that many passes after the update.
    :param cost_critic_batch_size: ``None``: as the reward critic (``batch_size``); a number: its own schedule
        with minibatches of that size.
    """

    cost_gamma: float = bounded(0.99, ge=0, le=1)
    cost_gae_lambda: float = bounded(0.95, ge=0, le=1)
    cost_critic_lr: float = bounded(1e-3, gt=0)
    cost_critic_net_arch: List[int] = bounded(default_factory=lambda: [64, 64], ge=1)
    cost_critic_epochs: Optional[int] = bounded(None, ge=1)
    cost_critic_batch_size: Optional[int] = bounded(None, ge=1)


@dataclass
class ObservationParams:
    """Observation normalisation of the constrained on-policy learners.

    :param normalize_observations: standardise the observations the policy and the critics see by their running
        mean and variance (clipped to ±10; OmniSafe's PointGoal1 setting); the statistics are saved with the
        learner.
    """

    normalize_observations: bool = False


@dataclass
class PPOLagParams(ObservationParams, MultiplierParams, CostParams, PPOParams):
    """Hyperparameters of PPO-Lagrangian (``ppo_lag``): those of :class:`PPOParams`, :class:`CostParams`,
    :class:`MultiplierParams` and :class:`ObservationParams`. The default preset is ``sgd``, chosen by measurement
    (README, "Lagrange multipliers"): on PointGoal1 it held the cost nearest the limit of the presets screened."""

    multiplier: str = "sgd"


@dataclass
class PIDLagParams(PPOLagParams):
    """Hyperparameters of PID-Lagrangian PPO (``pid_lag``): as :class:`PPOLagParams` with the ``pid`` preset."""

    multiplier: str = "pid"


@dataclass
class TRPOLagParams(ObservationParams, MultiplierParams, CostParams, TRPOParams):
    """Hyperparameters of TRPO-Lagrangian (``trpo_lag``): those of :class:`TRPOParams`, :class:`CostParams`,
    :class:`MultiplierParams` and :class:`ObservationParams`. The default preset is ``sgd``, and observation
    normalisation is on, both chosen by measurement (README, "Lagrange multipliers"): on PointGoal1 ``sgd`` held
    the cost near the limit, where ``omnisafe`` did not, and normalisation then doubled the return over 5e5–1e6
    steps at about the same cost (it did not help PPO-Lagrangian or CPO, which keep it off)."""

    multiplier: str = "sgd"
    normalize_observations: bool = True


@dataclass
class CPOParams(ObservationParams, CostParams, TRPOParams):
    """Hyperparameters of CPO (``cpo``): those of :class:`TRPOParams` (``target_kl`` is CPO's δ),
    :class:`CostParams` (one constraint: ``cost_limits`` may name at most one), :class:`ObservationParams` and
    these.

    :param learn_margin: learn a safety margin added to CPO's constraint value, safety-starter-agents'
        ``learn_margin``: ``margin ← max(0, margin + margin_lr·(J_c − d))`` at every update (``J_c`` smoothed first
        with ``cost_ema``). On by default, chosen
        by measurement (README, "Lagrange multipliers"): on PointGoal1 it brought the cost near the limit.
    :param margin_lr: the margin's step per unit of episode-cost violation (safety-starter-agents: 0.05).
    :param cost_ema: smoothing of the episode-cost estimates ``J_c`` over updates before ``c`` is formed,
        ``Ĵ ← cost_ema·Ĵ + (1 − cost_ema)·J_c`` (:class:`safexp_sb3.multipliers.SmoothedCost`; 0: this rollout's
        episodes alone, as the paper).
    """

    learn_margin: bool = True
    margin_lr: float = bounded(0.05, ge=0)
    cost_ema: float = bounded(0.0, ge=0, lt=1)


@dataclass
class SACParams(PolicyParams):
    """Hyperparameters of unconstrained SAC (``sac``); defaults follow OmniSafe's off-policy configuration.

    :param net_arch: hidden layer sizes of the actor and of every critic.
    :param activation: hidden activation: ``relu``, ``tanh`` or ``elu``.
    :param stats_window_size: finished episodes averaged by ``rollout/ep_rew_mean`` and ``rollout/ep_cost_mean``.
    :param learning_rate: Adam learning rate of the actor, the critics and the entropy coefficient.
    :param buffer_size: replay buffer capacity in transitions.
    :param learning_starts: env steps of uniformly random actions before the first gradient step.
    :param batch_size: transitions per gradient step.
    :param tau: Polyak coefficient of the target critics (``targ ← τ·net + (1 - τ)·targ``).
    :param gamma: reward discount γ.
    :param train_freq: env steps (per env) between two training phases.
    :param gradient_steps: gradient steps per training phase (``-1``: as many as env steps collected).
    :param ent_coef: entropy coefficient α: ``"auto"`` (learned, starting at 1), ``"auto_<init>"`` (learned,
        starting at ``<init>``) or a number (fixed).
    :param target_entropy: the entropy the learned α aims at: ``"auto"`` (−dim(action space)) or a number.
    :param target_update_interval: gradient steps between target-network updates.
    """

    net_arch: List[int] = bounded(default_factory=lambda: [256, 256], ge=1)
    activation: str = "relu"
    learning_rate: float = bounded(3e-4, gt=0)
    buffer_size: int = bounded(1_000_000, ge=1)
    learning_starts: int = bounded(10_000, ge=0)
    batch_size: int = bounded(256, ge=1)
    tau: float = bounded(0.005, gt=0, le=1)
    gamma: float = bounded(0.99, ge=0, le=1)
    train_freq: int = bounded(1, ge=1)
    gradient_steps: int = bounded(1, ge=-1)
    ent_coef: str = "auto"
    target_entropy: str = "auto"
    target_update_interval: int = bounded(1, ge=1)


@dataclass
class SACLagParams(MultiplierParams, CostLimitParams, SACParams):
    """Hyperparameters of SAC-Lagrangian (``sac_lag``): those of :class:`SACParams`, the constraint's
    (``cost_limit``, ``cost_limits``: :class:`CostLimitParams`), the multiplier's
    (``multiplier``, ``multiplier_settings``: :class:`MultiplierParams`) and these.

    :param cost_gamma: discount γ_c of the cost critics' target.
    :param multiplier_warmup_steps: env steps before λ is first updated. After it, λ is updated whenever
        episodes end, from the mean cost of the episodes finished since its previous update.
    :param normalize_actor_loss: divide the actor loss by ``1 + Σλ``.
    """

    cost_gamma: float = bounded(0.99, ge=0, le=1)
    multiplier_warmup_steps: int = bounded(10_000, ge=0)
    normalize_actor_loss: bool = True


@dataclass
class PPOLagRNNParams(MultiplierParams, CostLimitParams, PPOParams):
    """Hyperparameters of the recurrent PPO-Lagrangian (``ppo_lag_rnn``, :mod:`safexp_sb3.ppo_lag_rnn`): those of
    :class:`PPOParams` (``batch_size`` counts env steps per minibatch, cut into sequences that never cross an env's
    episode boundary; ``net_arch`` is the MLP after each LSTM), the constraint's (:class:`CostLimitParams`), the
    multiplier's (:class:`MultiplierParams`, default preset ``omnisafe``) and these.

    :param lstm_hidden_size: units of each LSTM layer (the actor and the critic have one LSTM each).
    :param n_lstm_layers: stacked LSTM layers of each.
    :param cost_gamma: discount γ_c of the cost returns.
    :param cost_gae_lambda: GAE λ_c of the cost advantages.
    :param cost_head_net_arch: hidden layer sizes of the cost value head, an MLP (the policy's activation) on the
        critic LSTM's output, one output per constraint.
    :param cost_head_lr: Adam step size of the cost value head (the critic LSTM it reads steps with the policy's
        optimiser).
    :param cost_vf_coef: weight of the cost value loss in the loss the critic LSTM learns from (``vf_coef`` weighs
        the reward value loss).
    """

    lstm_hidden_size: int = bounded(64, ge=1)
    n_lstm_layers: int = bounded(1, ge=1)
    cost_gamma: float = bounded(0.99, ge=0, le=1)
    cost_gae_lambda: float = bounded(0.95, ge=0, le=1)
    cost_head_net_arch: List[int] = bounded(default_factory=lambda: [64], ge=1)
    cost_head_lr: float = bounded(1e-3, gt=0)
    cost_vf_coef: float = bounded(0.5, ge=0)
