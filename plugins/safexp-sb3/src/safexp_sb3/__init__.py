"""safexp learners built on stable-baselines3 and sb3-contrib.

The registry names (``ppo_lag``, ``trpo_lag``, ``pid_lag``, ``cpo``, ``ppo``, ``trpo``, ...) are registered
by :mod:`safexp_sb3.plugin`, their hyperparameter records in :mod:`safexp_sb3.hyperparameters` and
:mod:`safexp_sb3.rnn_hyperparameters`; one module per learner (``ppo_lag``, ``ppo_lag_rnn``, ``trpo_lag``, ``cpo``,
``sac_lag``, ``sac_lag_rnn`` with its Ray actors in ``actor_learner``, ``baselines``); the building blocks they call
are :mod:`safexp_sb3.costs` (reading costs, the episode-cost
monitor), :mod:`safexp_sb3.cost_critic`, :mod:`safexp_sb3.cost_buffer` (rollout buffer with costs, advantages),
:mod:`safexp_sb3.rollouts` (on-policy collection; :mod:`safexp_sb3.recurrent_rollouts` its recurrent form),
:mod:`safexp_sb3.on_policy_costs` (the on-policy learners' cost
side, one component), :mod:`safexp_sb3.rollout_tensors`, :mod:`safexp_sb3.policy_update` and :mod:`safexp_sb3.mlp_gradients` (the lean
minibatch update, its gradients derived by hand), :mod:`safexp_sb3.multipliers` and
:mod:`safexp_sb3.constraints` (Lagrange multipliers) and :mod:`safexp_sb3.checkpoints` (safe save and load).
"""
