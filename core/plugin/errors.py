"""The errors safexp raises for bad input, each naming what was wrong and the valid choices."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class SafexpError(Exception):
    """Base of every user-facing safexp error; the command line prints these without a traceback."""


class UnknownComponentError(SafexpError, KeyError):
    """A component name (robot, task, hazard, cost, algorithm, env) that no plugin provides."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class DuplicateComponentError(SafexpError):
    """Two plugins registered a component of the same kind under the same name."""


class ParameterError(SafexpError, ValueError):
    """A parameter that a component's schema does not have, or a value of the wrong type."""


class PluginLoadError(SafexpError):
    """A plugin that could not be imported or whose hook implementations are invalid (strict mode)."""


def nearest_first(name: str, choices: Iterable[str]) -> list[str]:
    """``choices`` sorted by similarity to ``name``, most similar first (ties keep alphabetical order)."""
    ordered = sorted(set(choices))
    return sorted(ordered, key=lambda c: -difflib.SequenceMatcher(None, name.lower(), c.lower()).ratio())


def choices_hint(name: str, choices: Iterable[str]) -> str:
    """``"did you mean 'x'? valid choices: x, y, z"`` — or a note that there are none."""
    name = str(name)  # a misfit value (a number where a name belongs) still gets the choices
    ranked = nearest_first(name, choices)
    if not ranked:
        return "there are no valid choices (is the plugin that provides them installed?)"
    close = difflib.get_close_matches(name, ranked, n=1, cutoff=0.5)
    lead = f"did you mean '{close[0]}'? " if close else ""
    return f"{lead}valid choices: {', '.join(ranked)}"


def yaml_problem(exc: Exception) -> str:
    """One line saying where and why a YAML document failed to parse: ``"line 5, column 12: did not find expected
    ',' or ']' (while parsing a flow sequence at line 4, column 7)"`` for PyYAML's marked errors, else the first
    line of ``exc``'s message."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None)
    if mark is None or not problem:
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    at = f" at line {context_mark.line + 1}, column {context_mark.column + 1}" if context_mark is not None else ""
    started = f" ({context}{at})" if context else ""
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}{started}"
