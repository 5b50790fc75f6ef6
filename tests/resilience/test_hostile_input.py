"""A fuzz run: over 10,000 hostile messages of every kind in deploy/hostile.py mixed into valid traffic.
Every one is dead-lettered with the reason its kind must get, every valid event is scored with the
features Spark computes for it, and the job never restarts."""

import contextlib
import dataclasses
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
from flink_jobs import accounting, job_state, stop_with_savepoint, wait
from streaming_fixtures import ScoringRun, batch_feature_hashes, failure_spec, read_topic, records_out

pytestmark = pytest.mark.stack

HOSTILE = 10_000


def test_ten_thousand_hostile_messages_are_dead_lettered_and_valid_events_scored(
    spark: Any, flink_stack: Any, scoring: ScoringRun, tmp_path: Path, submit: Callable[..., str]
) -> None:
    from streamscore.deploy.cli import produce_events
    from streamscore.deploy.hostile import KINDS, REASONS
    from streamscore.shared.synthetic import generator_for

    spec, spec_file = failure_spec(scoring, tmp_path)
    generator, config = generator_for(spec, events=16_000, seed=29, start_ms=scoring.as_of_ms, days=0.5)
    live = generator(config).sort_by("event_time")

    report = produce_events(spec, live, malformed_rate=0.65, seed=29)
    hostile = sum(report.malformed.values())
    assert hostile >= HOSTILE and set(report.malformed) == set(KINDS)
    job_id = submit(spec_file, scoring.workdir, group_id=f"fuzz-{uuid.uuid4().hex[:8]}")

    def out() -> int:
        return records_out(flink_stack, spec)

    wait(lambda: out() >= report.total - 10, 300, "the input to be consumed")  # a few wait for the watermark
    assert job_state(flink_stack, job_id) == "RUNNING"
    exceptions = requests.get(f"{flink_stack.flink_rest_url}/jobs/{job_id}/exceptions", timeout=5).json()
    assert exceptions["exceptionHistory"]["entries"] == [], "the job failed and restarted on hostile input"
    stop_with_savepoint(flink_stack, job_id, str(tmp_path / "savepoints"), drain=True)
    with contextlib.suppress(AssertionError):  # a shortfall is reported and asserted below
        wait(lambda: out() >= report.total, 60, "the drain's last transaction")

    scored, dead = read_topic(flink_stack, spec.topics.scored), read_topic(flink_stack, spec.topics.dead_letters)
    expected = Counter[str]()
    for kind, count in report.malformed.items():
        expected[REASONS[kind]] += count
    reasons = Counter(d["reason"] for d in dead)
    print(
        f"\nfuzz: {hostile} hostile of {report.total} ({dict(report.malformed)}): "
        f"{accounting(report.total, scored, dead)}; dead letters by reason {dict(reasons)}"
    )
    assert reasons == expected
    assert all(d["detail"] and d["original"] is not None for d in dead)
    ids = [s["event_id"] for s in scored]
    assert len(scored) == report.valid and len(set(ids)) == len(ids)
    _, hashes = batch_feature_hashes(spark, dataclasses.replace(scoring, live=live), scored)
    differ = np.flatnonzero(hashes != np.array([s["feature_hash"] for s in scored]))
    assert differ.size == 0, f"{differ.size} of {len(scored)} feature vectors differ from batch, e.g. {ids[differ[0]]}"
