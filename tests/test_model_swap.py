"""Model updates without a restart: the running job picks up a new champion within the poll interval,
and refuses a champion whose bundle fails verification while the previous model keeps serving."""

import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests
from batch_fixtures import small_spec
from streaming_fixtures import ScoringRun, read_topic

from streamscore.shared.spec import PipelineSpec, dump_pipeline, load_pipeline, with_streaming, with_topic_suffix
from streamscore.streaming.rest_jobs import cancel

pytestmark = pytest.mark.stack


def _wait_for(stack: Any, topic: str, count: int, timeout_s: float = 120.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    while True:
        records = read_topic(stack, topic)
        if len(records) >= count or time.monotonic() > deadline:
            return records
        time.sleep(2)


def _operator_metrics(stack: Any, job_id: str, group: str) -> dict[str, float]:
    """Every operator metric of the running job under `group` (e.g. `streamscore.dead_letters`), summed over
    subtasks and keyed by the rest of its name; read through Flink's REST API."""
    rest = stack.flink_rest_url
    totals: dict[str, float] = {}
    for vertex in requests.get(f"{rest}/jobs/{job_id}", timeout=5).json()["vertices"]:
        url = f"{rest}/jobs/{job_id}/vertices/{vertex['id']}/metrics"
        ids = [m["id"] for m in requests.get(url, timeout=5).json() if f".{group}." in m["id"]]
        if ids:
            for metric in requests.get(url, params={"get": ",".join(ids)}, timeout=5).json():
                name = metric["id"].split(f".{group}.", 1)[1]
                totals[name] = totals.get(name, 0.0) + float(metric["value"])
    return totals


def test_champion_swaps_while_running_and_a_tampered_one_is_refused(
    spark: Any, flink_stack: Any, scoring: ScoringRun, payments_spec: PipelineSpec, tmp_path: Path
) -> None:
    from streamscore.batch.promote import promote
    from streamscore.batch.train import build_model
    from streamscore.deploy.cli import produce_events
    from streamscore.scoring.registry import CHAMPION, ModelRegistry
    from streamscore.streaming.submit import flink_run

    fast = with_streaming(scoring.spec, model_poll_interval=1_000, checkpoint_interval=2_000, idle_timeout=300_000)
    spec = with_topic_suffix(fast, uuid.uuid4().hex[:8])
    spec_file = dump_pipeline(spec, tmp_path / "pipeline.yaml")
    spec = load_pipeline(spec_file)
    registry = ModelRegistry(spec.name, scoring.workdir)
    original = registry.get(CHAMPION).version
    first = registry.get(CHAMPION).manifest()["model_version"]
    live = scoring.live.sort_by("event_time")
    chunks = [live.slice(i * 1_000, 1_000) for i in range(4)]

    job = flink_run(flink_stack, spec_file, scoring.workdir, group_id=f"swap-{uuid.uuid4().hex[:8]}", bounded=False)
    assert job.job_id is not None, job.output
    try:
        broken = produce_events(spec, chunks[0], malformed_rate=0.05, seed=1).malformed
        before = _wait_for(flink_stack, spec.topics.scored, 900)
        assert {s["model_version"] for s in before} == {first}
        dead = _wait_for(flink_stack, spec.topics.dead_letters, sum(broken.values()))
        by_reason = Counter(d["reason"] for d in dead)
        deadline = time.monotonic() + 60  # the REST API serves metrics fetched every few seconds
        while True:
            metrics = _operator_metrics(flink_stack, job.job_id, "streamscore")
            counted = {
                k.removeprefix("dead_letters.").removesuffix(".count"): v
                for k, v in metrics.items()
                if k.startswith("dead_letters.")
            }
            if counted == by_reason or time.monotonic() > deadline:
                break
            time.sleep(2)
        assert counted == by_reason
        assert metrics["scored"] >= len(before)

        other = small_spec(payments_spec, seed=7, params={"n_estimators": 30, "max_depth": 3, "learning_rate": 0.3})
        build_model(
            spark,
            other.model_copy(update={"topics": spec.topics}),
            scoring.spec_file.parent / "history",
            scoring.workdir,
            progress=lambda _: None,
        )
        assert promote(spec, scoring.workdir, force=True, reason="swap test").promoted
        second = registry.get(CHAMPION).manifest()["model_version"]
        time.sleep(3)  # > poll interval
        produce_events(spec, chunks[1], malformed_rate=0.0, seed=2)
        produce_events(spec, chunks[2], malformed_rate=0.0, seed=3)
        after = _wait_for(flink_stack, spec.topics.scored, 2_900)
        assert second != first and second in {s["model_version"] for s in after}

        # Point champion back at the first bundle after breaking it: the job must refuse it and keep `second`.
        old = registry.get("1")
        baseline = old.path / "baseline.json"
        intact = baseline.read_bytes()
        baseline.write_bytes(intact + b" ")
        try:
            registry.set_alias(CHAMPION, old.version)
            time.sleep(3)
            produce_events(spec, chunks[3], malformed_rate=0.0, seed=4)
            final = _wait_for(flink_stack, spec.topics.scored, 3_900)
        finally:
            baseline.write_bytes(intact)
        ids = set(chunks[3]["event_id"].to_pylist())
        last = [s for s in final if s["event_id"] in ids]
        assert last and {s["model_version"] for s in last} == {second}
        # The registry is polled off the scoring thread, which counts what the poller saw.
        deadline = time.monotonic() + 60
        while True:
            metrics = _operator_metrics(flink_stack, job.job_id, "streamscore")
            if metrics.get("model_swap_failures", 0) >= 1 or time.monotonic() > deadline:
                break
            time.sleep(2)
        assert metrics["model_swaps"] >= 1 and metrics["model_swap_failures"] >= 1
        assert metrics.get("model_registry_errors", 0) == 0  # reported once counted
    finally:
        cancel(flink_stack, job.job_id)
        registry.set_alias(CHAMPION, original)
