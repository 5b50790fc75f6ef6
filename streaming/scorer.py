"""The scoring function of the stream: a pandas UDF that scores Arrow batches with the registry's champion.

One instance per Python worker: it loads the bundles the submitter pinned (sha256s verified) and
scores each batch with ONNX Runtime on one thread. A thread of its own asks the registry every poll
interval whether `champion` moved; a new bundle is only swapped in after it passes verification,
the input shape check and a smoke score on rows built from its own baseline, otherwise the running
model keeps serving and the failure is logged and counted.

Neither the first batch nor any later one waits on MLflow: the worker opens the function at its
first bundle (Beam builds the bundle processor lazily), and there `import mlflow` and the first
registry lookup took 2.7-4.9 s, so every job answered its first events that much late. The
submitter resolves the aliases instead (`pin_models`), and the watcher's first poll comes at once:
a job restarted after a swap, whose plan still pins the bundle of its submission, serves that one
until the poll answers (seconds; every scored record names its model version).
"""

import json
import logging
import os
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pyflink.table import DataTypes
from pyflink.table.udf import FunctionContext, ScalarFunction, udf

from streamscore.scoring.onnx_model import OnnxModel
from streamscore.scoring.registry import CHALLENGER, CHAMPION, ModelRegistry
from streamscore.shared.bundle import BASELINE_FILE
from streamscore.shared.drift.assessment import baseline_entry
from streamscore.shared.errors import StreamscoreError
from streamscore.shared.hashing import feature_hash
from streamscore.shared.reference import bin_rows, edge_matrix
from streamscore.streaming.drift_partials import partials, slices_of, stride_of

log = logging.getLogger("streamscore.scorer")
SCORE_BINS = 10

Watched = tuple[tuple[str, int | None, int], ...]
"""(name, position in the vector or None for the score, most bins) per watched distribution."""


Pinned = dict[str, tuple[str, int]]
"""alias -> (bundle directory, registry version), resolved when the job is planned."""

SWAPS, REFUSED, REGISTRY_ERRORS = "model_swaps", "model_swap_failures", "model_registry_errors"
"""The watcher's counters. Flink's Python metrics count into the current bundle's container, which
only the scoring thread has, so the watcher queues their names and `eval` counts them."""


def pin_models(pipeline: str, workdir: Path, shadow: bool) -> Pinned:
    """The bundles a job starts with: `champion`, and `challenger` if it shadow-scores and one exists.

    Raises:
        StreamscoreError: the pipeline has no `champion` (at submission, not at the first event).
    """
    registry = ModelRegistry(pipeline, workdir)
    pinned = {}
    for alias in (CHAMPION, CHALLENGER) if shadow else (CHAMPION,):
        found = registry.find(alias)
        if found is not None:
            pinned[alias] = (str(found.path), found.version)
    if CHAMPION not in pinned:
        raise StreamscoreError(f"no `champion` for {pipeline!r}: train and promote a model first")
    return pinned


LOAD_ERRORS = (StreamscoreError, OSError, KeyError, ValueError)
"""What a bundle that cannot serve raises: missing or altered files, a bad manifest, a failed smoke score."""

PARTIALS_FIELD = "drift_partials"
"""The result field with the watched distributions' partials (streaming/drift_partials.py): set on the
first row of each window slice in a batch, null on the others."""


def result_type(watched: Watched) -> Any:
    return DataTypes.ROW(
        [
            DataTypes.FIELD("score", DataTypes.FLOAT()),
            DataTypes.FIELD("decision", DataTypes.BOOLEAN()),
            DataTypes.FIELD("review", DataTypes.BOOLEAN()),
            DataTypes.FIELD("model_version", DataTypes.STRING()),
            DataTypes.FIELD("feature_hash", DataTypes.BIGINT()),
            DataTypes.FIELD("challenger_score", DataTypes.FLOAT()),
            DataTypes.FIELD("challenger_version", DataTypes.STRING()),
            *([DataTypes.FIELD(PARTIALS_FIELD, DataTypes.ARRAY(DataTypes.DOUBLE()))] if watched else []),
        ]
    )


class LoadedModel:
    """A verified bundle ready to score: the model, its version, threshold and registry version."""

    def __init__(self, path: Path, registry_version: int, feature_version: str, watched: Watched) -> None:
        self.model, manifest = OnnxModel.from_bundle(path)
        if manifest["feature_order"]["version"] != feature_version:
            raise StreamscoreError(
                f"bundle {manifest['model_version']} was trained on feature version "
                f"{manifest['feature_order']['version']}, this job computes {feature_version}"
            )
        self.version = str(manifest["model_version"])
        self.threshold = float(manifest["threshold"])
        self.registry_version = registry_version
        baseline = json.loads((path / BASELINE_FILE).read_text())
        self.edges = edge_matrix([self._edges(baseline, name, max_bins) for name, _, max_bins in watched])
        self._smoke_test(baseline["features"])

    def _edges(self, baseline: dict[str, Any], name: str, max_bins: int) -> list[float]:
        edges = [float(e) for e in baseline_entry(baseline, name)["edges"]]
        if len(edges) + 1 > max_bins:
            raise StreamscoreError(
                f"bundle {self.version}: {name} has {len(edges) + 1} baseline bins, the spec allows {max_bins}"
            )
        return edges

    def _smoke_test(self, baseline: dict[str, Any]) -> None:
        """Score rows built from the bundle's own baseline (min, mean, max per feature): finite, in [0, 1]."""
        stats = list(baseline.values())
        rows = np.array([[s[k] for s in stats] for k in ("min", "mean", "max")], dtype=np.float32)
        scores = self.model.score(rows)
        if scores.shape != (3,) or not np.all(np.isfinite(scores)) or scores.min() < 0 or scores.max() > 1:
            raise StreamscoreError(f"bundle {self.version} failed its smoke score: {scores.tolist()}")


class ChampionScorer(ScalarFunction):
    """features (FLOAT columns in vector order) [, event time in epoch ms when watching drift] ->
    ROW(score, decision, review, model_version, feature_hash, ..., drift partials)."""

    def __init__(
        self,
        *,
        pipeline: str,
        workdir: str,
        tracking_uri: str | None,
        feature_version: str,
        poll_interval_ms: int,
        review_band: tuple[float, float] | None,
        shadow: bool,
        watched: Watched,
        drift_slide_ms: int,
        pinned: Pinned,
    ) -> None:
        self.pipeline = pipeline
        self.workdir = workdir
        self.tracking_uri = tracking_uri
        self.feature_version = feature_version
        self.poll_interval_s = poll_interval_ms / 1000
        self.review_band = review_band
        self.shadow = shadow
        self.watched = watched
        self.stride = stride_of(m for _, _, m in watched) if watched else 0
        self.drift_slide_ms = drift_slide_ms
        self.pinned = pinned

    def open(self, function_context: FunctionContext) -> None:
        if self.tracking_uri:
            os.environ["MLFLOW_TRACKING_URI"] = self.tracking_uri
        champion = self._pinned(CHAMPION)
        if champion is None:
            raise StreamscoreError(f"no `champion` for {self.pipeline!r}: train and promote a model first")
        self.champion = champion
        self.challenger = self._pinned(CHALLENGER) if CHALLENGER in self.pinned else None
        group = function_context.get_metric_group().add_group("streamscore")
        self.counters = {name: group.counter(name) for name in (SWAPS, REFUSED, REGISTRY_ERRORS)}
        self.scored = group.counter("scored")
        self.flagged = group.counter("flagged")
        self.score_bins = [group.counter(f"score_bin_{i}") for i in range(SCORE_BINS)]
        group.gauge("model_registry_version", lambda: self.champion.registry_version)
        self.batch_ms = 0
        group.gauge("scoring_batch_ms", lambda: self.batch_ms)
        self.counted: deque[str] = deque()
        self.stopped = threading.Event()
        threading.Thread(target=self._watch, name="streamscore-registry", daemon=True).start()

    def _pinned(self, alias: str) -> LoadedModel | None:
        """The bundle the plan pinned or, if it cannot be loaded any more (a job restarted after that
        version was deleted), the registry's current one: a slower start instead of a crash loop."""
        path, version = self.pinned[alias]
        try:
            return LoadedModel(Path(path), version, self.feature_version, self.watched)
        except LOAD_ERRORS as exc:
            log.warning("pinned %s v%s of %s: %s; asking the registry", alias, version, self.pipeline, exc)
        found = ModelRegistry(self.pipeline, Path(self.workdir)).find(alias)
        return None if found is None else LoadedModel(found.path, found.version, self.feature_version, self.watched)

    def close(self) -> None:
        self.stopped.set()

    def _watch(self) -> None:
        """Poll the registry until closed, the first time at once; a failing poll is logged, counted and
        retried at the next interval while the running models keep serving."""
        registry = None
        while True:
            try:
                registry = registry or ModelRegistry(self.pipeline, Path(self.workdir))
                self.champion = self._load(registry, CHAMPION, self.champion) or self.champion
                if self.shadow:
                    self.challenger = self._load(registry, CHALLENGER, self.challenger)
            except Exception:
                log.exception("polling the model registry of %s failed, the running model keeps serving", self.pipeline)
                self.counted.append(REGISTRY_ERRORS)
            if self.stopped.wait(self.poll_interval_s):
                return

    def _load(self, registry: ModelRegistry, alias: str, current: LoadedModel | None) -> LoadedModel | None:
        """The model under `alias`, or `current` if unchanged, absent, or failing verification."""
        found = registry.find(alias)
        if found is None or (current is not None and found.version == current.registry_version):
            return current
        try:
            loaded = LoadedModel(found.path, found.version, self.feature_version, self.watched)
        except LOAD_ERRORS as exc:
            log.error("refusing %s v%s of %s, keeping the running model: %s", alias, found.version, self.pipeline, exc)
            if current is not None:
                self.counted.append(REFUSED)
            return current
        if current is not None:
            log.warning("%s of %s: %s -> %s", alias, self.pipeline, current.version, loaded.version)
            self.counted.append(SWAPS)
        return loaded

    def eval(self, *columns: pd.Series) -> pd.DataFrame:
        began = time.perf_counter()
        while self.counted:
            self.counters[self.counted.popleft()].inc()
        champion, challenger = self.champion, self.challenger  # the watcher may swap either meanwhile
        if self.watched:
            *columns, times = columns
        features = np.column_stack([c.to_numpy(dtype=np.float32, na_value=np.nan) for c in columns])
        scores = champion.model.score(features)
        n = len(scores)
        review = np.zeros(n, dtype=bool)
        if self.review_band is not None:
            low, high = self.review_band
            review = (scores >= low) & (scores <= high)
        result = pd.DataFrame(
            {
                "score": scores,
                "decision": scores >= champion.threshold,
                "review": review,
                "model_version": np.full(n, champion.version, dtype=object),
                "feature_hash": feature_hash(features),
                # NaN reaches Flink as NULL: PyFlink masks pandas nulls when building the Arrow batch.
                "challenger_score": (
                    challenger.model.score(features) if challenger else np.full(n, np.nan, np.float32)
                ),
                "challenger_version": np.full(n, challenger.version if challenger else None, dtype=object),
            }
        )
        if self.watched:
            self._add_partials(result, champion, features, scores, times.to_numpy(dtype=np.int64))
        bins = np.bincount(np.minimum((scores * SCORE_BINS).astype(int), SCORE_BINS - 1), minlength=SCORE_BINS)
        for counter, count in zip(self.score_bins, bins.tolist(), strict=True):
            counter.inc(count)
        self.scored.inc(n)
        self.flagged.inc(int(result["decision"].sum()))
        self.batch_ms = int((time.perf_counter() - began) * 1000)
        return result

    def _add_partials(
        self,
        result: pd.DataFrame,
        champion: LoadedModel,
        features: np.ndarray,
        scores: np.ndarray,
        times: np.ndarray,
    ) -> None:
        """The drift partials of this batch per window slice, on the first row of each slice: that row's
        event time puts them in their slice's windows."""
        groups, first = slices_of(times, self.drift_slide_ms)
        values = np.stack([scores if position is None else features[:, position] for _, position, _ in self.watched])
        bins = bin_rows(values, champion.edges)
        rows = partials(values, bins, groups, len(first), self.stride)
        column = np.full(len(result), None, dtype=object)
        for row, index in zip(rows, first, strict=True):
            column[index] = row
        result[PARTIALS_FIELD] = column


def champion_scorer(**settings: Any) -> Any:
    """The registered pandas UDF: Flink hands it Arrow batches of the feature columns."""
    return udf(ChampionScorer(**settings), result_type=result_type(settings["watched"]), func_type="pandas")
