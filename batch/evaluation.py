"""Model quality in the units the business pays in: expected cost at a threshold, next to ranking metrics.

A false negative (missed fraud) costs `costs.false_negative`, a false positive (a good customer
blocked or reviewed) `costs.false_positive`; the cost-optimal threshold minimises their sum.
"""

from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

from streamscore.shared.spec import CostConfig

Scores = npt.NDArray[np.floating[Any]]
Labels = npt.NDArray[np.integer[Any]]
CALIBRATION_BINS = 10


def expected_cost(labels: Labels, scores: Scores, threshold: float, costs: CostConfig) -> float:
    """Total cost of flagging every event with score >= threshold.

    >>> from streamscore.shared.spec import CostConfig
    >>> expected_cost(np.array([1, 0, 1, 0]), np.array([0.9, 0.8, 0.2, 0.1]), 0.5,
    ...               CostConfig(false_negative=100.0, false_positive=5.0))
    105.0
    """
    flagged = scores >= threshold
    missed = int(np.sum((labels == 1) & ~flagged))
    false_alarms = int(np.sum((labels == 0) & flagged))
    return missed * costs.false_negative + false_alarms * costs.false_positive


def cost_optimal_threshold(labels: Labels, scores: Scores, costs: CostConfig) -> tuple[float, float]:
    """(threshold, cost) minimising expected cost over every distinct score, in one sorted pass.

    Flagging nothing (threshold above every score) is a candidate too, so a useless model can
    never look better than approving everything.
    """
    order = np.argsort(-scores, kind="stable")
    sorted_scores, sorted_labels = scores[order], labels[order]
    positives = int(sorted_labels.sum())
    # Cut after the last of each run of equal scores: everything >= that score is flagged.
    last_of_run = np.r_[sorted_scores[1:] != sorted_scores[:-1], True]
    caught = np.cumsum(sorted_labels)[last_of_run]
    flagged = (np.arange(1, len(scores) + 1))[last_of_run]
    cost = (positives - caught) * costs.false_negative + (flagged - caught) * costs.false_positive
    nothing = positives * costs.false_negative
    best = int(np.argmin(cost)) if cost.size else -1
    if best < 0 or cost[best] >= nothing:
        return float(np.nextafter(np.float64(scores.max(initial=1.0)), np.inf)), float(nothing)
    return float(sorted_scores[last_of_run][best]), float(cost[best])


def calibration(labels: Labels, scores: Scores) -> dict[str, Any]:
    """Expected calibration error over equal-width bins, with the per-bin means for a reliability plot."""
    index = np.minimum((scores * CALIBRATION_BINS).astype(int), CALIBRATION_BINS - 1)
    counts = np.bincount(index, minlength=CALIBRATION_BINS)
    mean_score = np.bincount(index, weights=scores, minlength=CALIBRATION_BINS) / np.maximum(counts, 1)
    rate = np.bincount(index, weights=labels, minlength=CALIBRATION_BINS) / np.maximum(counts, 1)
    ece = float(np.sum(counts * np.abs(mean_score - rate)) / max(len(scores), 1))
    return {"ece": ece, "bins": {"count": counts.tolist(), "mean_score": mean_score.tolist(), "rate": rate.tolist()}}


def evaluate(labels: Labels, scores: Scores, threshold: float, costs: CostConfig) -> dict[str, Any]:
    """Every figure a model is judged by on one period, at a threshold chosen elsewhere (validation)."""
    flagged = scores >= threshold
    clipped = np.clip(scores, 1e-7, 1 - 1e-7)
    cost = expected_cost(labels, scores, threshold, costs)
    both_classes = 0 < labels.sum() < len(labels)
    return {
        "events": len(labels),
        "positives": int(labels.sum()),
        "roc_auc": float(roc_auc_score(labels, scores)) if both_classes else float("nan"),
        "pr_auc": float(average_precision_score(labels, scores)) if both_classes else float("nan"),
        "log_loss": float(log_loss(labels, clipped, labels=[0, 1])),
        "brier": float(brier_score_loss(labels, clipped)),
        "calibration": calibration(labels, scores),
        "threshold": float(threshold),
        "flag_rate": float(flagged.mean()),
        "recall": float(flagged[labels == 1].mean()) if labels.sum() else 0.0,
        "expected_cost": cost,
        "expected_cost_per_1k_events": 1000.0 * cost / max(len(labels), 1),
        "cost_of_approving_all": float(labels.sum() * costs.false_negative),
        "currency": costs.currency,
    }
