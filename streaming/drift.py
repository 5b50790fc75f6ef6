"""Drift in the job: sliding event-time windows over the scored rows, drift records, alerts.

The scorer puts every watched value in its baseline bin (it holds the bundle whose baseline the
bins belong to) and sums each Arrow batch per window slice (streaming/drift_partials.py), so the
JVM's one HOP window aggregate merges a few partials per batch: nulls, sum, sum of squares, min,
max and the count per bin of every watched distribution. Flink splits hop windows into slices of
one slide and merges them (local-global aggregation), so each batch's partials are merged once, not
once per window. A Python table function then scores each window against its model's baseline
(shared/drift), and MATCH_RECOGNIZE raises an alert when a feature stays at `alert` for
`drift.consecutive` windows.
"""

from pyflink.table import StatementSet, TableEnvironment

from streamscore.shared.drift.monitored import monitored
from streamscore.shared.features.sql import TS_COLUMN, interval, quote
from streamscore.shared.spec import PipelineSpec
from streamscore.streaming.drift_partials import stride_of
from streamscore.streaming.drift_records import RESULT_COLUMNS, drift_records
from streamscore.streaming.java_functions import DRIFT_PARTIALS_FUNCTION
from streamscore.streaming.kafka_tables import KafkaSettings, kafka_sink
from streamscore.streaming.scorer import PARTIALS_FIELD, Watched

DRIFT_COLUMNS = [
    "`feature` STRING NOT NULL",
    "`window_start` TIMESTAMP(3) NOT NULL",
    "`window_end` TIMESTAMP(3) NOT NULL",
    "`model_version` STRING NOT NULL",
    "`count` BIGINT NOT NULL",
    "`null_rate` DOUBLE NOT NULL",
    "`mean` DOUBLE",
    "`std` DOUBLE",
    "`min` DOUBLE",
    "`max` DOUBLE",
    "`unknown_rate` DOUBLE",
    "`bin_counts` ARRAY<BIGINT NOT NULL> NOT NULL",
    "`psi` DOUBLE NOT NULL",
    "`js_distance` DOUBLE NOT NULL",
    "`ks_statistic` DOUBLE NOT NULL",
    "`mean_shift_std` DOUBLE",
    "`level` STRING NOT NULL",
]
ALERT_COLUMNS = [
    "`feature` STRING NOT NULL",
    "`model_version` STRING NOT NULL",
    "`first_window_start` TIMESTAMP(3) NOT NULL",
    "`last_window_end` TIMESTAMP(3) NOT NULL",
    "`windows` INT NOT NULL",
    "`max_psi` DOUBLE NOT NULL",
    "`max_js_distance` DOUBLE NOT NULL",
]


def watched(spec: PipelineSpec) -> Watched:
    """What the scorer bins, as plain tuples (the scorer is pickled to the Python workers)."""
    if not spec.drift.enabled:
        return ()
    return tuple((m.name, m.position, m.max_bins) for m in monitored(spec))


def add_drift(
    t_env: TableEnvironment,
    statements: StatementSet,
    spec: PipelineSpec,
    scored_rows: str,
    kafka: KafkaSettings,
    registry: dict[str, str],
) -> None:
    """Add the drift and alert inserts over `scored_rows` (rowtime, scorer row `s` with the partials).

    Args:
        registry: `pipeline`, `workdir` and `tracking_uri` of the model registry, where the table
            function finds the baseline of each model version it sees.
    """
    drift = spec.drift
    watching = monitored(spec)
    stride = stride_of(m.max_bins for m in watching)
    t_env.create_temporary_view(
        "drift_partials",
        t_env.sql_query(
            f"SELECT {quote(TS_COLUMN)}, s.`model_version` AS `model_version`, s.{quote(PARTIALS_FIELD)} AS `p` "
            f"FROM {quote(scored_rows)} WHERE s.{quote(PARTIALS_FIELD)} IS NOT NULL"
        ),
    )
    t_env.create_temporary_view(
        "drift_windows",
        t_env.sql_query(
            "SELECT `window_start`, `window_end`, `window_time`, `model_version`, "
            f"{DRIFT_PARTIALS_FUNCTION}(`p`, {stride}) AS `w` FROM TABLE(HOP(TABLE `drift_partials`, "
            f"DESCRIPTOR({quote(TS_COLUMN)}), {interval(drift.slide)}, {interval(drift.window)})) "
            "GROUP BY `window_start`, `window_end`, `window_time`, `model_version`"
        ),
    )
    t_env.create_temporary_function(
        "DRIFT_RECORDS",
        drift_records(
            **registry,
            names=[m.name for m in watching],
            stride=stride,
            thresholds=[drift.thresholds_for(m.name).model_dump() for m in watching],
            min_count=drift.min_count,
        ),
    )
    record_names = ", ".join(quote(name) for name, _ in RESULT_COLUMNS)
    t_env.create_temporary_view(
        "drift_records",
        t_env.sql_query(
            "SELECT d.`feature`, w.`window_start`, w.`window_end`, w.`window_time`, w.`model_version`, "
            f"{', '.join(f'd.{quote(n)}' for n, _ in RESULT_COLUMNS[1:])} "
            f"FROM `drift_windows` AS w, LATERAL TABLE(DRIFT_RECORDS(w.`model_version`, w.`w`)) "
            f"AS d({record_names})"
        ),
    )
    t_env.execute_sql(kafka_sink("drift_sink", spec.topics.drift, DRIFT_COLUMNS, "drift_record.avsc", "feature", kafka))
    t_env.execute_sql(kafka_sink("alert_sink", spec.topics.alerts, ALERT_COLUMNS, "drift_alert.avsc", "feature", kafka))
    drift_columns = ", ".join(c.split()[0] for c in DRIFT_COLUMNS)
    statements.add_insert_sql(f"INSERT INTO `drift_sink` SELECT {drift_columns} FROM `drift_records`")
    statements.add_insert_sql(
        f"""INSERT INTO `alert_sink`
        SELECT `feature`, `model_version`, `first_window_start`, `last_window_end`, {drift.consecutive}, `max_psi`,
               `max_js_distance`
        FROM `drift_records`
        MATCH_RECOGNIZE (
            PARTITION BY `feature`
            ORDER BY `window_time`
            MEASURES
                LAST(A.`model_version`) AS `model_version`,
                FIRST(A.`window_start`) AS `first_window_start`,
                LAST(A.`window_end`) AS `last_window_end`,
                MAX(A.`psi`) AS `max_psi`,
                MAX(A.`js_distance`) AS `max_js_distance`
            ONE ROW PER MATCH
            AFTER MATCH SKIP PAST LAST ROW
            PATTERN (A{{{drift.consecutive}}})
            DEFINE A AS A.`level` = 'alert'
        )"""
    )
