"""Drift in the running job: windows equal a recount of the scored events, a known shift alerts
on time and alone, a stationary stretch of over 100 windows never alerts."""

from collections import defaultdict
from datetime import datetime
from typing import Any

import numpy as np
import pytest
from drift_fixtures import MINUTE, SHIFT_AT, STREAM_START, WATCHED, DriftRun

from streamscore.shared.drift.assessment import SCORE
from streamscore.shared.reference import bin_counts

pytestmark = pytest.mark.stack


def ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def by_feature(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in sorted(records, key=lambda r: ms(r["window_end"] if "window_end" in r else r["last_window_end"])):
        grouped[record["feature"]].append(record)
    return grouped


def test_nothing_is_lost_and_every_watched_distribution_has_every_window(drifting: DriftRun) -> None:
    assert len(drifting.scored) + len(drifting.dead) == drifting.produced
    windows = by_feature(drifting.drift)
    assert set(windows) == {*WATCHED, SCORE}
    drift = drifting.spec.drift
    first, last = min(ms(s["event_time"]) for s in drifting.scored), max(ms(s["event_time"]) for s in drifting.scored)
    expected = (
        last // drift.slide - first // drift.slide
    ) + drift.window // drift.slide  # every window holding an event
    assert {name: len(records) for name, records in windows.items()} == {name: expected for name in windows}


def test_windows_equal_a_recount_of_the_scored_events(drifting: DriftRun) -> None:
    """Flink merges slices into hop windows; each window must equal counting its events at once."""
    times = np.array([ms(s["event_time"]) for s in drifting.scored])
    scores = np.array([s["score"] for s in drifting.scored], dtype=np.float64)
    for record in by_feature(drifting.drift)[SCORE]:
        inside = (times >= ms(record["window_start"])) & (times < ms(record["window_end"]))
        assert record["count"] == int(inside.sum())
        assert record["bin_counts"] == bin_counts(scores[inside], drifting.score_edges).tolist()
        assert record["mean"] == pytest.approx(scores[inside].mean(), rel=1e-6)
        assert record["max"] == pytest.approx(scores[inside].max(), rel=1e-7)


def test_a_stationary_stretch_of_over_100_windows_never_alerts(drifting: DriftRun) -> None:
    stationary = [r for r in drifting.drift if ms(r["window_end"]) <= SHIFT_AT]
    judged = [r for r in by_feature(stationary)["log_amount"] if r["level"] != "low_count"]
    assert len(judged) >= 100
    assert [(r["feature"], r["window_end"], r["psi"]) for r in stationary if r["level"] == "alert"] == []
    assert [a for a in drifting.alerts if ms(a["last_window_end"]) <= SHIFT_AT] == []


def test_the_shifted_feature_alerts_within_two_slides_and_no_other_feature_does(drifting: DriftRun) -> None:
    drift = drifting.spec.drift
    alerts = by_feature(drifting.alerts)
    first_inside_ends = SHIFT_AT + drift.window  # the first window wholly after the shift
    assert alerts["log_amount"], f"no alert for log_amount; alerts: {drifting.alerts}"
    first = alerts["log_amount"][0]
    assert ms(first["last_window_end"]) <= first_inside_ends + 2 * drift.slide
    assert ms(first["first_window_start"]) > SHIFT_AT - drift.window  # its windows all hold shifted events
    limits = drift.thresholds_for("log_amount")
    assert first["windows"] == drift.consecutive
    assert first["max_psi"] >= limits.psi_alert or first["max_js_distance"] >= limits.js_alert
    assert set(alerts) - {"log_amount", SCORE} == set()
    print(  # the score moves with the amount it is computed from: reported, not required
        f"alerts: {sorted((n, len(a)) for n, a in alerts.items())}; first log_amount alert ends "
        f"{(ms(first['last_window_end']) - SHIFT_AT) / MINUTE:.0f} min after the shift "
        f"(stream began {(SHIFT_AT - STREAM_START) / MINUTE:.0f} min before it)"
    )
