"""The streaming side of the `streamscore` command: submit the scoring job, benchmark it."""

import uuid
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from streamscore.shared.durations import parse_instant
from streamscore.shared.errors import StreamscoreError
from streamscore.shared.spec import load_pipeline

console = Console()


def score(
    pipeline: Annotated[Path, typer.Option("--pipeline", "-p", help="Pipeline spec (YAML).")],
    workdir: Annotated[Path, typer.Option(help="Where the local model registry lives.")] = Path("data"),
    bounded: Annotated[bool, typer.Option(help="Stop at the end of what is on the topic now, and wait.")] = False,
    group_id: Annotated[str | None, typer.Option(help="Consumer group (default streamscore-<pipeline>).")] = None,
    profile: Annotated[str | None, typer.Option(help="Runtime profile: throughput or latency.")] = None,
    parallelism: Annotated[int | None, typer.Option(min=1, help="Override streaming.parallelism.")] = None,
) -> None:
    """Run streaming/score_job.py on the local Flink cluster (`flink run`), detached unless --bounded."""
    from streamscore.deploy.stack import StackConfig, up
    from streamscore.streaming.submit import flink_run

    spec = load_pipeline(pipeline)
    config = StackConfig.from_env()
    with console.status("starting the stack and submitting the job"):
        up(config, flink=True)
        group = group_id or (f"streamscore-{spec.name}" if not bounded else f"bounded-{uuid.uuid4().hex[:8]}")
        submission = flink_run(
            config, pipeline, workdir, group_id=group, bounded=bounded, profile=profile, parallelism=parallelism
        )
    state = "finished" if bounded else "running"
    console.print(f"job {submission.job_id} {state}; Flink UI {config.flink_rest_url}")


def bench(
    pipeline: Annotated[Path, typer.Option("--pipeline", "-p", help="Pipeline spec (YAML).")],
    workdir: Annotated[Path, typer.Option(help="The registry whose champion is measured.")] = Path("data"),
    profile: Annotated[str, typer.Option(help="tiny, quick, standard (10M events) or full.")] = "quick",
    results: Annotated[Path, typer.Option(help="Where the JSON and Markdown results go.")] = Path("results"),
) -> None:
    """The release load benchmark (benchmarks/run.py): ONNX ceiling, the job at parallelism 1 and 2,
    the Python consumers, ratios and a capacity estimate."""
    from streamscore.benchmarks.run import PROFILES, run

    if profile not in PROFILES:
        raise typer.BadParameter(f"unknown profile {profile!r}; valid: {sorted(PROFILES)}")
    run(load_pipeline(pipeline), workdir, profile, results, console)


def drift_report(
    pipeline: Annotated[Path, typer.Option("--pipeline", "-p", help="Pipeline spec (YAML).")],
    since: Annotated[str, typer.Option(help="First window end to show (ISO time, UTC unless it says).")],
    until: Annotated[str, typer.Option(help="Last window end to show (ISO time).")],
    workdir: Annotated[Path, typer.Option(help="The registry holding the models' baselines.")] = Path("data"),
    out: Annotated[Path, typer.Option(help="The HTML page to write.")] = Path("results/drift-report.html"),
) -> None:
    """Drift per feature over time, baseline vs current histograms, the score over time and the
    alert timeline, from the pipeline's drift and alert topics, as one HTML page."""
    from streamscore.reports.drift_report import load, write_report

    data = load(load_pipeline(pipeline), workdir, parse_instant(since), parse_instant(until))
    if not data.records:
        raise StreamscoreError(f"no drift records with window ends from {since} to {until} on {data.spec.topics.drift}")
    path = write_report(data, out)
    console.print(f"{len(data.records):,} drift records, {len(data.alerts)} alerts -> {path}")


def register(app: typer.Typer) -> None:
    app.command()(score)
    app.command()(bench)
    app.command("drift-report")(drift_report)
