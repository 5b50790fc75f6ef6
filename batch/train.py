"""Job: train on a snapshot, beat the rule baseline in money, export to ONNX behind the parity gate, register.

    spark-submit batch/train.py --pipeline examples/payments/pipeline.yaml --history data/payments/history

Steps: training set (reused when cached) -> time split -> baseline -> hyperparameter search on
the validation period (chosen by expected cost) -> test metrics for model and baseline -> ONNX
export and parity gate on the whole test set -> bundle -> MLflow registry as `challenger`.
A failed data check or parity gate stops the job before anything is registered.
"""

import hashlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from pyspark.sql import DataFrame, SparkSession

from streamscore.batch.baseline_rules import RuleBaseline
from streamscore.batch.estimators import SCORE_COLUMN, FittedModel, fit
from streamscore.batch.evaluation import cost_optimal_threshold, evaluate
from streamscore.batch.job_args import job_parser
from streamscore.batch.lineage import environment
from streamscore.batch.parity import parity_gate
from streamscore.batch.split import TimeSplit
from streamscore.batch.training_set import LABEL_COLUMN, Snapshot, build_training_set
from streamscore.scoring.onnx_model import OnnxModel
from streamscore.scoring.registry import ModelRegistry, RegisteredModel
from streamscore.shared.bundle import BASELINE_FILE, MODEL_FILE, write_manifest
from streamscore.shared.features.vector import FeatureVector
from streamscore.shared.reference import describe_category, describe_numeric
from streamscore.shared.spec import CategoryFeature, PipelineSpec, load_pipeline

Progress = Callable[[str], None]


@dataclass(frozen=True)
class TrainResult:
    bundle: Path
    manifest: dict[str, Any]
    registered: RegisteredModel
    search: list[dict[str, Any]]


@dataclass(frozen=True)
class Period:
    features: npt.NDArray[np.float32]
    labels: npt.NDArray[np.int64]
    native: npt.NDArray[np.float64]
    frame: pd.DataFrame


def _period(fitted: FittedModel, frame: DataFrame, spec: PipelineSpec) -> Period:
    keep = [spec.event.id, spec.event.key, spec.event.time, LABEL_COLUMN]
    scored = fitted.score(frame, keep).sort_values([spec.event.time, spec.event.id], kind="stable")
    return Period(
        features=scored[fitted.names].to_numpy(np.float32),
        labels=scored[LABEL_COLUMN].to_numpy(np.int64),
        native=scored[SCORE_COLUMN].to_numpy(np.float64),
        frame=scored,
    )


def search_space(spec: PipelineSpec) -> list[dict[str, Any]]:
    """The spec's params overlaid with every combination of the `search` values (one entry if none)."""
    keys = sorted(spec.model.search)
    combos = itertools.product(*[spec.model.search[k] for k in keys])
    return [{**spec.model.params, **dict(zip(keys, values, strict=True))} for values in combos]


def reference_stats(spec: PipelineSpec, features: npt.NDArray[np.float32], scores: npt.NDArray[np.float32]) -> dict:
    """baseline.json: per feature and for the score, what the training data looked like."""
    columns: dict[str, Any] = {}
    for i, feature in enumerate(FeatureVector.of(spec).features):
        values = features[:, i]
        if isinstance(feature, CategoryFeature):
            columns[feature.name] = describe_category(values, feature.vocabulary)
        else:
            columns[feature.name] = describe_numeric(values, spec.drift.bins)
    return {"bins": spec.drift.bins, "features": columns, "score": describe_numeric(scores, spec.drift.bins)}


def _model_version(spec: PipelineSpec, snapshot: Snapshot, params: dict[str, Any], created: datetime) -> str:
    digest = hashlib.sha256(json.dumps([snapshot.content_hash, params], sort_keys=True).encode()).hexdigest()
    return f"{spec.name}-{created:%Y%m%dT%H%M%SZ}-{digest[:8]}"


def train_model(
    spark: SparkSession,
    spec: PipelineSpec,
    snapshot: Snapshot,
    workdir: Path,
    workers: int,
    progress: Progress = print,
) -> TrainResult:
    names = FeatureVector.of(spec).names
    data = spark.read.parquet(str(snapshot.path / "data"))
    split = TimeSplit.of(spec, snapshot.first_ms, snapshot.last_ms)
    train = split.part(data, "train", spec.event.time).cache()
    validation = split.part(data, "validation", spec.event.time).cache()
    test = split.part(data, "test", spec.event.time)
    costs = spec.costs

    trials: list[dict[str, Any]] = []
    best: tuple[float, float, FittedModel, Period, float] | None = None
    space = search_space(spec)
    for i, params in enumerate(space, 1):
        progress(f"search {i}/{len(space)}: {spec.model.algorithm} {params}")
        fitted = fit(spec.model.algorithm, params, spec.model.seed, train, names, LABEL_COLUMN, workers)
        period = _period(fitted, validation, spec)
        threshold, cost = cost_optimal_threshold(period.labels, period.native, costs)
        loss = evaluate(period.labels, period.native, threshold, costs)["log_loss"]
        trials.append({"params": params, "validation_cost": cost, "validation_log_loss": loss, "threshold": threshold})
        if best is None or (cost, loss) < (best[0], best[1]):
            best = (cost, loss, fitted, period, threshold)
    if best is None:
        raise ValueError("empty search space")
    _, _, model, valid_period, threshold = best
    if isinstance(spec.decision.threshold, float):
        threshold = spec.decision.threshold

    progress("scoring the test period")
    test_period = _period(model, test, spec)
    metrics = evaluate(test_period.labels, test_period.native, threshold, costs)

    progress("fitting the rule baseline")
    train_features = train.select(*names).toPandas().to_numpy(np.float32)
    rules = RuleBaseline.fit(spec, train_features, names)
    rule_threshold, _ = cost_optimal_threshold(valid_period.labels, rules.score(valid_period.features, names), costs)
    baseline_metrics = evaluate(test_period.labels, rules.score(test_period.features, names), rule_threshold, costs)

    progress("exporting to ONNX and checking parity on the whole test set")
    onnx_bytes = model.to_onnx(spark).SerializeToString()
    parity = parity_gate(onnx_bytes, test_period.features, test_period.native)

    created = datetime.now(UTC)
    version = _model_version(spec, snapshot, model.params, created)
    bundle = workdir / spec.name / "bundles" / version
    bundle.mkdir(parents=True)
    (bundle / MODEL_FILE).write_bytes(onnx_bytes)
    train_scores = OnnxModel(onnx_bytes, len(names)).score(train_features)
    (bundle / BASELINE_FILE).write_text(json.dumps(reference_stats(spec, train_features, train_scores)) + "\n")
    manifest = write_manifest(
        bundle,
        {
            "model_version": version,
            "created_at": created.isoformat(),
            "pipeline": {"name": spec.name, "spec_hash": spec.spec_hash(), "spec": spec.model_dump(mode="json")},
            "feature_order": FeatureVector.of(spec).describe(),
            "algorithm": spec.model.algorithm,
            "params": model.params,
            "threshold": threshold,
            "review_band": spec.decision.review_band,
            "metrics": {"model": metrics, "baseline": baseline_metrics, "baseline_rules": rules.describe()},
            "parity_max_abs_diff": parity,
            "split": {"train": split.train, "validation": split.validation, "test": split.test},
            "search": trials,
            "lineage": {
                "snapshot": {"content_hash": snapshot.content_hash, "path": str(snapshot.path.resolve())},
                "seeds": {"model": spec.model.seed, "xgboost_workers": workers},
                **environment(spark),
            },
        },
    )
    train.unpersist()
    validation.unpersist()
    registry = ModelRegistry(spec.name, workdir)
    registered = registry.register(
        bundle,
        params={"algorithm": spec.model.algorithm, **model.params, "seed": spec.model.seed, "workers": workers},
        metrics={
            **{f"test_{k}": float(v) for k, v in metrics.items() if isinstance(v, int | float)},
            **{f"baseline_{k}": float(v) for k, v in baseline_metrics.items() if isinstance(v, int | float)},
            "parity_max_abs_diff": parity,
        },
        tags={"model_version": version, "snapshot": snapshot.content_hash, "spec_hash": spec.spec_hash()},
    )
    return TrainResult(bundle, manifest, registered, trials)


def reproduce(spark: SparkSession, spec: PipelineSpec, registered: RegisteredModel) -> float:
    """Refit from a bundle's lineage (snapshot, params, seeds) and return the max test-score difference.

    Both models score through ONNX, so the figure measures training determinism, not export error.
    """
    manifest = registered.manifest()
    lineage = manifest["lineage"]
    snapshot = Snapshot.load(Path(lineage["snapshot"]["path"]))
    names = manifest["feature_order"]["names"]
    data = spark.read.parquet(str(snapshot.path / "data"))
    split = TimeSplit(**{k: tuple(v) for k, v in manifest["split"].items()})
    refit = fit(
        manifest["algorithm"],
        manifest["params"],
        lineage["seeds"]["model"],
        split.part(data, "train", spec.event.time),
        names,
        LABEL_COLUMN,
        lineage["seeds"]["xgboost_workers"],
    )
    period = _period(refit, split.part(data, "test", spec.event.time), spec)
    original, _ = OnnxModel.from_bundle(registered.path)
    again = OnnxModel(refit.to_onnx(spark).SerializeToString(), len(names))
    return float(np.max(np.abs(original.score(period.features) - again.score(period.features)), initial=0.0))


def build_model(
    spark: SparkSession, spec: PipelineSpec, history: Path, workdir: Path, progress: Progress = print
) -> TrainResult:
    """Training set (cached by content hash) then `train_model`, with one XGBoost worker per core."""
    began = time.perf_counter()
    snapshot = build_training_set(spark, spec, history, workdir)
    progress(
        f"training set {snapshot.content_hash[:16]} ({'reused' if snapshot.reused else 'built'}, "
        f"{snapshot.rows:,} rows, {time.perf_counter() - began:.1f} s)"
    )
    workers = max(1, spark.sparkContext.defaultParallelism)
    return train_model(spark, spec, snapshot, workdir, workers, progress)


def main(argv: list[str] | None = None) -> None:
    from streamscore.batch.report import print_training_summary
    from streamscore.batch.session import local_session

    args = job_parser(__doc__).parse_args(argv)
    spec = load_pipeline(args.pipeline)
    spark = local_session("streamscore-train")
    result = build_model(spark, spec, args.history, args.workdir)
    print_training_summary(result.manifest, result.registered)


if __name__ == "__main__":
    main()
