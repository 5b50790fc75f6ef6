"""The Spark session streamscore's jobs, demo and tests share: UTC, loopback, quiet, few shuffle partitions."""

import os
import sys
from pathlib import Path

from pyspark.sql import SparkSession


def connector_jars() -> list[str]:
    """Spark's Kafka and Avro connectors as fetched by `make setup` (empty before setup)."""
    home = Path(os.environ.get("STREAMSCORE_HOME", ".stack"))
    return sorted(str(p.resolve()) for p in (home / "jars" / "spark").glob("*.jar"))


def local_session(
    app_name: str, master: str = "local[2]", shuffle_partitions: int = 4, driver_memory: str = "1g"
) -> SparkSession:
    """A session on this machine; spark-submit's own `--master`, `--driver-memory` and `--jars` win when
    the job is submitted. `driver_memory` is the heap of the JVM this starts (local mode runs the
    executors in it); it applies only if no JVM is running yet in this process."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # loopback, never the LAN address
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers need this environment's pandas/xgboost
    submitted = "PYSPARK_GATEWAY_PORT" in os.environ  # launched by spark-submit: its flags decide
    builder = (
        SparkSession.builder.appName(app_name)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
    )
    jars = connector_jars()
    if not submitted:
        builder = builder.master(master).config("spark.driver.memory", driver_memory)
        if jars:
            builder = builder.config("spark.jars", ",".join(jars))
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session
