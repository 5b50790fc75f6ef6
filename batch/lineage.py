"""Everything needed to answer, months later, how a model was made: code, packages, JVM, Spark conf."""

import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

PACKAGES = (
    "streamscore",
    "pyspark",
    "xgboost-cpu",
    "onnxruntime",
    "onnx",
    "onnxmltools",
    "apache-flink",
    "numpy",
    "pandas",
    "pyarrow",
    "scikit-learn",
    "mlflow",
)
_CONF_PREFIXES = (
    "spark.master",
    "spark.sql.",
    "spark.executor.",
    "spark.driver.memory",
    "spark.default.",
    "spark.jars",
)


def git_commit(directory: Path) -> str:
    """The commit of the code that ran, with `+dirty` when the work tree has changes."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=directory, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=directory, capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit}+dirty" if dirty else commit


def environment(spark: SparkSession) -> dict[str, Any]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    jvm = spark.sparkContext._jvm  # type: ignore[attr-defined]
    conf = {k: v for k, v in spark.sparkContext.getConf().getAll() if k.startswith(_CONF_PREFIXES)}
    return {
        "git_commit": git_commit(Path(__file__).resolve().parent),
        "python": platform.python_version(),
        "packages": versions,
        "jvm": {
            "java": jvm.System.getProperty("java.version") if jvm else None,
            "spark": spark.version,
            "scala": jvm.scala.util.Properties.versionNumberString() if jvm else None,
        },
        "spark_conf": dict(sorted(conf.items())),
        "platform": platform.platform(),
    }
