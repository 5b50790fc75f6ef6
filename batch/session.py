"""The Spark session streamscore's jobs, demo and tests share: UTC, loopback, quiet, few shuffle partitions."""

import os
import sys

from pyspark.sql import SparkSession


def local_session(app_name: str, master: str = "local[2]", shuffle_partitions: int = 4) -> SparkSession:
    """A session on this machine; spark-submit's own `--master` wins when the job is submitted to a cluster."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # loopback, never the LAN address
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers need this environment's pandas/xgboost
    session = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session
