"""Window statistics: equal to numpy after every update, merging panes equals one pass, and the
assessment's levels on hand-made windows."""

import numpy as np
import pytest

from streamscore.shared.drift.assessment import assess, level_of
from streamscore.shared.drift.window_stats import WindowStats
from streamscore.shared.reference import bin_counts, describe_numeric
from streamscore.shared.spec import DriftThresholds

EDGES = [-1.0, 0.0, 0.5, 2.0]


def _values(rng: np.random.Generator, n: int) -> np.ndarray:
    values = rng.normal(0.0, 1.5, size=n)
    values[rng.random(n) < 0.05] = np.nan
    return values


def test_statistics_equal_numpy_after_every_update() -> None:
    rng = np.random.default_rng(1)
    stats, seen = WindowStats.empty(len(EDGES) + 1), np.array([])
    for size in (1, 7, 100, 3, 1000):
        batch = _values(rng, size)
        stats.update(batch, EDGES)
        seen = np.r_[seen, batch]
        present = seen[~np.isnan(seen)]
        assert stats.count == seen.size and stats.nulls == int(np.isnan(seen).sum())
        assert stats.mean == pytest.approx(present.mean(), rel=1e-12)
        assert stats.std == pytest.approx(present.std(), rel=1e-9)
        assert (stats.min, stats.max) == (present.min(), present.max())
        assert stats.bins == bin_counts(seen, EDGES).tolist()


def test_merging_panes_equals_computing_the_window_at_once() -> None:
    rng = np.random.default_rng(2)
    panes = [_values(rng, int(n)) for n in rng.integers(0, 300, size=10)]
    merged = WindowStats.empty(len(EDGES) + 1)
    for pane in panes:
        merged = merged.merge(WindowStats.of(pane, EDGES))
    whole = WindowStats.of(np.concatenate(panes), EDGES)
    assert (merged.count, merged.nulls, merged.bins, merged.min, merged.max) == (
        whole.count,
        whole.nulls,
        whole.bins,
        whole.min,
        whole.max,
    )
    assert merged.total == pytest.approx(whole.total, rel=1e-12)
    assert merged.std == pytest.approx(whole.std, rel=1e-9)


def test_merge_refuses_different_bins() -> None:
    with pytest.raises(ValueError, match="cannot merge 3 bins with 2"):
        WindowStats.empty(3).merge(WindowStats.empty(2))


def test_an_empty_window_has_no_mean() -> None:
    stats = WindowStats.of(np.array([np.nan, np.nan]), EDGES)
    assert (stats.null_rate, stats.mean, stats.std, stats.min) == (1.0, None, None, None)


def test_assessment_of_a_window_like_the_baseline_and_of_a_shifted_one() -> None:
    rng = np.random.default_rng(3)
    baseline = describe_numeric(rng.normal(0.0, 1.0, 200_000), bins=10)
    same = WindowStats.of(rng.normal(0.0, 1.0, 5_000), baseline["edges"])
    shifted = WindowStats.of(rng.normal(1.0, 1.0, 5_000), baseline["edges"])
    calm = assess(same, baseline, DriftThresholds(), min_count=500)
    moved = assess(shifted, baseline, DriftThresholds(), min_count=500)
    assert calm["level"] == "ok" and calm["psi"] < 0.02
    assert moved["level"] == "alert" and moved["psi"] > 0.25
    assert moved["mean_shift_std"] == pytest.approx(1.0, abs=0.05)
    assert sum(moved["bin_counts"]) == 5_000 and moved["unknown_rate"] is None
    few = assess(WindowStats.of(rng.normal(1.0, 1.0, 50), baseline["edges"]), baseline, DriftThresholds(), 500)
    assert few["level"] == "low_count"


def test_counts_beyond_the_baseline_bins_are_an_error() -> None:
    baseline = describe_numeric(np.arange(100.0), bins=2)  # 2 bins
    with pytest.raises(ValueError, match="outside the baseline's 2 bins"):
        assess(WindowStats(bins=[5, 5, 1], count=11), baseline, DriftThresholds(), min_count=1)


@pytest.mark.parametrize(
    ("psi", "js", "thresholds", "level"),
    [
        (0.09, 0.05, DriftThresholds(), "ok"),
        (0.1, 0.05, DriftThresholds(), "warn"),
        (0.25, 0.05, DriftThresholds(), "alert"),
        (0.01, 0.1, DriftThresholds(), "alert"),
        (0.3, 0.05, DriftThresholds(psi_warn=0.2, psi_alert=0.5, js_alert=0.2), "warn"),
    ],
)
def test_levels_at_the_thresholds(psi: float, js: float, thresholds: DriftThresholds, level: str) -> None:
    assert level_of(psi, js, 1_000, thresholds, 500) == level
