"""Distances between a baseline and a current distribution over the same bins.

Each takes proportions or counts (normalised here) over identical bins. Empty bins are floored at
EPSILON before logarithms, the usual convention (Evidently, NannyML), so a bin that is empty on
one side gives a large but finite score instead of infinity.
"""

from collections.abc import Sequence

import numpy as np

EPSILON = 1e-4


def _distribution(values: Sequence[float]) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.size == 0 or np.any(array < 0) or not np.isfinite(array).all():
        raise ValueError(f"expected non-negative finite counts or proportions, got {list(values)}")
    total = array.sum()
    return array / total if total > 0 else np.full(array.size, 1.0 / array.size)


def _pair(expected: Sequence[float], actual: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    if len(expected) != len(actual):
        raise ValueError(f"distributions need the same bins, got {len(expected)} and {len(actual)}")
    return _distribution(expected), _distribution(actual)


def psi(expected: Sequence[float], actual: Sequence[float]) -> float:
    """Population stability index: sum over bins of (a - e) * ln(a / e).

    >>> round(psi([0.5, 0.5], [0.5, 0.5]), 6)
    0.0
    >>> round(psi([0.5, 0.5], [0.25, 0.75]), 6)  # (0.25 - 0.5) ln 0.5 + (0.75 - 0.5) ln 1.5
    0.274653
    """
    e, a = (np.maximum(p, EPSILON) for p in _pair(expected, actual))
    return float(np.sum((a - e) * np.log(a / e)))


def js_distance(expected: Sequence[float], actual: Sequence[float]) -> float:
    """Jensen-Shannon distance with base-2 logarithms: the square root of the divergence, in [0, 1].

    >>> js_distance([1, 0], [0, 1])
    1.0
    >>> round(js_distance([0.5, 0.5], [0.25, 0.75]), 6)
    0.220896
    """
    e, a = _pair(expected, actual)
    m = (e + a) / 2

    def kl(p: np.ndarray) -> float:
        present = p > 0
        return float(np.sum(p[present] * np.log2(p[present] / m[present])))

    return float(np.sqrt(max(0.0, (kl(e) + kl(a)) / 2)))


def ks_statistic(expected: Sequence[float], actual: Sequence[float]) -> float:
    """Kolmogorov-Smirnov statistic from binned data: the largest gap between the two CDFs at a bin edge.

    >>> ks_statistic([0.5, 0.5, 0.0], [0.0, 0.5, 0.5])
    0.5
    """
    e, a = _pair(expected, actual)
    return float(np.max(np.abs(np.cumsum(e) - np.cumsum(a))))


def mean_shift(baseline_mean: float, baseline_std: float, current_mean: float) -> float:
    """The current mean's distance from the baseline mean, in baseline standard deviations.

    >>> mean_shift(10.0, 2.0, 13.0)
    1.5
    >>> mean_shift(10.0, 0.0, 10.0)
    0.0
    """
    if baseline_std <= 0:
        return 0.0 if current_mean == baseline_mean else float("inf")
    return (current_mean - baseline_mean) / baseline_std
