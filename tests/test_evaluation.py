"""Cost in money on cases small enough to check by hand."""

import numpy as np

from streamscore.batch.evaluation import cost_optimal_threshold, evaluate, expected_cost
from streamscore.shared.spec import CostConfig

COSTS = CostConfig(false_negative=100.0, false_positive=10.0)
LABELS = np.array([1, 0, 1, 0, 0, 1, 0, 0])
SCORES = np.array([0.9, 0.8, 0.7, 0.6, 0.6, 0.3, 0.2, 0.1])


def test_expected_cost_counts_misses_and_false_alarms() -> None:
    # threshold 0.65 flags 0.9 (fraud), 0.8 (good), 0.7 (fraud): 1 FP; misses the 0.3 fraud: 1 FN
    assert expected_cost(LABELS, SCORES, 0.65, COSTS) == 100.0 + 10.0


def test_cost_optimal_threshold_is_the_cheapest_cut() -> None:
    # cuts: >=0.9: 2 FN = 200; >=0.8: 2 FN + 1 FP = 210; >=0.7: 1 FN + 1 FP = 110;
    # >=0.6 (ties flagged together): 1 FN + 3 FP = 130; >=0.3: 0 FN + 3 FP = 30; >=0.2: 40; >=0.1: 50
    threshold, cost = cost_optimal_threshold(LABELS, SCORES, COSTS)
    assert (threshold, cost) == (0.3, 30.0)
    assert expected_cost(LABELS, SCORES, threshold, COSTS) == cost


def test_flagging_nothing_wins_when_alarms_cost_more_than_fraud() -> None:
    labels, scores = np.array([0, 1]), np.array([0.9, 0.1])  # every cut flags the good event
    threshold, cost = cost_optimal_threshold(labels, scores, CostConfig(false_negative=1.0, false_positive=50.0))
    assert cost == 1.0 and threshold > scores.max()
    assert expected_cost(labels, scores, threshold, CostConfig(false_negative=1.0, false_positive=50.0)) == 1.0


def test_evaluate_reports_cost_next_to_ranking_metrics() -> None:
    metrics = evaluate(LABELS, SCORES, 0.3, COSTS)
    assert metrics["expected_cost"] == 30.0
    assert metrics["recall"] == 1.0 and metrics["flag_rate"] == 6 / 8
    assert metrics["roc_auc"] == (5 + 4 + 2) / 15  # (fraud, good) pairs ranked right: 0.9, 0.7, 0.3
    assert metrics["cost_of_approving_all"] == 300.0
