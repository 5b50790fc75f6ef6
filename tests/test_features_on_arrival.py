"""Features on arrival (`streaming.features_at: arrival`): the training definition for events that
arrive in time order after their profile, and what differs when they do not, solved by hand.

The runner feeds the events in list order, one source, parallelism 1: the list is the arrival order.
"""

import json
import uuid
from typing import Any

import numpy as np
from test_features import EVENTS, HOUR, MIN, T0, event

from streamscore.shared.spec import PipelineSpec, with_streaming


def same(vector: dict[str, float], expected: dict[str, float]) -> bool:
    """Equal as the float32 features the model reads (Spark hands them back as doubles)."""
    return {n: np.float32(v) for n, v in vector.items()} == {n: np.float32(v) for n, v in expected.items()}


def test_in_order_events_get_the_training_features(
    run_flink_on_arrival: Any, run_spark: Any, payments_spec: PipelineSpec
) -> None:
    """Every event of `EVENTS` but the tied pair b2/b3, fed in time order: the same vector as Spark's."""
    ordered = sorted(EVENTS, key=lambda e: e["event_time"])
    arrived, trained = run_flink_on_arrival(ordered, payments_spec), run_spark(ordered, payments_spec)
    assert sorted(arrived) == sorted(trained)
    for event_id in sorted(set(trained) - {"b2", "b3"}):
        assert same(arrived[event_id], trained[event_id]), event_id


def test_of_same_time_events_each_sees_those_arrived_before_it(
    run_flink_on_arrival: Any, payments_spec: PipelineSpec
) -> None:
    """b2 and b3 share a timestamp: training counts both for each; on arrival b2 (first) sees b1 and
    itself only. Neither is the other's previous event either way."""
    out = run_flink_on_arrival(sorted(EVENTS, key=lambda e: e["event_time"]), payments_spec)
    assert (out["b2"]["txn_count_1h"], out["b2"]["amount_sum_1h"]) == (2.0, 150.0)
    assert (out["b3"]["txn_count_1h"], out["b3"]["amount_sum_1h"]) == (3.0, 220.0)
    assert [out["b2"]["seconds_since_prev"], out["b3"]["seconds_since_prev"]] == [600.0, 600.0]


def test_an_event_arriving_after_a_later_one_is_not_in_its_windows(
    run_flink_on_arrival: Any, run_spark: Any, payments_spec: PipelineSpec
) -> None:
    """c2 happens between c1 and c3 but arrives last: c3 was answered without it, c2 is answered as
    of its own time (c1 in, c3 out, c1 its previous event)."""
    arrivals = [
        event("c1", "C", T0, 10.0, "m1", "fuel", "pos"),
        event("c3", "C", T0 + 2_000, 30.0, "m2", "fuel", "pos"),
        event("c2", "C", T0 + 1_000, 20.0, "m3", "fuel", "pos"),
    ]
    out, trained = run_flink_on_arrival(arrivals, payments_spec), run_spark(arrivals, payments_spec)
    assert (out["c3"]["txn_count_1h"], out["c3"]["amount_sum_1h"], out["c3"]["seconds_since_prev"]) == (2.0, 40.0, 2.0)
    assert (trained["c3"]["txn_count_1h"], trained["c3"]["seconds_since_prev"]) == (3.0, 1.0)
    assert same(out["c2"], trained["c2"])
    assert (out["c2"]["txn_count_1h"], out["c2"]["distinct_merchants_24h"], out["c2"]["seconds_since_prev"]) == (
        2.0,
        2.0,
        1.0,
    )


def test_a_resent_event_is_in_no_window_and_its_id_on_another_card_is_another_event(
    run_flink_on_arrival: Any, payments_spec: PipelineSpec
) -> None:
    """On arrival the windows' operator deduplicates (`deduplicated_in_windows`): d1 sent twice counts
    once in d2's windows; card E's event that reuses d1's id is an event of E, in e2's windows."""
    arrivals = [
        event("d1", "D", T0, 10.0, "m1", "fuel", "pos"),
        event("d1", "D", T0, 10.0, "m1", "fuel", "pos"),
        event("d1", "E", T0, 7.0, "m1", "fuel", "pos"),
        event("d2", "D", T0 + MIN, 20.0, "m2", "fuel", "pos"),
        event("e2", "E", T0 + MIN, 3.0, "m2", "fuel", "pos"),
    ]
    out = run_flink_on_arrival(arrivals, payments_spec)
    assert (out["d2"]["txn_count_1h"], out["d2"]["amount_sum_1h"]) == (2.0, 30.0)
    assert (out["e2"]["txn_count_1h"], out["e2"]["amount_sum_1h"]) == (2.0, 10.0)


def test_each_event_takes_the_profile_version_its_time_falls_in(
    flink_env: Any, tmp_path: Any, payments_spec: PipelineSpec
) -> None:
    """Profile versions and events through one operator, as the job's union feeds it: the version with
    the latest as_of at or before the event's time, none before the first (the spec's default)."""
    from pyflink.table.expressions import col

    from streamscore.shared.avro import record_fields
    from streamscore.shared.features.sql import ARRIVAL_COLUMN, PROFILE_AS_OF_COLUMN, TS_COLUMN, profile_version_column
    from streamscore.streaming.features import compute_features
    from streamscore.streaming.tables import ddl, flink_type

    spec = with_streaming(payments_spec, features_at="arrival")
    day = 24 * HOUR

    def version(card: str, as_of: int, count: float) -> dict[str, Any]:
        return {"card_id": card, PROFILE_AS_OF_COLUMN: as_of, profile_version_column("profile_txn_count_30d"): count}

    rows = [
        event("d0", "D", T0 - 1, 5.0, "m1", "fuel", "pos"),  # before any version arrived
        version("D", T0, 3.0),
        version("D", T0 + day, 4.0),
        event("d1", "D", T0 + day - 1, 5.0, "m1", "fuel", "pos"),  # falls in the first version
        event("d2", "D", T0 + day, 5.0, "m1", "fuel", "pos"),  # at the second's as_of: the second
        version("E", T0 + day + 10 * MIN, 9.0),  # another card's version is not D's
        event("d3", "D", T0 + day + 20 * MIN, 5.0, "m1", "fuel", "pos"),
        event("e1", "E", T0 + day + 5 * MIN, 5.0, "m1", "fuel", "pos"),  # E has no version that old
        version("F", T0, 5.0),  # two versions before any event of F: both kept
        version("F", T0 + day, 6.0),
        event("f1", "F", T0 + day - 1, 5.0, "m1", "fuel", "pos"),
    ]
    (tmp_path / "arrivals.json").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    fields = [f"`{f.name}` {flink_type(f)}" for f in record_fields(spec.event_schema()).values()]
    versions = [f"`{profile_version_column(f.name)}` DOUBLE" for f in spec.features if f.kind == "profile"]
    name = f"arrivals_{uuid.uuid4().hex[:8]}"
    columns = [
        *fields,
        f"`{PROFILE_AS_OF_COLUMN}` BIGINT",
        *versions,
        f"`{TS_COLUMN}` AS TO_TIMESTAMP_LTZ(COALESCE(`event_time`, `{PROFILE_AS_OF_COLUMN}`), 3)",
        f"WATERMARK FOR `{TS_COLUMN}` AS `{TS_COLUMN}`",
        f"`{ARRIVAL_COLUMN}` AS PROCTIME()",
    ]
    flink_env.execute_sql(ddl(name, columns, {"connector": "filesystem", "path": str(tmp_path), "format": "json"}))
    table = compute_features(flink_env, name, spec).drop_columns(col(TS_COLUMN))
    with table.execute().collect() as results:
        names = table.get_schema().get_field_names()
        out = {r["event_id"]: r for r in (dict(zip(names, row, strict=True)) for row in results)}
    assert sorted(out) == ["d0", "d1", "d2", "d3", "e1", "f1"]  # profile rows are not passed on
    counts = {e: out[e]["profile_txn_count_30d"] for e in sorted(out)}
    assert counts == {"d0": 0.0, "d1": 3.0, "d2": 4.0, "d3": 4.0, "e1": 0.0, "f1": 5.0}
    assert out["d3"]["txn_count_24h"] == 3.0  # d1, d2, d3 in 24 h: the versions are not events
