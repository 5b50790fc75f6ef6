"""Training data: the time split leaks nothing, features never see the future, each data check bites."""

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from batch_fixtures import START_MS, history, small_spec, write

from streamscore.shared.spec import PipelineSpec

DAY = 86_400_000


@pytest.fixture(scope="module")
def spec(payments_spec: PipelineSpec) -> PipelineSpec:
    return small_spec(payments_spec)


@pytest.fixture(scope="module")
def events(spec: PipelineSpec) -> pa.Table:
    return history(spec, events=6_000, days=6.0)


def test_time_split_keeps_parts_apart_in_time_with_gaps(spark: Any, spec: PipelineSpec, events: pa.Table) -> None:
    from streamscore.batch.features import with_time_columns
    from streamscore.batch.split import TimeSplit

    frame = with_time_columns(spark.createDataFrame(events), spec)
    first = int(pc.min(events["event_time"]).cast(pa.int64()).as_py())
    last = int(pc.max(events["event_time"]).cast(pa.int64()).as_py())
    split = TimeSplit.of(spec, first, last)
    times = {
        name: sorted(r[0] for r in split.part(frame, name, "event_time").select("event_time").collect())
        for name in ("train", "validation", "test")
    }
    assert times["train"][-1] + spec.split.gap <= times["validation"][0]
    assert times["validation"][-1] + spec.split.gap <= times["test"][0]
    total = sum(len(t) for t in times.values())
    assert 0.95 * events.num_rows < total < events.num_rows  # only the two gaps are dropped
    assert abs(len(times["train"]) / total - spec.split.train) < 0.05


def test_split_refuses_a_history_too_short_for_its_gaps(spec: PipelineSpec) -> None:
    from streamscore.batch.split import TimeSplit
    from streamscore.shared.errors import StreamscoreError

    with pytest.raises(StreamscoreError, match="validation period is empty"):
        TimeSplit.of(spec, START_MS, START_MS + 2 * spec.split.gap)


def test_no_feature_sees_a_later_event(spark: Any, spec: PipelineSpec, events: pa.Table) -> None:
    """Cutting the history at T (and replacing everything after T with other events) changes no
    feature of any event before T, profiles included: features are point in time."""
    from streamscore.batch.features import training_features

    cut = START_MS + 4 * DAY + 7 * 3_600_000
    before = events.filter(pc.less(events["event_time"].cast(pa.int64()), cut))
    other_future = history(spec, events=3_000, days=1.0, seed=99)
    shifted = other_future.set_column(
        other_future.schema.get_field_index("event_time"),
        "event_time",
        pc.add(other_future["event_time"].cast(pa.int64()), cut - START_MS).cast(pa.timestamp("ms", tz="UTC")),
    )
    names = [f.name for f in spec.features]

    def features(table: pa.Table) -> dict[str, tuple[float, ...]]:
        rows = training_features(spark, spark.createDataFrame(table), spec).collect()
        return {r["event_id"]: tuple(r[n] for n in names) for r in rows}

    alone = features(before)
    with_future = features(pa.concat_tables([before, shifted.cast(before.schema)]))
    assert alone and all(with_future[i] == v for i, v in alone.items())


def _check(spark: Any, spec: PipelineSpec, table: pa.Table, previous_rows: int | None = None) -> dict[str, bool]:
    from streamscore.batch.checks import check_events

    return {r.name: r.passed for r in check_events(spark.createDataFrame(table), spec, previous_rows)}


def _replace(table: pa.Table, column: str, values: list[Any]) -> pa.Table:
    index = table.schema.get_field_index(column)
    return table.set_column(index, table.schema.field(index), pa.array(values, type=table.schema.field(index).type))


def test_valid_history_passes_every_check(spark: Any, spec: PipelineSpec, events: pa.Table) -> None:
    results = _check(spark, spec, events, previous_rows=events.num_rows)
    assert all(results.values()), results
    assert len(results) == 1 + 5 + 1 + 1 + 1 + 1  # schema, 5 required, unique, 1 range, label, row count


@pytest.mark.parametrize(
    ("broken", "failing"),
    [
        ("drop_column", {"schema"}),
        ("null_card", {"required:card_id"}),
        ("duplicate_id", {"unique:event_id"}),
        ("negative_amount", {"range:amount"}),
        ("nan_amount", {"range:amount"}),
        ("all_fraud", {"label_rate:is_fraud"}),
        ("lost_rows", {"row_count"}),
    ],
)
def test_each_check_fails_on_data_built_to_break_it(
    spark: Any, spec: PipelineSpec, events: pa.Table, broken: str, failing: set[str]
) -> None:
    table, previous = events.slice(0, 2_000), None
    if broken == "drop_column":
        table = table.drop_columns(["merchant_id"])
    elif broken == "null_card":
        table = _replace(table, "card_id", [None, *table["card_id"].to_pylist()[1:]])
    elif broken == "duplicate_id":
        ids = table["event_id"].to_pylist()
        table = _replace(table, "event_id", [ids[1], *ids[1:]])
    elif broken in ("negative_amount", "nan_amount"):
        bad = -5.0 if broken == "negative_amount" else float("nan")
        table = _replace(table, "amount", [*table["amount"].to_pylist()[:-1], bad])
    elif broken == "all_fraud":
        table = _replace(table, "is_fraud", [True] * table.num_rows)
    else:
        previous = 10 * table.num_rows
    results = _check(spark, spec, table, previous)
    assert {name for name, passed in results.items() if not passed} == failing


def test_a_failed_check_stops_the_job_before_a_snapshot_exists(
    spark: Any, spec: PipelineSpec, events: pa.Table, tmp_path: Path
) -> None:
    from streamscore.batch.checks import DataCheckError
    from streamscore.batch.training_set import build_training_set, snapshots_dir

    table = _replace(events, "is_fraud", [True] * events.num_rows)
    with pytest.raises(DataCheckError, match=r"label_rate:is_fraud: rate 100\.0000%") as caught:
        build_training_set(spark, spec, write(table, tmp_path / "history"), tmp_path)
    failed = [r for r in caught.value.results if not r.passed]
    assert [r.name for r in failed] == ["label_rate:is_fraud"]
    assert not list(snapshots_dir(tmp_path, spec).glob("*/_snapshot.json"))


def test_snapshot_is_named_by_content_and_reused(
    spark: Any, spec: PipelineSpec, events: pa.Table, tmp_path: Path
) -> None:
    from streamscore.batch.training_set import build_training_set

    folder = write(events, tmp_path / "history")
    first = build_training_set(spark, spec, folder, tmp_path)
    again = build_training_set(spark, spec, folder, tmp_path)
    assert (first.reused, again.reused) == (False, True)
    assert first.path == again.path and first.rows == events.num_rows
    changed = build_training_set(spark, spec.model_copy(update={"description": "other"}), folder, tmp_path)
    assert changed.content_hash != first.content_hash and not changed.reused
