"""A whole scoring run for the streaming tests: train and promote, publish profiles, produce live
events (some broken), run the job on the Flink cluster until the input ends, read everything back."""

import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
from batch_fixtures import history, small_spec, write

from streamscore.shared.spec import PipelineSpec, dump_pipeline, load_pipeline, with_streaming, with_topic_suffix


@dataclass
class ScoringRun:
    spec: PipelineSpec
    spec_file: Path
    workdir: Path
    live: pa.Table
    produced: int
    malformed: dict[str, int]
    as_of_ms: int
    scored: list[dict[str, Any]]
    dead: list[dict[str, Any]]
    review: list[dict[str, Any]]
    champion_version: str

    def reasons(self) -> Counter[str]:
        return Counter(d["reason"] for d in self.dead)


def unique_spec(base: PipelineSpec, folder: Path) -> tuple[PipelineSpec, Path]:
    """`base` on topics of its own, written to a YAML file (the job loads the spec from a file)."""
    path = dump_pipeline(with_topic_suffix(base, uuid.uuid4().hex[:8]), folder / "pipeline.yaml")
    return load_pipeline(path), path


def failure_spec(run: ScoringRun, folder: Path, features_at: str = "watermark") -> tuple[PipelineSpec, Path]:
    """`run`'s pipeline on topics of its own, reading the run's published profiles, for a test that runs
    the job unbounded (a failure under it, an upgrade, features on arrival): checkpoints every 2 s,
    and no partition ever idles (the drain's final watermark must reach the event-time operators,
    FLINK-40499, and a burst after a pause must not make the other partition's events late)."""
    fast = with_streaming(run.spec, checkpoint_interval=2_000, idle_timeout=300_000, features_at=features_at)
    spec = with_topic_suffix(fast, uuid.uuid4().hex[:8])
    topics = spec.topics.model_copy(update={"profiles": run.spec.topics.profiles})
    spec_file = dump_pipeline(spec.model_copy(update={"topics": topics}), folder / "pipeline.yaml")
    return load_pipeline(spec_file), spec_file


def records_out(stack: Any, spec: PipelineSpec) -> int:
    """Committed scored records plus dead letters: what has come out of the job so far."""
    return len(read_topic(stack, spec.topics.scored)) + len(read_topic(stack, spec.topics.dead_letters))


def read_topic(stack: Any, topic: str) -> list[dict[str, Any]]:
    from streamscore.deploy.kafka_io import RegistryClient, read_decoded

    return read_decoded(stack.bootstrap_servers, RegistryClient(stack.registry_url), topic)


def scoring_run(spark: Any, stack: Any, payments_spec: PipelineSpec, folder: Path, live_events: int) -> ScoringRun:
    from streamscore.batch.profiles import build_profiles
    from streamscore.batch.promote import promote
    from streamscore.batch.train import build_model
    from streamscore.deploy.cli import produce_events
    from streamscore.scoring.registry import CHAMPION, ModelRegistry
    from streamscore.streaming.submit import flink_run

    spec, spec_file = unique_spec(small_spec(payments_spec), folder)
    workdir = folder / "work"
    history_dir = write(history(spec, events=30_000, days=10.0), folder / "history")
    build_model(spark, spec, history_dir, workdir, progress=lambda _: None)
    promote(spec, workdir)
    profiles = build_profiles(spark, spec, history_dir, workdir, kafka=(stack.bootstrap_servers, stack.registry_url))
    from streamscore.shared.synthetic import generator_for

    generator, config = generator_for(spec, events=live_events, seed=11, start_ms=profiles.as_of_ms, days=0.5)
    live = generator(config)
    report = produce_events(spec, live, malformed_rate=0.02, seed=11)
    flink_run(stack, spec_file, workdir, group_id=f"test-{uuid.uuid4().hex[:8]}", bounded=True, timeout_s=600)
    champion = ModelRegistry(spec.name, workdir).get(CHAMPION).manifest()["model_version"]
    return ScoringRun(
        spec=spec,
        spec_file=spec_file,
        workdir=workdir,
        live=live,
        produced=report.total,
        malformed=dict(report.malformed),
        as_of_ms=profiles.as_of_ms,
        scored=read_topic(stack, spec.topics.scored),
        dead=read_topic(stack, spec.topics.dead_letters),
        review=read_topic(stack, spec.topics.review),
        champion_version=champion,
    )


def batch_feature_hashes(spark: Any, run: ScoringRun, scored: list[dict[str, Any]]) -> tuple[Any, Any]:
    """(feature vectors, their hashes) that Spark computes for the `scored` events of `run`'s live
    table, with the profiles the stream looked up: what the stream must have computed."""
    import numpy as np
    import pyarrow.compute as pc

    from streamscore.batch.features import compute_features, profiles_as_of
    from streamscore.shared.hashing import feature_hash

    spec = run.spec
    ids = [s["event_id"] for s in scored]
    live = run.live.filter(pc.is_in(run.live["event_id"], pa.array(ids)))
    history = spark.read.parquet(str(run.spec_file.parent / "history"))
    profiles = profiles_as_of(spark, history, spec, run.as_of_ms)
    batch = compute_features(spark, spark.createDataFrame(live), spec, profiles).toPandas().set_index(spec.event.id)
    features = batch.loc[ids, [f.name for f in spec.features]].to_numpy(np.float32)
    return features, feature_hash(features)
