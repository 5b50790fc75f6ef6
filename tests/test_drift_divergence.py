"""Drift distances on hand-computed cases and against scipy, over the binned form the stream produces."""

import math

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import ks_2samp

from streamscore.shared.drift.divergence import EPSILON, js_distance, ks_statistic, mean_shift, psi
from streamscore.shared.reference import bin_counts


def test_psi_by_hand_including_an_empty_bin() -> None:
    expected, actual = [0.2, 0.3, 0.5], [0.1, 0.4, 0.5]
    by_hand = (0.1 - 0.2) * math.log(0.1 / 0.2) + (0.4 - 0.3) * math.log(0.4 / 0.3)
    assert psi(expected, actual) == pytest.approx(by_hand, abs=1e-12)
    # An empty current bin is floored at EPSILON, not infinite.
    assert psi([0.5, 0.5], [1.0, 0.0]) == pytest.approx(
        (1.0 - 0.5) * math.log(1.0 / 0.5) + (EPSILON - 0.5) * math.log(EPSILON / 0.5), abs=1e-12
    )
    # Counts and proportions give the same score.
    assert psi([20, 30, 50], [10, 40, 50]) == pytest.approx(by_hand, abs=1e-12)


def test_js_distance_equals_scipy_with_base_2() -> None:
    rng = np.random.default_rng(7)
    for _ in range(20):
        expected, actual = rng.random(10), rng.random(10)
        assert js_distance(expected, actual) == pytest.approx(jensenshannon(expected, actual, base=2), abs=1e-12)
    assert js_distance([1, 2, 3], [1, 2, 3]) == 0.0


def test_binned_ks_equals_scipy_when_every_value_has_its_own_bin() -> None:
    rng = np.random.default_rng(3)
    baseline, current = rng.integers(0, 10, 500), rng.integers(2, 12, 400)
    edges = [v + 0.5 for v in range(12)]
    binned = ks_statistic(bin_counts(baseline.astype(float), edges), bin_counts(current.astype(float), edges))
    assert binned == pytest.approx(ks_2samp(baseline, current).statistic, abs=1e-12)


def test_mean_shift_and_bad_input() -> None:
    assert mean_shift(100.0, 20.0, 70.0) == -1.5
    assert mean_shift(1.0, 0.0, 2.0) == math.inf
    with pytest.raises(ValueError, match="same bins, got 2 and 3"):
        psi([1, 1], [1, 1, 1])
    with pytest.raises(ValueError, match="non-negative finite"):
        js_distance([1, -1], [1, 1])
