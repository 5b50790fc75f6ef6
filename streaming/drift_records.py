"""The table function that turns one window's aggregate columns into drift records, one per watched
distribution, against the baseline of the model version that scored the window's events.

It runs on one row per window and model version (a few per minute), so plain Python is fine; the
per-event work happened in the scorer (binning, summing per batch and slice) and in the JVM's window
aggregate (merging those sums).
The latest PSI and JS distance per feature are Flink gauges, in millionths because PyFlink gauges
are integers (`streamscore.drift.<name>.psi_millionths`, `.js_distance_millionths`).
"""

import logging
import os
from pathlib import Path
from typing import Any

from pyflink.table import DataTypes
from pyflink.table.udf import FunctionContext, TableFunction, udtf

from streamscore.shared.drift.assessment import assess, baseline_entry
from streamscore.shared.spec import DriftThresholds
from streamscore.streaming.drift_partials import split, window_stats

log = logging.getLogger("streamscore.drift")

RESULT_COLUMNS = [
    ("feature", DataTypes.STRING()),
    ("count", DataTypes.BIGINT()),
    ("null_rate", DataTypes.DOUBLE()),
    ("mean", DataTypes.DOUBLE()),
    ("std", DataTypes.DOUBLE()),
    ("min", DataTypes.DOUBLE()),
    ("max", DataTypes.DOUBLE()),
    ("unknown_rate", DataTypes.DOUBLE()),
    ("bin_counts", DataTypes.ARRAY(DataTypes.BIGINT())),
    ("psi", DataTypes.DOUBLE()),
    ("js_distance", DataTypes.DOUBLE()),
    ("ks_statistic", DataTypes.DOUBLE()),
    ("mean_shift_std", DataTypes.DOUBLE()),
    ("level", DataTypes.STRING()),
]


class DriftRecords(TableFunction):
    def __init__(
        self,
        *,
        pipeline: str,
        workdir: str,
        tracking_uri: str,
        names: list[str],
        stride: int,
        thresholds: list[dict[str, float]],
        min_count: int,
    ) -> None:
        self.pipeline = pipeline
        self.workdir = workdir
        self.tracking_uri = tracking_uri
        self.names = names
        self.stride = stride
        self.thresholds = thresholds
        self.min_count = min_count

    def open(self, function_context: FunctionContext) -> None:
        os.environ["MLFLOW_TRACKING_URI"] = self.tracking_uri
        from streamscore.scoring.registry import ModelRegistry

        self.registry = ModelRegistry(self.pipeline, Path(self.workdir))
        self.baselines: dict[str, dict[str, Any]] = {}
        self.latest: dict[str, dict[str, float]] = {name: {"psi": 0.0, "js_distance": 0.0} for name in self.names}
        group = function_context.get_metric_group().add_group("streamscore").add_group("drift")
        for name in self.names:
            feature = group.add_group(name)
            for statistic in ("psi", "js_distance"):
                feature.gauge(f"{statistic}_millionths", lambda n=name, s=statistic: round(self.latest[n][s] * 1e6))

    def eval(self, model_version: str, packed: list[float | None]) -> Any:
        if model_version not in self.baselines:  # verified once per model version and worker
            self.baselines[model_version] = self.registry.baseline(model_version)
        baseline = self.baselines[model_version]
        columns = split(packed, len(self.names), self.stride)
        for name, column, thresholds in zip(self.names, columns, self.thresholds, strict=True):
            stats = window_stats(column)
            record = assess(stats, baseline_entry(baseline, name), DriftThresholds(**thresholds), self.min_count)
            self.latest[name] = {"psi": record["psi"], "js_distance": record["js_distance"]}
            if record["level"] == "alert":
                log.warning("drift alert level for %s (model %s): psi %.3f", name, model_version, record["psi"])
            yield (name, *[record[column] for column, _ in RESULT_COLUMNS[1:]])


def drift_records(**settings: Any) -> Any:
    return udtf(DriftRecords(**settings), result_types=[t for _, t in RESULT_COLUMNS])
