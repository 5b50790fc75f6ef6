"""Validation in SQL: every raw record becomes either a valid event or a dead letter with a reason.

The reasons, checked in this order: `undecodable` (not Confluent Avro, unknown schema id,
truncated, a writer schema that does not resolve to the event schema...), `missing_field` (a
required field is null), `too_long` (a string over its `max_length`), `non_finite` (NaN or
infinity), `out_of_range` (outside the spec's min/max, or an event time implausibly far from the
Kafka record timestamp), `late` (behind the watermark: the window operators would silently drop
it), and last `duplicate` (an event id already seen within `event.deduplicate_within`): here, or
with features on arrival in the windows' operator (`deduplicated_in_windows`), whose repeats
`duplicates` turns into dead letters. Exactly one of the two views gets each record, which the
tests count; dead letters are also counted by reason in the metric
`streamscore.dead_letters.<reason>.count` (deploy/jvm/flink-udf).
"""

from pyflink.table import TableEnvironment

from streamscore.shared.avro import record_fields
from streamscore.shared.features.sql import OCCURRENCE_COLUMN, TS_COLUMN, quote
from streamscore.shared.spec import PipelineSpec
from streamscore.streaming.java_functions import COUNT_DEAD_LETTER_FUNCTION, COUNT_OCCURRENCES_FUNCTION
from streamscore.streaming.kafka_tables import MAX_EPOCH_MS, decode_call
from streamscore.streaming.tables import sql_string

RECORD_COLUMNS = {"key": "BYTES", "value": "BYTES", "topic": "STRING", "partition": "INT", "offset": "BIGINT"}
"""What a dead letter keeps of the Kafka record (name -> SQL type): its bytes and where it came from."""


def _checks(spec: PipelineSpec) -> list[tuple[str, str, str]]:
    """(condition, reason, detail expression) in the order they are applied."""
    fields = record_fields(spec.event_schema())
    checks = [("`__error` IS NOT NULL", "undecodable", "`__error`")]
    for name, rule in spec.event.fields.items():
        if rule.required:
            checks.append((f"{quote(name)} IS NULL", "missing_field", sql_string(name)))
    for name, field in fields.items():
        if field.kind == "string":
            limit, length = spec.event.max_length(name), f"CHAR_LENGTH({quote(name)})"
            detail = f"CONCAT('{name} has ', CAST({length} AS STRING), ' characters, at most {limit}')"
            checks.append((f"{length} > {limit}", "too_long", detail))
    for name, field in fields.items():
        if field.kind in ("float", "double"):
            text = f"CAST({quote(name)} AS STRING)"
            checks.append((f"{text} IN ('NaN', 'Infinity', '-Infinity')", "non_finite", f"CONCAT('{name}=', {text})"))
    for name, rule in spec.event.fields.items():
        bounds = []
        if rule.min is not None:
            bounds.append(f"{quote(name)} < {rule.min!r}")
        if rule.max is not None:
            bounds.append(f"{quote(name)} > {rule.max!r}")
        if bounds:
            detail = f"CONCAT('{name}=', CAST({quote(name)} AS STRING))"
            checks.append((" OR ".join(bounds), "out_of_range", detail))
    time, ts = quote(spec.event.time), quote(TS_COLUMN)
    checks.append(
        (
            f"{time} NOT BETWEEN 0 AND {MAX_EPOCH_MS} OR TO_TIMESTAMP_LTZ({time}, 3) <> {ts}",
            "out_of_range",
            f"CONCAT('{spec.event.time}=', CAST({time} AS STRING), ' is more than "
            f"{spec.event.max_timestamp_skew} ms from the Kafka timestamp')",
        )
    )
    checks.append(
        (
            f"CURRENT_WATERMARK({ts}) IS NOT NULL AND {ts} <= CURRENT_WATERMARK({ts})",
            "late",
            f"CONCAT('{spec.event.time} behind the watermark ', CAST(CURRENT_WATERMARK({ts}) AS STRING))",
        )
    )
    return checks


def validate(
    t_env: TableEnvironment, spec: PipelineSpec, source: str, registry_url: str, in_windows: bool = False
) -> tuple[str, str]:
    """Register the valid-events and dead-letters views over the raw `source`; returns their names.

    `in_windows`: the windows' operator deduplicates, so none is found here and the valid events
    keep `RECORD_COLUMNS` for the repeats' dead letters.
    """
    fields = list(record_fields(spec.event_schema()))
    decoded = f"{source}__decoded"
    record = ", ".join(f"`__d`.`record`.{quote(f)} AS {quote(f)}" for f in fields)
    t_env.create_temporary_view(
        decoded,
        t_env.sql_query(
            f"SELECT {', '.join(quote(c) for c in RECORD_COLUMNS)}, {quote(TS_COLUMN)}, "
            f"`__d`.`error` AS `__error`, {record} "
            f"FROM (SELECT *, {decode_call(spec, registry_url)} AS `__d` FROM {quote(source)})"
        ),
    )
    checks = _checks(spec)
    reason = "CASE " + " ".join(f"WHEN {c} THEN '{r}'" for c, r, _ in checks) + " END"
    detail = "CASE " + " ".join(f"WHEN {c} THEN {d}" for c, _, d in checks) + " END"
    judged = f"{source}__judged"
    # Only the reason for every record: the detail (the same conditions again, string casts and
    # concatenations) is computed in the dead-letter branch, for the records that get one.
    t_env.create_temporary_view(judged, t_env.sql_query(f"SELECT *, {reason} AS `__reason` FROM {quote(decoded)}"))
    valid, dead = f"{source}__valid", f"{source}__dead"
    columns = ", ".join(quote(f) for f in [*fields, TS_COLUMN])
    rejected = _dead_letters(judged, "`__reason`", detail, "`__reason` IS NOT NULL")
    accepted = f"{quote(judged)} WHERE `__reason` IS NULL"
    if in_windows:
        columns += ", " + ", ".join(quote(c) for c in RECORD_COLUMNS)
    elif spec.event.deduplicate:
        counted = f"{source}__counted"
        t_env.create_temporary_view(counted, t_env.sql_query(_occurrence(spec, judged, fields)))
        accepted = f"{quote(counted)} WHERE {quote(OCCURRENCE_COLUMN)} = 1"
        rejected += " UNION ALL " + duplicates(spec, counted)
    t_env.create_temporary_view(valid, t_env.sql_query(f"SELECT {columns} FROM {accepted}"))
    t_env.create_temporary_view(dead, t_env.sql_query(rejected))
    return valid, dead


def duplicates(spec: PipelineSpec, view: str) -> str:
    """The dead letters of the repeats among `view`'s rows (`OCCURRENCE_COLUMN` over 1)."""
    event_id, seen = quote(spec.event.id), quote(OCCURRENCE_COLUMN)
    repeated = f"CONCAT('{spec.event.id} ', {event_id}, ' seen ', CAST({seen} - 1 AS STRING), ' time(s) before')"
    return _dead_letters(view, "'duplicate'", repeated, f"{seen} > 1")


def _dead_letters(view: str, reason: str, detail: str, where: str) -> str:
    """The dead-letter rows of the records of `view` that meet `where`, with their bytes and origin."""
    return (
        f"SELECT `value` AS `original`, `key` AS `original_key`, {COUNT_DEAD_LETTER_FUNCTION}({reason}) AS `reason`, "
        f"COALESCE({detail}, '') AS `detail`, `topic` AS `source_topic`, `partition` AS `source_partition`, "
        f"`offset` AS `source_offset`, LOCALTIMESTAMP AS `dead_lettered_at` FROM {quote(view)} WHERE {where}"
    )


def _occurrence(spec: PipelineSpec, judged: str, fields: list[str]) -> str:
    """Every event that passed the checks, with how many times its id has been seen up to and including
    it (`OCCURRENCE_COLUMN`).

    In arrival order: the first copy to arrive is scored, every later one is a dead letter, each
    emitted at once. COUNT_OCCURRENCES (deploy/jvm/flink-udf) keeps one counter per id for
    `event.deduplicate_within`; an OVER aggregate could only keep it for the job-wide state TTL, and
    one ordered by event time would also hold every row, raw bytes included, until the watermark.
    """
    event_id = quote(spec.event.id)
    carried = ", ".join(quote(c) for c in [*RECORD_COLUMNS, *fields, TS_COLUMN])
    counted = (
        f"{COUNT_OCCURRENCES_FUNCTION}(input => TABLE `__passed` PARTITION BY {event_id}, "
        f"forget_after_ms => CAST({spec.event.deduplicate_within} AS BIGINT))"
    )
    return (
        f"WITH `__passed` AS (SELECT {carried} FROM {quote(judged)} WHERE `__reason` IS NULL) "
        f"SELECT {carried}, {quote(OCCURRENCE_COLUMN)} FROM {counted}"
    )
