"""Each feature kind on a fixture small enough to solve by hand, run through Spark and through Flink.

T0 is Monday 2026-01-05 00:00 UTC. Card A tests window boundaries (an event exactly one window
back is in, one millisecond more is out), unknown and missing categories, and the gap to the
previous event; card B tests same-timestamp events, which a RANGE frame includes both ways.
"""

import math
from typing import Any

from streamscore.shared.spec import PipelineSpec

T0 = 1_767_571_200_000  # 2026-01-05T00:00:00Z
MIN, HOUR = 60_000, 3_600_000


def event(
    event_id: str, card: str, t: int, amount: float, merchant: str, category: str | None, channel: str
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "card_id": card,
        "merchant_id": merchant,
        "merchant_category": category,
        "amount": amount,
        "currency": "EUR",
        "country": "DE",
        "channel": channel,
        "event_time": t,
    }


EVENTS = [
    event("b1", "B", T0 + 10 * MIN, 100.0, "m9", "travel", "ecom"),
    event("a1", "A", T0, 10.0, "m1", "grocery", "pos"),
    event("a2", "A", T0 + HOUR, 20.0, "m2", None, "ecom"),
    event("a3", "A", T0 + HOUR + 1, 30.0, "m1", "weird", "atm"),
    event("b2", "B", T0 + 20 * MIN, 50.0, "m9", "travel", "ecom"),
    event("b3", "B", T0 + 20 * MIN, 70.0, "m8", "fuel", "pos"),
    event("a4", "A", T0 + 25 * HOUR, 40.0, "m3", "fuel", "pos"),
]
UNKNOWN = 9  # len(vocabulary) of merchant_category_code in the example spec


def close(actual: float, expected: float) -> bool:
    return math.isclose(actual, expected, rel_tol=1e-6, abs_tol=1e-6)


def test_transforms_and_time_parts(run_features: Any, payments_spec: PipelineSpec) -> None:
    out = run_features(EVENTS, payments_spec)
    assert close(out["a1"]["log_amount"], math.log(11.0))
    assert (out["a1"]["hour_of_day"], out["a1"]["day_of_week"]) == (0.0, 0.0)  # Monday 00:xx
    assert (out["a4"]["hour_of_day"], out["a4"]["day_of_week"]) == (1.0, 1.0)  # Tuesday 01:00
    assert out["a1"]["merchant_category_code"] == 0.0  # grocery
    assert out["a2"]["merchant_category_code"] == UNKNOWN  # missing category
    assert out["a3"]["merchant_category_code"] == UNKNOWN  # a category nobody trained on
    assert [out[e]["channel_code"] for e in ("a1", "a2", "a3")] == [0.0, 1.0, 2.0]


def test_window_includes_the_boundary_and_never_later_events(run_features: Any, payments_spec: PipelineSpec) -> None:
    out = run_features(EVENTS, payments_spec)
    # a1 sees only itself although three later events of card A exist.
    assert (out["a1"]["txn_count_1h"], out["a1"]["amount_sum_1h"], out["a1"]["txn_count_24h"]) == (1.0, 10.0, 1.0)
    # a2 is exactly 1 h after a1: the frame [t - 1h, t] includes a1.
    assert (out["a2"]["txn_count_1h"], out["a2"]["amount_sum_1h"], out["a2"]["amount_max_1h"]) == (2.0, 30.0, 20.0)
    # a3 is 1 h + 1 ms after a1: a1 falls out of the 1 h window but not of the 24 h one.
    assert (out["a3"]["txn_count_1h"], out["a3"]["amount_sum_1h"], out["a3"]["amount_max_1h"]) == (2.0, 50.0, 30.0)
    assert out["a3"]["txn_count_24h"] == 3.0
    assert out["a3"]["distinct_merchants_24h"] == 2.0  # m1 twice, m2
    # a4 is 25 h after a1 and exactly 24 h after a2: a2, a3, a4 in the 24 h window.
    assert out["a4"]["txn_count_24h"] == 3.0
    assert close(out["a4"]["amount_mean_24h"], 30.0)
    assert out["a4"]["distinct_merchants_24h"] == 3.0
    assert (out["a4"]["txn_count_1h"], out["a4"]["amount_sum_1h"]) == (1.0, 40.0)


def test_same_timestamp_events_see_each_other(run_features: Any, payments_spec: PipelineSpec) -> None:
    out = run_features(EVENTS, payments_spec)
    for tied in ("b2", "b3"):
        assert out[tied]["txn_count_1h"] == 3.0
        assert out[tied]["amount_sum_1h"] == 220.0
        assert out[tied]["amount_max_1h"] == 100.0
        assert out[tied]["distinct_merchants_24h"] == 2.0


def test_seconds_since_previous(run_features: Any, payments_spec: PipelineSpec) -> None:
    out = run_features(EVENTS, payments_spec)
    assert out["a1"]["seconds_since_prev"] == -1.0  # first event: the spec's fill
    assert out["b1"]["seconds_since_prev"] == -1.0
    assert close(out["a2"]["seconds_since_prev"], 3600.0)
    assert close(out["a3"]["seconds_since_prev"], 0.001)
    assert close(out["a4"]["seconds_since_prev"], 24 * 3600 - 0.001)
    # Tied events: neither is "previous" to the other; both measure from b1, the latest earlier event.
    assert [out["b2"]["seconds_since_prev"], out["b3"]["seconds_since_prev"]] == [600.0, 600.0]


def test_missing_profiles_take_the_spec_defaults(run_features: Any, payments_spec: PipelineSpec) -> None:
    out = run_features(EVENTS, payments_spec)
    assert {out["a1"][n] for n in ("profile_amount_mean_30d", "profile_amount_std_30d", "profile_txn_count_30d")} == {
        0.0
    }


def test_every_event_gets_a_full_vector(run_features: Any, payments_spec: PipelineSpec) -> None:
    out = run_features(EVENTS, payments_spec)
    assert sorted(out) == sorted(e["event_id"] for e in EVENTS)
    assert all(len(vector) == len(payments_spec.features) for vector in out.values())


def test_a_second_pipeline_compiles_for_both_engines(run_features: Any) -> None:
    """Other names, a numeric key, a nullable int with a fill, distinct counts that skip nulls."""
    from streamscore.shared.spec import load_pipeline

    from .conftest import ROOT

    spec = load_pipeline(ROOT / "tests" / "fixtures" / "logins" / "pipeline.yaml")

    def login(login_id: str, t: int, country: str | None, sent: int | None) -> dict[str, Any]:
        return {"login_id": login_id, "user_id": 1, "ip_country": country, "bytes_sent": sent, "at": t}

    out = run_features(
        [
            login("l1", T0, "se", None),
            login("l2", T0 + 5 * MIN, None, 10),
            login("l3", T0 + 10 * MIN, "fi", 0),
            login("l4", T0 + 10 * MIN + 1, "se", 5),
        ],
        spec,
    )
    assert [out[i]["bytes"] for i in ("l1", "l2")] == [-1.0, 10.0]
    assert [out[i]["country"] for i in ("l1", "l2", "l3")] == [0.0, 2.0, 1.0]
    assert [out[i]["logins_10m"] for i in ("l1", "l2", "l3", "l4")] == [1.0, 2.0, 3.0, 3.0]
    assert [out[i]["countries_10m"] for i in ("l1", "l2", "l3", "l4")] == [1.0, 1.0, 2.0, 2.0]


def _profile_rows(as_of: int) -> list[dict[str, Any]]:
    day = 24 * HOUR
    return [
        event("p0", "A", as_of - 31 * day, 1000.0, "m1", "fuel", "pos"),  # older than the 30 d lookback
        event("p1", "A", as_of - 30 * day, 10.0, "m1", "fuel", "pos"),  # exactly at the lookback edge: in
        event("p2", "A", as_of - 1, 30.0, "m2", "fuel", "pos"),
        event("p3", "A", as_of, 500.0, "m3", "fuel", "pos"),  # at the as-of instant: out
        event("p4", "B", as_of + 1, 7.0, "m3", "fuel", "pos"),  # later: out, so B has no profile
    ]


def test_profiles_are_computed_as_of_a_time_from_earlier_events_only(spark: Any, payments_spec: PipelineSpec) -> None:
    """The published profile sees [as_of - lookback, as_of): not the as-of instant, not older history."""
    import pyarrow as pa

    from streamscore.batch.features import profiles_as_of

    as_of = T0 + 40 * 24 * HOUR
    frame = spark.createDataFrame(pa.Table.from_pylist(_profile_rows(as_of)))
    result = {r["card_id"]: r.asDict() for r in profiles_as_of(spark, frame, payments_spec, as_of).collect()}
    assert set(result) == {"A"}
    assert result["A"]["profile_txn_count_30d"] == 2
    assert close(result["A"]["profile_amount_mean_30d"], 20.0)
    assert close(result["A"]["profile_amount_std_30d"], 10.0)


def test_training_profiles_equal_what_was_published_at_the_events_period_start(
    spark: Any, payments_spec: PipelineSpec
) -> None:
    """Point in time: event p3 at the as-of instant sees the profile published then; p4 a day later sees A's
    profile as of its own day start, which now includes p3; nothing sees its own day."""
    import pyarrow as pa

    from streamscore.batch.features import training_features

    as_of = T0 + 40 * 24 * HOUR
    rows = _profile_rows(as_of)
    rows[-1] = event("p4", "A", as_of + 24 * HOUR + 5, 7.0, "m3", "fuel", "pos")
    frame = spark.createDataFrame(pa.Table.from_pylist(rows))
    out = {r["event_id"]: r.asDict() for r in training_features(spark, frame, payments_spec).collect()}
    assert out["p3"]["profile_txn_count_30d"] == 2
    assert close(out["p3"]["profile_amount_mean_30d"], 20.0)
    assert out["p4"]["profile_txn_count_30d"] == 2  # p1 left the 30 d lookback, p3 entered
    assert close(out["p4"]["profile_amount_mean_30d"], 265.0)
    assert out["p1"]["profile_txn_count_30d"] == 1  # only p0, 1 day earlier
    assert out["p0"]["profile_txn_count_30d"] == 0.0  # no earlier events: the spec's default
