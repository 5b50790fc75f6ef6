"""One window of one feature against the model's baseline: the drift record and its level.

Both the stream (per window) and tests use this; the thresholds come from the spec. A window
with fewer than `min_count` values is `low_count` and never alerts, because sampling noise over
few values looks like drift (PSI ~ (bins - 1) / n on an unchanged distribution).
"""

from typing import Any

from streamscore.shared.drift.divergence import js_distance, ks_statistic, mean_shift, psi
from streamscore.shared.drift.window_stats import WindowStats
from streamscore.shared.spec import DriftThresholds

SCORE = "__score__"
"""The drift records' name for the model's score distribution."""
LEVELS = ("ok", "warn", "alert", "low_count")


def baseline_entry(baseline: dict[str, Any], name: str) -> dict[str, Any]:
    """The entry of a watched distribution in a bundle's baseline.json: a feature's, or the score's."""
    return baseline["score"] if name == SCORE else baseline["features"][name]


def level_of(psi_value: float, js_value: float, present: int, thresholds: DriftThresholds, min_count: int) -> str:
    """
    >>> level_of(0.3, 0.05, 1000, DriftThresholds(), 500), level_of(0.12, 0.05, 1000, DriftThresholds(), 500)
    ('alert', 'warn')
    >>> level_of(0.01, 0.12, 1000, DriftThresholds(), 500), level_of(0.9, 0.9, 10, DriftThresholds(), 500)
    ('alert', 'low_count')
    """
    if present < min_count:
        return "low_count"
    if psi_value >= thresholds.psi_alert or js_value >= thresholds.js_alert:
        return "alert"
    return "warn" if psi_value >= thresholds.psi_warn else "ok"


def assess(stats: WindowStats, baseline: dict[str, Any], thresholds: DriftThresholds, min_count: int) -> dict[str, Any]:
    """The drift record fields of one window (without its name, bounds and model version).

    Args:
        stats: the window; its bins may be more than the baseline's (the job counts over the most
            bins the spec allows), but those beyond the baseline's must be empty.
        baseline: the feature's entry of the bundle's baseline.json (edges, proportions, mean, std).
    """
    expected = [float(p) for p in baseline["proportions"]]
    observed, rest = stats.bins[: len(expected)], stats.bins[len(expected) :]
    if any(rest):
        raise ValueError(f"counts {stats.bins} fall outside the baseline's {len(expected)} bins")
    psi_value = psi(expected, observed)
    js_value = js_distance(expected, observed)
    mean = stats.mean
    return {
        "count": stats.count,
        "null_rate": stats.null_rate,
        "mean": mean,
        "std": stats.std,
        "min": stats.min,
        "max": stats.max,
        "unknown_rate": observed[-1] / stats.present if baseline["kind"] == "category" and stats.present else None,
        "bin_counts": observed,
        "psi": psi_value,
        "js_distance": js_value,
        "ks_statistic": ks_statistic(expected, observed),
        "mean_shift_std": None if mean is None else mean_shift(baseline["mean"], baseline["std"], mean),
        "level": level_of(psi_value, js_value, stats.present, thresholds, min_count),
    }
