"""Run the shared feature definitions on Flink: the same compiled SQL the Spark side runs."""

from pyflink.table import Table, TableEnvironment

from streamscore.shared.features.sql import FLINK, TS_COLUMN, compile_features, profile_features
from streamscore.shared.spec import PipelineSpec


def compute_features(t_env: TableEnvironment, source: str, spec: PipelineSpec) -> Table:
    """Register the chain of feature views over `source` and return the last one.

    `source` must have the event columns and the `TS_COLUMN` rowtime (see `tables.create_table`)
    and, when the spec has profile features, one nullable column per profile feature. The result
    keeps the rowtime: the drift windows are event-time windows over scored rows.
    """
    result = t_env.from_path(source)
    for stage in compile_features(spec, FLINK, source, keep=(TS_COLUMN,)):
        result = t_env.sql_query(stage.sql)
        t_env.create_temporary_view(stage.name, result)
    return result


def without_profiles(t_env: TableEnvironment, source: str, spec: PipelineSpec) -> str:
    """A view of `source` with every profile feature null (so defaults apply); returns its name."""
    names = [f.name for f in profile_features(spec)]
    if not names:
        return source
    nulls = ", ".join(f"CAST(NULL AS DOUBLE) AS `{name}`" for name in names)
    view = f"{source}__no_profiles"
    t_env.create_temporary_view(view, t_env.sql_query(f"SELECT *, {nulls} FROM `{source}`"))
    return view
