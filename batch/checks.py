"""Data checks that gate training: a model is never trained on history that breaks the spec.

All counts come from one aggregation pass; sample rows are fetched only for failed checks, so
the report shows the offending records without a second full scan per check.
"""

from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from streamscore.shared.avro import record_fields
from streamscore.shared.errors import StreamscoreError
from streamscore.shared.spec import PipelineSpec

SAMPLE_ROWS = 5
MAX_ROW_DROP = 0.5
"""A snapshot with fewer than half the rows of the previous one means lost input, not less traffic."""

_SPARK_TYPES: dict[str, tuple[type[T.DataType], ...]] = {
    "string": (T.StringType,),
    "int": (T.IntegerType, T.LongType),
    "long": (T.LongType, T.IntegerType),
    "float": (T.FloatType, T.DoubleType),
    "double": (T.DoubleType, T.FloatType),
    "boolean": (T.BooleanType,),
    "bytes": (T.BinaryType,),
    "timestamp-millis": (T.TimestampType, T.TimestampNTZType, T.LongType),
}


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    detail: str
    samples: list[dict[str, Any]] = field(default_factory=list)


class DataCheckError(StreamscoreError):
    """Training history failed one or more checks; carries every result for the report."""

    def __init__(self, results: list[CheckResult]) -> None:
        self.results = results
        failed = [r for r in results if not r.passed]
        lines = [f"{r.name}: {r.detail}" + (f"; e.g. {r.samples[:2]}" if r.samples else "") for r in failed]
        super().__init__(f"{len(failed)} data check(s) failed, nothing was trained: " + " | ".join(lines))


def _schema_check(events: DataFrame, spec: PipelineSpec) -> CheckResult:
    problems = []
    expected = {name: f.kind for name, f in record_fields(spec.event_schema()).items()}
    expected[spec.label.field] = "boolean"
    types = {f.name: f.dataType for f in events.schema.fields}
    for name, kind in expected.items():
        if name not in types:
            problems.append(f"{name} missing")
        elif kind == "boolean" and name == spec.label.field:
            if not isinstance(types[name], T.BooleanType | T.IntegerType | T.LongType):
                problems.append(f"{name} is {types[name].simpleString()}, expected boolean or 0/1 integer")
        elif not isinstance(types[name], _SPARK_TYPES[kind]):
            problems.append(f"{name} is {types[name].simpleString()}, expected Avro {kind}")
    detail = "; ".join(problems) if problems else f"{len(expected)} columns match {spec.schema_path.name} + label"
    return CheckResult("schema", not problems, detail)


def _out_of_range(column: str, low: float | None, high: float | None) -> Column:
    value = F.col(column).cast("double")
    bad = F.isnan(value) | (value == float("inf")) | (value == float("-inf"))
    if low is not None:
        bad = bad | (value < low)
    if high is not None:
        bad = bad | (value > high)
    return F.col(column).isNotNull() & bad


def check_events(events: DataFrame, spec: PipelineSpec, previous_rows: int | None) -> list[CheckResult]:
    """Every check's result on labelled history; `previous_rows` is the last snapshot's size, if any."""
    schema = _schema_check(events, spec)
    if not schema.passed:
        return [schema]
    required = [name for name, rule in spec.event.fields.items() if rule.required]
    ranged = {n: r for n, r in spec.event.fields.items() if r.min is not None or r.max is not None}
    label = F.col(spec.label.field).cast("double")
    row = events.agg(
        F.count(F.lit(1)).alias("rows"),
        F.count_distinct(spec.event.id).alias("ids"),
        F.count(spec.event.id).alias("non_null_ids"),
        F.sum(label).alias("positives"),
        F.count(label).alias("labelled"),
        *[F.count_if(F.col(n).isNull()).alias(f"null:{n}") for n in required],
        *[F.count_if(_out_of_range(n, r.min, r.max)).alias(f"range:{n}") for n, r in ranged.items()],
    ).first()
    if row is None:
        raise StreamscoreError("the check aggregation returned no row")
    rows = int(row["rows"])

    def samples(condition: Column) -> list[dict[str, Any]]:
        return [r.asDict() for r in events.where(condition).limit(SAMPLE_ROWS).collect()]

    results = [schema]
    for name in required:
        nulls = int(row[f"null:{name}"])
        results.append(
            CheckResult(
                f"required:{name}",
                nulls == 0,
                f"{nulls} of {rows} rows have no {name}",
                samples(F.col(name).isNull()) if nulls else [],
            )
        )
    duplicates = int(row["non_null_ids"]) - int(row["ids"])
    dup_ids = (
        [r.asDict() for r in events.groupBy(spec.event.id).count().where("count > 1").limit(SAMPLE_ROWS).collect()]
        if duplicates
        else []
    )
    results.append(CheckResult(f"unique:{spec.event.id}", duplicates == 0, f"{duplicates} repeated ids", dup_ids))
    for name, rule in ranged.items():
        bad = int(row[f"range:{name}"])
        results.append(
            CheckResult(
                f"range:{name}",
                bad == 0,
                f"{bad} values outside [{rule.min}, {rule.max}] or not finite",
                samples(_out_of_range(name, rule.min, rule.max)) if bad else [],
            )
        )
    labelled = int(row["labelled"])
    rate = float(row["positives"] or 0) / labelled if labelled else 0.0
    low, high = spec.label.min_rate, spec.label.max_rate
    results.append(
        CheckResult(
            f"label_rate:{spec.label.field}",
            labelled == rows and low <= rate <= high,
            f"rate {rate:.4%} (allowed {low:.2%}..{high:.2%}), {rows - labelled} unlabelled rows",
            samples(F.col(spec.label.field).isNull()) if labelled != rows else [],
        )
    )
    floor = 1 if previous_rows is None else int(previous_rows * (1 - MAX_ROW_DROP))
    results.append(
        CheckResult(
            "row_count",
            rows >= max(floor, 1),
            f"{rows} rows; previous snapshot {previous_rows if previous_rows is not None else 'none'}, minimum {floor}",
        )
    )
    return results
