"""Exactly once across failures, on the cluster mode (three brokers, two TaskManagers), while a stream is
being scored: kill -9 a TaskManager (also under the `latency` runtime profile, whose state is
restored from Flink's state changelog); cancel the whole job and start it again from its latest
retained checkpoint; kill -9 a Kafka broker. Each time the job recovers, and reading with
read_committed every event is scored or dead-lettered exactly once."""

import os
import signal
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from flink_jobs import accounting, job_state, stop_with_savepoint, wait
from streaming_fixtures import ScoringRun, failure_spec, read_topic, records_out

from streamscore.streaming.rest_jobs import cancel

pytestmark = pytest.mark.stack


def _kill(service: Any) -> None:
    pid = service.pid()
    assert pid is not None, f"{service.name} is not running"
    os.killpg(pid, signal.SIGKILL)  # a crash: no shutdown hooks, no flush
    # Until it has exited, its PID file still names a live process of ours, and a start right after the
    # kill would take it for running and start nothing.
    wait(lambda: service.pid() is None, 30, f"{service.name} to exit")


def _latest_checkpoint(stack: Any, job_id: str) -> str:
    """Read after the job has ended: while it runs, the REST answer can lag a checkpoint (checkpoints every 2 s,
    the handler's cache ~3 s) and the one it names may already be subsumed and deleted (one is retained)."""
    url = f"{stack.flink_rest_url}/jobs/{job_id}/checkpoints"
    found: dict[str, Any] = {}

    def retained() -> bool:
        found.update(requests.get(url, timeout=5).json().get("latest", {}).get("completed") or {})
        return bool(found.get("external_path"))

    wait(retained, 60, "a retained checkpoint")
    return str(found["external_path"])


@pytest.mark.parametrize(
    ("failure", "profile"),
    [
        ("taskmanager", "throughput"),
        ("taskmanager", "latency"),
        ("job_restart", "throughput"),
        ("broker", "throughput"),
    ],
)
def test_a_failure_loses_and_duplicates_nothing(
    flink_stack: Any, scoring: ScoringRun, tmp_path: Path, submit: Callable[..., str], failure: str, profile: str
) -> None:
    from streamscore.deploy.cli import produce_events
    from streamscore.deploy.flink_cluster import FlinkTaskManager
    from streamscore.deploy.stack import KafkaBroker

    assert flink_stack.kafka_brokers == 3 and flink_stack.flink_taskmanagers == 2
    spec, spec_file = failure_spec(scoring, tmp_path)
    live = scoring.live.sort_by("event_time")
    first, second = live.slice(0, 2_000), live.slice(2_000, 1_500)

    def out() -> int:
        return records_out(flink_stack, spec)

    produced = produce_events(spec, first, malformed_rate=0.02, seed=5).total
    group = f"eo-{uuid.uuid4().hex[:8]}"
    job_id = submit(spec_file, scoring.workdir, group_id=group, parallelism=2, profile=profile)
    wait(lambda: out() > 500, 120, "the first committed output")

    taskmanager, broker = FlinkTaskManager(flink_stack, 1), KafkaBroker(flink_stack, 2)

    def restart_job() -> str:
        cancel(flink_stack, job_id)
        assert job_state(flink_stack, job_id) == "CANCELED"  # not failed on its way down
        checkpoint = _latest_checkpoint(flink_stack, job_id)
        return submit(spec_file, scoring.workdir, group_id=group, parallelism=2, profile=profile, savepoint=checkpoint)

    inject: dict[str, Callable[[], str]] = {
        "taskmanager": lambda: (_kill(taskmanager), taskmanager.start(), job_id)[-1],
        "broker": lambda: (_kill(broker), job_id)[-1],
        "job_restart": restart_job,
    }
    before, failed = out(), time.monotonic()
    try:
        job_id = inject[failure]()
        produced += produce_events(spec, second, malformed_rate=0.02, seed=6).total
        wait(lambda: job_state(flink_stack, job_id) == "RUNNING", 180, "the job to run again")
        wait(lambda: out() > before, 240, "committed output after the failure")
        recovery_s = time.monotonic() - failed  # failure until new output is committed
        wait(lambda: out() >= produced - 10, 240, "the input to be consumed")  # a few wait for the watermark
        # Drain: stop with a savepoint and MAX_WATERMARK, so every buffered window fires and commits.
        stop_with_savepoint(flink_stack, job_id, str(tmp_path / "savepoints"), drain=True)
        try:  # the drain's last transaction may commit after the job is FINISHED
            settle_s = wait(lambda: out() >= produced, 60, "the last transaction to become visible")
        except AssertionError:
            settle_s = float("nan")
        scored, dead = read_topic(flink_stack, spec.topics.scored), read_topic(flink_stack, spec.topics.dead_letters)
    finally:
        if failure == "broker":
            broker.start()
    ids = [s["event_id"] for s in scored]
    print(
        f"\nexactly once after {failure} ({profile} profile): {accounting(produced, scored, dead)}, "
        f"recovery {recovery_s:.1f} s, visible {settle_s:.1f} s after finish"
    )
    assert len(ids) == len(set(ids))
    assert len({(d["source_partition"], d["source_offset"]) for d in dead}) == len(dead)
    assert len(scored) + len(dead) == produced
