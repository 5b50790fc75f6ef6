"""streamscore's own Flink SQL functions (Java, deploy/jvm/flink-udf): their SQL names and registration.

They live in the JVM so that decoding, dead-letter counting, drift partials, the windowed features
and profile look-ups never cross into Python; every table environment that runs the job's SQL
registers them.
"""

from pyflink.table import TableEnvironment

from streamscore.shared.features.sql import FLINK, FLINK_ON_ARRIVAL

DECODE_FUNCTION = "DECODE_CONFLUENT_AVRO"
COUNT_DEAD_LETTER_FUNCTION = "COUNT_DEAD_LETTER"
DRIFT_PARTIALS_FUNCTION = "DRIFT_PARTIALS"
COUNT_OCCURRENCES_FUNCTION = "COUNT_OCCURRENCES"
"""Adds `OCCURRENCE_COLUMN` (shared/features/sql.py; `CountOccurrences.OUTPUT`) to the rows it passes through."""
JAVA_FUNCTIONS = {  # SQL name -> class in deploy/jvm/flink-udf
    DECODE_FUNCTION: "io.streamscore.flink.DecodeConfluentAvro",
    COUNT_DEAD_LETTER_FUNCTION: "io.streamscore.flink.CountDeadLetter",
    DRIFT_PARTIALS_FUNCTION: "io.streamscore.flink.DriftPartials",
    COUNT_OCCURRENCES_FUNCTION: "io.streamscore.flink.CountOccurrences",
    str(FLINK.window_function): "io.streamscore.flink.WindowFeatures",
    str(FLINK_ON_ARRIVAL.profile_function): "io.streamscore.flink.ProfileAsOf",
}


def register_java_functions(t_env: TableEnvironment) -> None:
    """Needs the UDF jar on `pipeline.jars` (`streamscore-flink-udf.jar` in the stack's Flink jars)."""
    for function, java_class in JAVA_FUNCTIONS.items():
        t_env.execute_sql(f"CREATE TEMPORARY SYSTEM FUNCTION IF NOT EXISTS {function} AS '{java_class}' LANGUAGE JAVA")
