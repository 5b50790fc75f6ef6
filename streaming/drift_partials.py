"""Drift partials: what the scorer sums per Arrow batch and window slice, and the window aggregate merges.

The partials of one watched distribution over some events are `PARTIALS` (nulls, sum, sum of
squares, min, max), then one count per baseline bin, padded with zeros to the layout's `stride`
(the most bins any watched distribution may have, plus the leading five). Min and max of no value
are +inf and -inf, so merging is plain addition, min and max. The scorer already holds each batch
in numpy and bins every watched value, so it also sums them per slice of the drift windows (their
slide: a hop window is a union of whole slides) into one array per slice, all distributions side
by side: the JVM's window aggregate (`DRIFT_PARTIALS`, Java, deploy/jvm/flink-udf) then merges a
few arrays per batch instead of buffering and counting every scored row, and the scorer hands
Arrow one list column, not one per distribution (each costs a conversion per batch).
"""

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from streamscore.shared.drift.window_stats import WindowStats

PARTIALS = ("nulls", "sum", "sum_squares", "min", "max")
"""Leading elements of each distribution's partials; the bin counts follow."""

Groups = npt.NDArray[np.intp]
Column = Sequence[float | None]


def stride_of(max_bins: Iterable[int]) -> int:
    """The length of each distribution's partials: the leading figures and the most bins of any."""
    return len(PARTIALS) + max(max_bins)


def slices_of(times_ms: npt.NDArray[np.int64], slide_ms: int) -> tuple[Groups, Groups]:
    """(the group of each event, the first event of each group): events grouped by their window slice."""
    _, first, groups = np.unique(times_ms // slide_ms, return_index=True, return_inverse=True)
    return groups.reshape(-1), first


def partials(
    rows: npt.NDArray[np.floating[Any]], bins: npt.NDArray[np.int16], groups: Groups, n_groups: int, stride: int
) -> npt.NDArray[np.float64]:
    """One array per group: the partials of each row of `rows` (distributions x events), given each
    value's baseline bin (-1 = null), side by side, `stride` apart. Every group must have an event."""
    width = len(rows)
    order = np.argsort(groups, kind="stable")
    starts = np.searchsorted(groups[order], np.arange(n_groups))
    counted = bins >= 0
    values, present = rows[:, order].astype(np.float64), counted[:, order]
    zeroed = np.where(present, values, 0.0)
    out = np.zeros((n_groups, width, stride))
    out[:, :, 0] = np.add.reduceat(~present, starts, axis=1, dtype=np.int64).T
    out[:, :, 1] = np.add.reduceat(zeroed, starts, axis=1).T
    out[:, :, 2] = np.add.reduceat(zeroed * zeroed, starts, axis=1).T
    out[:, :, 3] = np.minimum.reduceat(np.where(present, values, np.inf), starts, axis=1).T
    out[:, :, 4] = np.maximum.reduceat(np.where(present, values, -np.inf), starts, axis=1).T
    max_bins = stride - len(PARTIALS)
    cells = (groups * width + np.arange(width)[:, None]) * max_bins + bins
    counts = np.bincount(cells[counted], minlength=n_groups * width * max_bins)
    out[:, :, len(PARTIALS) :] = counts.reshape(n_groups, width, max_bins)
    return out.reshape(n_groups, width * stride)


def split(packed: Column, width: int, stride: int) -> list[Column]:
    """The `width` distributions' partials of one packed array, `stride` apart."""
    if len(packed) != width * stride:
        raise ValueError(f"{len(packed)} partials do not split into {width} distributions of {stride}")
    return [packed[k * stride : (k + 1) * stride] for k in range(width)]


def window_stats(column: Column) -> WindowStats:
    """A window's statistics from one distribution's merged partials (`DRIFT_PARTIALS` gives null min
    and max, sum and sum of squares when the window holds no value)."""
    nulls, total, squares, low, high = column[: len(PARTIALS)]
    bins = [int(c or 0) for c in column[len(PARTIALS) :]]
    return WindowStats(
        bins=bins,
        count=int(nulls or 0) + sum(bins),
        nulls=int(nulls or 0),
        total=total or 0.0,
        total_squares=squares or 0.0,
        min=low,
        max=high,
    )
