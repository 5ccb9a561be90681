"""safexp learners built on stable-baselines3 and sb3-contrib.

The registry names (``ppo_lag``, ``trpo_lag``, ``pid_lag``, ``cpo``, ``ppo``, ``trpo``, ...) are registered
by :mod:`safexp_sb3.plugin`; the building blocks other learners reuse are :mod:`safexp_sb3.multipliers`
(Lagrange multipliers) and :mod:`safexp_sb3.costs` (reading costs off a ``VecEnv``, episode costs).
"""
