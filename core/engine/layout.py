"""Layout sampling: rejection sampling of object positions with keepout radii (Safety Gym's algorithm).

Objects are placed in order. For each one: shrink its placement rectangles by its keepout, choose a
rectangle in proportion to its area, draw a point uniformly, and accept it if it is at least
``keepout + other keepout + margin`` away from every object already placed. An object gets
:data:`DRAWS_PER_OBJECT` draws; if none fits, the whole layout starts again, up to :data:`LAYOUT_TRIES`
times, and then :class:`LayoutError` names the object that could not be placed. Draws are made in batches,
so each object costs one vectorised distance test per layout attempt. Building an env samples one layout of
at most :data:`FEASIBILITY_TRIES` attempts, so an impossible layout fails when the env is made.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from safexp.plugin.errors import ParameterError, SafexpError

DRAWS_PER_OBJECT = 100
LAYOUT_TRIES = 10_000
FEASIBILITY_TRIES = 100
"""Layout attempts made when an env is built, so that an impossible layout fails there and then: a layout that
100 attempts do not find would cost every reset over 100 attempts (~0.4 s with the suite's object counts)."""
RESAMPLE_TRIES = 10_000
FIRST_BATCH = 8  # candidates tested before the rest of an object's draws (the result is the same)


class LayoutError(SafexpError):
    """No layout satisfies the keepouts within the allowed number of tries."""


@dataclass(frozen=True)
class Placement:
    """Where one object may go: ``rects`` (k, 4) as ``[xmin, ymin, xmax, ymax]``, or a ``fixed`` xy."""

    label: str
    keepout: float
    rects: np.ndarray
    fixed: np.ndarray | None = None
    # Derived once, read by every draw: the rectangles shrunk by the keepout (lower corners, sizes) and the
    # probability of drawing from each (its share of the shrunk area).
    lows: np.ndarray = field(init=False, repr=False, compare=False)
    spans: np.ndarray = field(init=False, repr=False, compare=False)
    probs: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        shrunk = _shrink(self.rects, self.keepout)
        areas = _areas(shrunk)
        object.__setattr__(self, "lows", shrunk[:, :2])
        object.__setattr__(self, "spans", shrunk[:, 2:] - shrunk[:, :2])
        object.__setattr__(self, "probs", areas / areas.sum() if areas.sum() > 0 else areas)


def placement(label: str, keepout: float, rects: Sequence[Sequence[float]], fixed: Sequence[float] | None = None) -> Placement:
    """Build a :class:`Placement`, checking that its rectangles leave room once shrunk by the keepout."""
    boxes = np.asarray(rects, dtype=np.float64).reshape(-1, 4)
    p = Placement(label, float(keepout), boxes, None if fixed is None else np.asarray(fixed, dtype=np.float64)[:2])
    if fixed is None and not np.any(p.probs > 0):
        raise LayoutError(
            f"cannot place '{label}': its placement rectangles {boxes.tolist()} leave no room once shrunk by "
            f"its keepout {keepout} (each side must be longer than 2 × keepout)"
        )
    return p


def check_inside_arena(key: str, shapes: Sequence[Sequence[float]], extents: Sequence[float]) -> None:
    """Raise :class:`~safexp.plugin.errors.ParameterError` naming ``key`` when a position ``[x, y]`` or a rectangle
    ``[xmin, ymin, xmax, ymax]`` of ``shapes`` is not inside the arena ``extents`` (edges included)."""
    xmin, ymin, xmax, ymax = extents
    for shape in shapes:
        xs, ys = shape[0::2], shape[1::2]
        if min(xs) < xmin or max(xs) > xmax or min(ys) < ymin or max(ys) > ymax:
            raise ParameterError(f"{key}: {list(shape)} is outside the arena extents {list(extents)}; move it inside "
                                 "or enlarge the extents")


def _shrink(rects: np.ndarray, keepout: float) -> np.ndarray:
    return rects + np.array([keepout, keepout, -keepout, -keepout])


def _areas(rects: np.ndarray) -> np.ndarray:
    return np.clip(rects[:, 2] - rects[:, 0], 0, None) * np.clip(rects[:, 3] - rects[:, 1], 0, None)


def _draw(p: Placement, rng: np.random.Generator, n: int) -> np.ndarray:
    if len(p.rects) > 1:
        which = rng.choice(len(p.rects), size=n, p=p.probs)
        return p.lows[which] + rng.random((n, 2)) * p.spans[which]
    return p.lows[0] + rng.random((n, 2)) * p.spans[0]


def _first_fit(candidates: np.ndarray, keepout: float, placed: np.ndarray, keepouts: np.ndarray, margin: float) -> int:
    """Index of the first candidate far enough from every placed object, or -1.

    Squared distances (no roots); the first :data:`FIRST_BATCH` candidates are tested on their own, since one
    of them usually fits, and the rest only when none does.
    """
    if len(placed) == 0:
        return 0
    limit = keepouts + (keepout + margin)
    limit *= limit
    px, py = placed[:, 0], placed[:, 1]
    for start, stop in ((0, FIRST_BATCH), (FIRST_BATCH, len(candidates))):
        dx = candidates[start:stop, 0:1] - px
        dy = candidates[start:stop, 1:2] - py
        ok = (dx * dx + dy * dy >= limit).all(axis=1)
        k = int(ok.argmax()) if len(ok) else 0
        if len(ok) and ok[k]:
            return start + k
    return -1


def sample_layout(placements: Sequence[Placement], rng: np.random.Generator, margin: float = 0.0,
                  tries: int = LAYOUT_TRIES) -> np.ndarray:
    """Positions (n, 2) for ``placements``, in order; raises :class:`LayoutError` after ``tries`` attempts."""
    keepouts = np.array([p.keepout for p in placements])
    xy = np.zeros((len(placements), 2))
    failures: Counter[str] = Counter()
    for _ in range(tries):
        for i, p in enumerate(placements):
            if p.fixed is not None:
                xy[i] = p.fixed
                continue
            candidates = _draw(p, rng, DRAWS_PER_OBJECT)
            k = _first_fit(candidates, p.keepout, xy[:i], keepouts[:i], margin)
            if k < 0:
                failures[p.label] += 1
                break
            xy[i] = candidates[k]
        else:
            return xy
    label, count = failures.most_common(1)[0]
    p = next(q for q in placements if q.label == label)
    raise LayoutError(
        f"no layout found in {tries} tries: '{label}' (keepout {p.keepout}, area {p.rects.tolist()}) could not "
        f"be placed in {count} of them, {DRAWS_PER_OBJECT} draws each, among {len(placements)} objects; "
        "reduce the number of objects or their keepouts, or enlarge the arena extents"
    )


def resample(p: Placement, others: np.ndarray, other_keepouts: np.ndarray, rng: np.random.Generator,
             margin: float = 0.0) -> np.ndarray | None:
    """A new position for one object against the current positions of the others, or ``None``."""
    for _ in range(RESAMPLE_TRIES // DRAWS_PER_OBJECT):
        candidates = _draw(p, rng, DRAWS_PER_OBJECT)
        k = _first_fit(candidates, p.keepout, others, other_keepouts, margin)
        if k >= 0:
            return candidates[k]
    return None
