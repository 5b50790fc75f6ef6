"""Drift partials: what the scorer sums per Arrow batch and window slice, and the window aggregate merges.

The partials of one watched distribution over some events are one array: `PARTIALS` (nulls, sum,
sum of squares, min, max), then one count per baseline bin up to the spec's `max_bins`. Min and
max of no value are +inf and -inf, so merging is plain addition, min and max. The scorer already
holds each batch in numpy and bins every watched value, so it also sums them per slice of the
drift windows (their slide: a hop window is a union of whole slides): the JVM's window aggregate
(`DRIFT_PARTIALS`, Java, deploy/jvm/flink-udf) then merges a few arrays per batch instead of
buffering and counting every scored row.
"""

from typing import Any

import numpy as np
import numpy.typing as npt

from streamscore.shared.drift.window_stats import WindowStats

PARTIALS = ("nulls", "sum", "sum_squares", "min", "max")
"""Leading elements of each partials array; the bin counts follow."""

Groups = npt.NDArray[np.intp]


def slices_of(times_ms: npt.NDArray[np.int64], slide_ms: int) -> tuple[Groups, Groups]:
    """(the group of each event, the first event of each group): events grouped by their window slice."""
    _, first, groups = np.unique(times_ms // slide_ms, return_index=True, return_inverse=True)
    return groups.reshape(-1), first


def partials(
    values: npt.NDArray[np.floating[Any]], bins: npt.NDArray[np.int16], groups: Groups, n_groups: int, max_bins: int
) -> npt.NDArray[np.float64]:
    """One partials row per group, from the values and their baseline bins (-1 = null)."""
    present = bins >= 0
    members, kept = groups[present], values[present].astype(np.float64)
    out = np.zeros((n_groups, len(PARTIALS) + max_bins))
    out[:, 0] = np.bincount(groups[~present], minlength=n_groups)
    out[:, 1] = np.bincount(members, weights=kept, minlength=n_groups)
    out[:, 2] = np.bincount(members, weights=kept * kept, minlength=n_groups)
    low, high = np.full(n_groups, np.inf), np.full(n_groups, -np.inf)
    np.minimum.at(low, members, kept)
    np.maximum.at(high, members, kept)
    out[:, 3], out[:, 4] = low, high
    counts = np.bincount(members * max_bins + bins[present], minlength=n_groups * max_bins)
    out[:, len(PARTIALS) :] = counts.reshape(n_groups, max_bins)
    return out


def window_stats(column: list[float | None]) -> WindowStats:
    """A window's statistics from its merged partials (`DRIFT_PARTIALS` gives null min and max, sum and
    sum of squares when the window holds no value)."""
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
