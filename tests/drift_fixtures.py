"""A drift run: a model on three stationary features, then a stream whose amounts triple at a known
time, scored by the job on the Flink cluster; everything the job wrote is read back."""

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
from batch_fixtures import START_MS, history, small_spec, write
from streaming_fixtures import read_topic, unique_spec

from streamscore.shared.drift.assessment import SCORE, baseline_entry
from streamscore.shared.spec import BaselineConfig, BaselineRule, PipelineSpec

WATCHED = ("log_amount", "merchant_category_code", "channel_code")
MINUTE = 60_000
STREAM_START = START_MS + 11 * 86_400_000
SHIFT_AT = STREAM_START + 120 * MINUTE
STREAM_END = STREAM_START + 150 * MINUTE


@dataclass
class DriftRun:
    spec: PipelineSpec
    spec_file: Path
    workdir: Path
    live: pa.Table
    produced: int
    scored: list[dict[str, Any]]
    dead: list[dict[str, Any]]
    drift: list[dict[str, Any]]
    alerts: list[dict[str, Any]]
    score_edges: list[float]


def drift_spec(payments: PipelineSpec) -> PipelineSpec:
    """Features whose distribution does not depend on the stream's rate or on its history, so a
    stream from the training generator is stationary unless a shift is injected."""
    base = small_spec(payments)
    return base.model_copy(
        update={
            "name": "payments_drift",  # a registered model of its own, not the other tests' `payments`
            "features": [f for f in base.features if f.name in WATCHED],
            "baseline": BaselineConfig(rules=[BaselineRule(feature="log_amount", quantile=0.99)]),
            "drift": base.drift.model_copy(update={"exclude": []}),
        }
    )


def drift_run(spark: Any, stack: Any, payments: PipelineSpec, folder: Path) -> DriftRun:
    import json

    from streamscore.batch.promote import promote
    from streamscore.batch.train import build_model
    from streamscore.deploy.cli import produce_events
    from streamscore.scoring.registry import CHAMPION, ModelRegistry
    from streamscore.shared.synthetic import DriftInjection, generator_for
    from streamscore.streaming.submit import flink_run

    spec, spec_file = unique_spec(drift_spec(payments), folder)
    workdir = folder / "work"
    build_model(spark, spec, write(history(spec, events=30_000, days=10.0), folder / "history"), workdir, print)
    promote(spec, workdir)
    shift = DriftInjection(field="amount", start_ms=SHIFT_AT, scale=3.0)
    generator, config = generator_for(
        spec, events=40_000, seed=21, start_ms=STREAM_START, days=(STREAM_END - STREAM_START) / 86_400_000, drift=shift
    )
    live = generator(config)
    report = produce_events(spec, live, malformed_rate=0.01, seed=21)
    # Parallelism 2: each subtask aggregates its own slices, the global step merges them.
    group = f"test-{uuid.uuid4().hex[:8]}"
    flink_run(stack, spec_file, workdir, group_id=group, bounded=True, parallelism=2, timeout_s=600)
    champion = ModelRegistry(spec.name, workdir).get(CHAMPION)
    baseline = json.loads((champion.path / "baseline.json").read_text())
    return DriftRun(
        spec=spec,
        spec_file=spec_file,
        workdir=workdir,
        live=live,
        produced=report.total,
        scored=read_topic(stack, spec.topics.scored),
        dead=read_topic(stack, spec.topics.dead_letters),
        drift=read_topic(stack, spec.topics.drift),
        alerts=read_topic(stack, spec.topics.alerts),
        score_edges=baseline_entry(baseline, SCORE)["edges"],
    )
