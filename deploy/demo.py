"""The end-to-end demo on the local stack, run the way a user would run it.

Generate labelled history; train on it with Spark (training set, checks, xgboost.spark, ONNX
parity gate, registry) and promote; publish entity profiles to their compacted topic; produce
live events (some deliberately broken) to Kafka through the schema registry; score them with
the PyFlink job on the Flink standalone cluster; read scored events and dead letters back and
check that every record is accounted for. Each run uses topics of its own.
"""

import time
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.table import Table

from streamscore.deploy import stack as local_stack
from streamscore.deploy.kafka_io import RegistryClient, read_decoded
from streamscore.shared.errors import StreamscoreError
from streamscore.shared.spec import PipelineSpec, dump_pipeline, load_pipeline, with_topic_suffix
from streamscore.shared.synthetic import generator_for
from streamscore.streaming.submit import flink_run

DEMO_START_MS = 1_767_225_600_000  # 2026-01-01T00:00Z


def run_demo(spec: PipelineSpec, console: Console, history_events: int, live_events: int, workdir: Path) -> None:
    run = time.strftime("%Y%m%dT%H%M%S")
    spec_file = dump_pipeline(with_topic_suffix(spec, run), workdir / spec.name / "runs" / run / "pipeline.yaml")
    spec = load_pipeline(spec_file)
    generator, history_config = generator_for(spec, events=history_events, seed=1, start_ms=DEMO_START_MS, days=30)
    config = replace(local_stack.StackConfig.from_env(), flink_prometheus_port=spec.streaming.prometheus_port)
    with console.status("starting the local stack (Kafka, registry, Flink)"):
        local_stack.up(config, flink=True)
    console.print(
        f"[bold]1. stack[/] Kafka {config.bootstrap_servers}, registry {config.registry_url}, "
        f"Flink {config.flink_rest_url}; topics *.{run}"
    )

    began = time.perf_counter()
    history = generator(history_config)
    from streamscore.deploy.cli import produce_events, write_history

    path = write_history(history, workdir / spec.name / "history")
    console.print(
        f"[bold]2. history[/] {history.num_rows:,} labelled events -> {path} "
        f"({history.num_rows / (time.perf_counter() - began):,.0f} events/s)"
    )

    as_of_ms = _train(spec, path, workdir, config, console)

    _, live_config = generator_for(spec, events=live_events, seed=2, start_ms=as_of_ms, days=1)
    report = produce_events(spec, generator(live_config), malformed_rate=0.01, seed=2)
    console.print(
        f"[bold]6. live[/] {report.total:,} events produced to {spec.topics.events} "
        f"({report.valid:,} valid, broken: {report.malformed})"
    )
    began = time.perf_counter()
    with console.status("scoring on the Flink cluster (flink run streaming/score_job.py --bounded)"):
        submission = flink_run(config, spec_file, workdir, group_id=f"demo-{run}", bounded=True)
    console.print(f"[bold]7. score[/] Flink job {submission.job_id} finished in {time.perf_counter() - began:.0f} s")
    _account(spec, config, report.total, console)


def _train(spec: PipelineSpec, history: Path, workdir: Path, config: local_stack.StackConfig, console: Console) -> int:
    from streamscore.batch.profiles import build_profiles
    from streamscore.batch.promote import promote
    from streamscore.batch.report import print_training_summary
    from streamscore.batch.session import local_session
    from streamscore.batch.train import build_model

    with console.status("training with Spark") as status:
        spark = local_session("streamscore-demo")
        result = build_model(spark, spec, history, workdir, progress=status.update)
    console.print("[bold]3. train[/] (the same code `spark-submit batch/train.py` runs)")
    print_training_summary(result.manifest, result.registered, console)
    decision = promote(spec, workdir)
    console.print(
        f"[bold]4. promote[/] v{decision.candidate}: {'promoted' if decision.promoted else 'kept'} ({decision.reason})"
    )
    with console.status("publishing entity profiles"):
        run = build_profiles(spark, spec, history, workdir, kafka=(config.bootstrap_servers, config.registry_url))
        spark.stop()
    console.print(f"[bold]5. profiles[/] {run.entities:,} entities as of {run.as_of_ms} -> {run.published_to}")
    return run.as_of_ms


def _account(spec: PipelineSpec, config: local_stack.StackConfig, produced: int, console: Console) -> None:
    registry = RegistryClient(config.registry_url)

    scored, dead, review = (
        read_decoded(config.bootstrap_servers, registry, topic)
        for topic in (spec.topics.scored, spec.topics.dead_letters, spec.topics.review)
    )
    sample = Table("event_id", "entity", "score", "decision", "model_version", "feature_hash", title="scored (first 5)")
    for s in scored[:5]:
        sample.add_row(
            s["event_id"],
            s["entity_key"],
            f"{s['score']:.4f}",
            str(s["decision"]),
            s["model_version"],
            f"{s['feature_hash'] & 0xFFFFFFFFFFFFFFFF:016x}",
        )
    console.print(sample)
    letters = Table("reason", "detail", "source", "bytes", title="dead letters (one per reason)")
    for reason in sorted({d["reason"] for d in dead}):
        d = next(d for d in dead if d["reason"] == reason)
        where = f"{d['source_topic']}[{d['source_partition']}]@{d['source_offset']}"
        letters.add_row(reason, d["detail"][:60], where, str(len(d["original"] or b"")))
    console.print(letters)
    totals = Table(
        "produced", "scored", "dead-lettered", "lost or duplicated", "flagged", "to review", title="8. counts"
    )
    missing = produced - len(scored) - len(dead)
    totals.add_row(
        f"{produced:,}",
        f"{len(scored):,}",
        f"{len(dead):,}",
        f"{missing:,}",
        f"{sum(s['decision'] for s in scored):,}",
        f"{len(review):,}",
    )
    console.print(totals)
    if missing or len({s["event_id"] for s in scored}) != len(scored):
        raise StreamscoreError("scored + dead-lettered records do not add up to what was produced; see above")
    console.print(
        "Every record is accounted for: scored or dead-lettered, exactly once. "
        "`streamscore stack down` stops the stack."
    )
