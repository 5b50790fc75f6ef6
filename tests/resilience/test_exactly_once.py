"""Exactly once across a crash: kill -9 the TaskManager mid-stream, let the job restart from its last
checkpoint, drain it, and read with read_committed: every event is scored or dead-lettered once."""

import os
import signal
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from flink_jobs import accounting, job_state, stop_with_savepoint, wait
from streaming_fixtures import ScoringRun, read_topic

from streamscore.shared.spec import dump_pipeline, load_pipeline, with_topic_suffix

pytestmark = pytest.mark.stack


def test_a_taskmanager_crash_loses_and_duplicates_nothing(
    flink_stack: Any, scoring: ScoringRun, tmp_path: Path
) -> None:
    from streamscore.deploy.cli import produce_events
    from streamscore.deploy.flink_cluster import FlinkTaskManager
    from streamscore.streaming.submit import flink_run

    # No partition idles during the test: the drain's final watermark must reach the event-time operators
    # (FLINK-40499), and a burst after a pause must not make the other partition's events late.
    fast = scoring.spec.streaming.model_copy(update={"checkpoint_interval": 2_000, "idle_timeout": 300_000})
    spec = with_topic_suffix(scoring.spec.model_copy(update={"streaming": fast}), uuid.uuid4().hex[:8])
    spec_file = dump_pipeline(spec, tmp_path / "pipeline.yaml")
    spec = load_pipeline(spec_file)
    live = scoring.live.sort_by("event_time")
    first, second = live.slice(0, 2_000), live.slice(2_000, 1_500)

    produced = produce_events(spec, first, malformed_rate=0.02, seed=5).total
    group = f"eo-{uuid.uuid4().hex[:8]}"
    job = flink_run(flink_stack, spec_file, scoring.workdir, group_id=group, bounded=False)
    assert job.job_id is not None
    wait(lambda: len(read_topic(flink_stack, spec.topics.scored)) > 500, 120, "the first committed output")

    taskmanager = FlinkTaskManager(flink_stack)
    pid = taskmanager.pid()
    assert pid is not None
    os.killpg(pid, signal.SIGKILL)  # a crash: no shutdown hooks, no flush
    crashed = time.monotonic()
    taskmanager.start()
    produced += produce_events(spec, second, malformed_rate=0.02, seed=6).total
    wait(lambda: job_state(flink_stack, job.job_id) == "RUNNING", 120, "the job to run again")
    wait(lambda: len(read_topic(flink_stack, spec.topics.scored)) > 2_500, 180, "output after recovery")
    recovery_s = time.monotonic() - crashed  # kill -9 until new output is committed

    def nearly_all_out() -> bool:  # all but the few events the watermark still holds in windows
        out = len(read_topic(flink_stack, spec.topics.scored)) + len(read_topic(flink_stack, spec.topics.dead_letters))
        return out >= produced - 10

    wait(nearly_all_out, 180, "the input to be consumed")

    # Drain: stop with a savepoint and MAX_WATERMARK, so every buffered window fires and commits.
    stop_with_savepoint(flink_stack, job.job_id, str(tmp_path / "savepoints"), drain=True)

    def everything_visible() -> bool:  # the drain's last transaction may commit after the job is FINISHED
        out = len(read_topic(flink_stack, spec.topics.scored)) + len(read_topic(flink_stack, spec.topics.dead_letters))
        return out >= produced

    try:
        settle_s = wait(everything_visible, 60, "the last transaction to become visible")
    except AssertionError:
        settle_s = float("nan")
    scored, dead = read_topic(flink_stack, spec.topics.scored), read_topic(flink_stack, spec.topics.dead_letters)
    ids = [s["event_id"] for s in scored]
    print(
        f"\nexactly-once after kill -9 of the TaskManager: {accounting(produced, scored, dead)}, "
        f"recovery {recovery_s:.1f} s, visible {settle_s:.1f} s after finish"
    )
    if len(scored) + len(dead) != produced:
        from streamscore.deploy.kafka_io import RegistryClient, consume_all, decode

        registry, seen = RegistryClient(flink_stack.registry_url), set(ids)
        uncommitted = consume_all(flink_stack.bootstrap_servers, spec.topics.scored, 3_000, read_committed=False)
        print("read_uncommitted sees", len(uncommitted), "scored records;", len(scored), "committed")
        dead_at = {(d["source_partition"], d["source_offset"]) for d in dead}
        for m in consume_all(flink_stack.bootstrap_servers, spec.topics.events, timeout_ms=3_000):
            if (m.partition, m.offset) not in dead_at:
                event = decode(registry, m.value)
                if event["event_id"] not in seen:
                    print("missing", m.partition, m.offset, m.timestamp, event)
    assert len(ids) == len(set(ids))
    assert len({(d["source_partition"], d["source_offset"]) for d in dead}) == len(dead)
    assert len(scored) + len(dead) == produced
