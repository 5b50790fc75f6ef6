"""Run the shared feature definitions on Flink: the same compiled SQL the Spark side runs."""

from collections.abc import Mapping

from pyflink.table import Table, TableEnvironment

from streamscore.shared.avro import record_fields
from streamscore.shared.features.sql import (
    ARRIVAL_COLUMN,
    FLINK,
    FLINK_ON_ARRIVAL,
    PROFILE_AS_OF_COLUMN,
    TS_COLUMN,
    Dialect,
    compile_features,
    profile_features,
    profile_version_column,
    quote,
)
from streamscore.shared.spec import PipelineSpec
from streamscore.streaming.tables import flink_type


def dialect_for(spec: PipelineSpec) -> Dialect:
    """`streaming.features_at`: once the watermark passes each event, or on arrival."""
    return FLINK_ON_ARRIVAL if spec.streaming.features_at == "arrival" else FLINK


def compute_features(t_env: TableEnvironment, source: str, spec: PipelineSpec, carried: tuple[str, ...] = ()) -> Table:
    """Register the chain of feature views over `source` (made by `with_profiles`) and return the last one,
    with the `carried` columns of `source` or of the windows' stage (`OCCURRENCE_COLUMN`).

    The result keeps the rowtime: the drift windows are event-time windows over scored rows.
    """
    result = t_env.from_path(source)
    for stage in compile_features(spec, dialect_for(spec), source, keep=(TS_COLUMN, *carried)):
        result = t_env.sql_query(stage.sql)
        t_env.create_temporary_view(stage.name, result)
    return result


def with_profiles(
    t_env: TableEnvironment,
    spec: PipelineSpec,
    events: str,
    profiles: str | None,
    carried: Mapping[str, str] | None = None,
) -> str:
    """A view of the valid `events` (event fields, the `TS_COLUMN` rowtime, then the `carried` columns:
    name -> SQL type) with what the feature SQL needs of the `profiles` table
    (kafka_tables.profile_table; None: no profile, so defaults apply); returns its name.

    watermark: each profile feature joined in under its name, event-time temporal join. arrival: the
    profile versions as rows of their own in the same stream (see `FLINK_ON_ARRIVAL`), and the
    processing-time attribute the windows are ordered by.
    """
    if spec.streaming.features_at == "arrival":
        return _arrivals(t_env, spec, events, profiles, carried or {})
    names = [f.name for f in profile_features(spec)]
    if not names:
        return events
    view = f"{events}__profiled"
    if profiles is None:
        nulls = ", ".join(f"CAST(NULL AS DOUBLE) AS {quote(n)}" for n in names)
        t_env.create_temporary_view(view, t_env.sql_query(f"SELECT *, {nulls} FROM {quote(events)}"))
        return view
    key = quote(spec.event.key)
    looked_up = ", ".join(f"p.{quote(n)}" for n in names)
    t_env.create_temporary_view(
        view,
        t_env.sql_query(
            f"SELECT v.*, {looked_up} FROM {quote(events)} AS v LEFT JOIN {quote(profiles)} "
            f"FOR SYSTEM_TIME AS OF v.{quote(TS_COLUMN)} AS p ON v.{key} = p.{key}"
        ),
    )
    return view


def _arrivals(
    t_env: TableEnvironment, spec: PipelineSpec, events: str, profiles: str | None, carried: Mapping[str, str]
) -> str:
    names = [f.name for f in profile_features(spec)]
    versions = [quote(profile_version_column(n)) for n in names]
    none = [f"CAST(NULL AS BIGINT) AS {quote(PROFILE_AS_OF_COLUMN)}"]
    none += [f"CAST(NULL AS DOUBLE) AS {v}" for v in versions]
    rows = f"SELECT *, {', '.join(none)} FROM {quote(events)}"
    if profiles is not None and names:
        fields = record_fields(spec.event_schema())
        columns = [
            f"CAST(`{f.name}` AS {flink_type(f)})" if f.name == spec.event.key else f"CAST(NULL AS {flink_type(f)})"
            for f in fields.values()
        ]
        columns += ["`__as_of`", *(f"CAST(NULL AS {t})" for t in carried.values()), "`as_of_ms`"]
        columns += [quote(n) for n in names]
        rows += f" UNION ALL SELECT {', '.join(columns)} FROM {quote(profiles)}"
    view = f"{events}__arrivals"
    t_env.create_temporary_view(view, t_env.sql_query(f"SELECT *, PROCTIME() AS {quote(ARRIVAL_COLUMN)} FROM ({rows})"))
    return view
