"""The scorer's per-slice drift partials equal the reference statistics of each slice's events."""

import numpy as np
import pytest

from streamscore.shared.drift.window_stats import WindowStats
from streamscore.shared.reference import bin_index
from streamscore.streaming.drift_partials import PARTIALS, partials, slices_of, window_stats

EDGES = [-1.0, 0.0, 0.5, 2.0]
SLIDE = 60_000
MAX_BINS = len(EDGES) + 3  # the spec allows more bins than this baseline has: padded with zeros


def test_each_slice_partials_equal_its_events_statistics() -> None:
    rng = np.random.default_rng(3)
    times = rng.integers(10 * SLIDE, 14 * SLIDE, size=5000)  # out of order, four slices
    values = rng.normal(0.0, 1.5, size=times.size)
    values[rng.random(times.size) < 0.05] = np.nan
    values[times // SLIDE == 12] = np.nan  # a slice with no value at all
    groups, first = slices_of(times, SLIDE)
    rows = partials(values, bin_index(values, EDGES), groups, len(first), MAX_BINS)
    assert rows.shape == (4, len(PARTIALS) + MAX_BINS)
    for row, index, slice_ in zip(rows, first, np.unique(times // SLIDE), strict=True):
        assert times[index] // SLIDE == slice_  # the row carrying the partials lies in their slice
        inside = values[times // SLIDE == slice_]
        expected = WindowStats.of(inside, EDGES)
        got = window_stats([None if np.isinf(v) else float(v) for v in row])
        assert got.bins == expected.bins + [0] * (MAX_BINS - len(expected.bins))
        assert (got.count, got.nulls, got.min, got.max) == (expected.count, expected.nulls, expected.min, expected.max)
        assert got.total == pytest.approx(expected.total, rel=1e-12)
        assert got.total_squares == pytest.approx(expected.total_squares, rel=1e-12)
