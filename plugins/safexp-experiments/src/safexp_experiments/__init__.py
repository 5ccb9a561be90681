"""safexp-experiments: the experiment tooling of safexp, as a plugin.

Config composition (:mod:`~safexp_experiments.config`), run directories (:mod:`~safexp_experiments.runs`),
training and resuming (:mod:`~safexp_experiments.training`), evaluation and Safety Gym's normalised metrics
(:mod:`~safexp_experiments.evaluation`, :mod:`~safexp_experiments.metrics`), sweeps, plots and videos, and the
``safexp`` subcommands that drive them (:mod:`~safexp_experiments.plugin`).

The Python API mirrors the command line: :func:`train`, :func:`resume`, :func:`evaluate` (imported on first use:
they load the learners).
"""

from typing import Any

_LAZY = {"train": "safexp_experiments.training", "resume": "safexp_experiments.training",
         "evaluate": "safexp_experiments.evaluation"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'safexp_experiments' has no attribute '{name}'")
