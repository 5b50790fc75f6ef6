"""The scorer's per-slice drift partials equal the reference statistics of each slice's events."""

import numpy as np
import pytest

from streamscore.shared.drift.window_stats import WindowStats
from streamscore.shared.reference import bin_rows, edge_matrix
from streamscore.streaming.drift_partials import PARTIALS, partials, slices_of, split, stride_of, window_stats

EDGES = [[-1.0, 0.0, 0.5, 2.0], [0.0, 1.0]]
SLIDE = 60_000
MAX_BINS = [len(EDGES[0]) + 3, len(EDGES[1]) + 1]  # the spec allows more bins than these baselines have


def test_each_slice_partials_equal_its_events_statistics() -> None:
    rng = np.random.default_rng(3)
    times = rng.integers(10 * SLIDE, 14 * SLIDE, size=5000)  # out of order, four slices
    values = np.stack([rng.normal(0.0, 1.5, size=times.size), rng.exponential(1.0, size=times.size)])
    values[rng.random(values.shape) < 0.05] = np.nan
    values[0, :10] = EDGES[0][1]  # on an edge: the bin above it
    values[0, times // SLIDE == 12] = np.nan  # a slice with no value at all of the first distribution
    groups, first = slices_of(times, SLIDE)
    bins = bin_rows(values, edge_matrix(EDGES))
    stride = stride_of(MAX_BINS)
    rows = partials(values, bins, groups, len(first), stride)
    assert rows.shape == (4, 2 * stride)
    for row, index, slice_ in zip(rows, first, np.unique(times // SLIDE), strict=True):
        assert times[index] // SLIDE == slice_  # the row carrying the partials lies in their slice
        for k, column in enumerate(split([None if np.isinf(v) else float(v) for v in row], 2, stride)):
            inside = values[k, times // SLIDE == slice_]
            expected = WindowStats.of(inside, EDGES[k])
            got = window_stats(column)
            assert got.bins == expected.bins + [0] * (stride - len(PARTIALS) - len(expected.bins))
            assert (got.count, got.nulls, got.min, got.max) == (
                expected.count,
                expected.nulls,
                expected.min,
                expected.max,
            )
            assert got.total == pytest.approx(expected.total, rel=1e-12)
            assert got.total_squares == pytest.approx(expected.total_squares, rel=1e-12)


def test_packed_partials_that_do_not_split_are_refused() -> None:
    with pytest.raises(ValueError, match="do not split"):
        split([0.0] * 7, 2, 4)
    with pytest.raises(ValueError, match="do not split"):
        split([0.0] * 8, 2, 3)  # divides, but not at the stride the window aggregate merged


def test_bins_count_the_edges_at_or_below_each_value() -> None:
    edges = [[-1.0, 0.0, 0.0, 2.0], [5.0]]  # a repeated edge (a discrete feature's quantiles)
    rows = np.array([[-np.inf, -1.0, 0.0, 1.9, 2.0, np.inf, np.nan], [4.9, 5.0, np.nan, 6.0, -7.0, 1e300, np.inf]])
    expected = [np.searchsorted(e, r, side="right") for r, e in zip(rows, edges, strict=True)]
    assert bin_rows(rows, edge_matrix(edges)).tolist() == np.where(np.isnan(rows), -1, expected).tolist()
