"""Training/serving parity: the stream computes, for the same events, the feature vectors and scores
that the batch side computes with Spark and the bundle's ONNX model."""

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from streaming_fixtures import ScoringRun, batch_feature_hashes, failure_spec, read_topic, records_out

pytestmark = pytest.mark.stack


def test_stream_features_and_scores_equal_batch(spark: Any, scoring: ScoringRun) -> None:
    from streamscore.scoring.onnx_model import OnnxModel
    from streamscore.scoring.registry import CHAMPION, ModelRegistry

    spec = scoring.spec
    features, hashes = batch_feature_hashes(spark, scoring, scoring.scored)
    names = [f.name for f in spec.features]
    champion = ModelRegistry(spec.name, scoring.workdir).get(CHAMPION)
    model, _ = OnnxModel.from_bundle(Path(champion.path))
    batch_scores = model.score(features)
    stream_scores = np.array([s["score"] for s in scoring.scored], dtype=np.float32)
    stream_hashes = np.array([s["feature_hash"] for s in scoring.scored])

    assert len(features) == len(scoring.scored) > 3_000
    same_vector = hashes == stream_hashes
    assert same_vector.mean() == 1.0, f"{(~same_vector).sum()} of {len(features)} feature vectors differ"
    assert np.max(np.abs(batch_scores - stream_scores)) <= 1e-6
    assert (features[:, names.index("profile_txn_count_30d")] > 0).mean() > 0.5  # profiles were joined


def test_on_arrival_events_that_arrive_in_order_get_the_batch_features(
    spark: Any, flink_stack: Any, scoring: ScoringRun, tmp_path: Path, submit: Callable[..., str]
) -> None:
    """The same live events and published profiles through the job with `features_at: arrival`,
    produced once the job has read the profiles: every event that no event of its window (same card,
    not later) arrives after has Spark's vector, and those are nearly all of them."""
    from flink_jobs import job_state, wait

    from streamscore.deploy.cli import ensure_pipeline_topics, produce_events

    spec, spec_file = failure_spec(scoring, tmp_path, features_at="arrival")
    ensure_pipeline_topics(spec)
    job_id = submit(spec_file, scoring.workdir, group_id=f"arrival-{uuid.uuid4().hex[:8]}")
    wait(lambda: job_state(flink_stack, job_id) == "RUNNING", 120, "the job to run")
    time.sleep(5)  # the profiles topic is read from its start: its versions come before the events
    produced = produce_events(spec, scoring.live, malformed_rate=0.0, seed=0).total
    wait(lambda: records_out(flink_stack, spec) >= produced, 240, "every event out")
    scored = read_topic(flink_stack, spec.topics.scored)
    assert len(scored) == produced == scoring.live.num_rows

    # Kafka keeps each card's order (records keyed by card) and the job runs at parallelism 1.
    events = scoring.live.select([spec.event.id, spec.event.key, spec.event.time]).to_pandas()
    events["arrival"] = range(len(events))
    pairs = events.merge(events, on=spec.event.key, suffixes=("", "_later"))
    time_field = spec.event.time
    missed = pairs[(pairs["arrival_later"] > pairs["arrival"]) & (pairs[f"{time_field}_later"] <= pairs[time_field])]
    may_differ = set(missed[spec.event.id])
    _, hashes = batch_feature_hashes(spark, scoring, scored)
    differ = {s["event_id"] for s, h in zip(scored, hashes, strict=True) if s["feature_hash"] != h}
    assert differ <= may_differ, f"{len(differ - may_differ)} events that arrived in order differ"
    assert len(may_differ) < 0.01 * produced
