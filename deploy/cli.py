"""The `streamscore` command: one subcommand per capability.

Expected failures (a bad spec, a stack that is down, missing jars) print one line saying what
is wrong and how to fix it, and exit 1; only a bug shows a traceback.
"""

import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from streamscore.deploy import cli_batch, cli_stream
from streamscore.deploy import stack as local_stack
from streamscore.shared.durations import parse_instant
from streamscore.shared.errors import StreamscoreError
from streamscore.shared.spec import PipelineSpec, load_pipeline

if TYPE_CHECKING:
    import pyarrow as pa

    from streamscore.deploy.kafka_io import ProduceReport
    from streamscore.shared.synthetic import DriftInjection

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
stack_app = typer.Typer(no_args_is_help=True, help="The local Kafka broker, schema registry and Flink cluster.")
app.add_typer(stack_app, name="stack")
cli_batch.register(app)
cli_stream.register(app)
console = Console()
errors = Console(stderr=True)

PipelineOption = Annotated[Path, typer.Option("--pipeline", "-p", help="Pipeline spec (YAML).")]


def _parse_time(text: str) -> int:
    return int(parse_instant(text).timestamp() * 1000)


@stack_app.command("up")
def stack_up(
    flink: Annotated[bool, typer.Option(help="Also start a Flink standalone cluster.")] = False,
    spark: Annotated[bool, typer.Option(help="Also start a Spark standalone master and worker.")] = False,
    pipeline: Annotated[
        Path | None, typer.Option("--pipeline", "-p", help="Spec whose streaming.prometheus_port Flink reports on.")
    ] = None,
    cluster: Annotated[
        bool, typer.Option(help="3 brokers (replication 3, min ISR 2), 2 TaskManagers; --no-cluster: 1 each.")
    ]
    | None = None,
) -> None:
    """Start the broker and registry (and Flink, Spark); harmless when they already run."""
    config = local_stack.StackConfig.from_env()
    if cluster is not None:
        single = replace(config, kafka_brokers=1, flink_taskmanagers=1)
        config = config.cluster() if cluster else single
    if pipeline is not None:
        config = replace(config, flink_prometheus_port=load_pipeline(pipeline).streaming.prometheus_port)
    with console.status("starting") as status:
        local_stack.up(config, flink, on_start=lambda s: status.update(f"starting {s.name} ({s.address})"), spark=spark)
    stack_status()


@stack_app.command("status")
def stack_status() -> None:
    """Show each service's PID, health and address."""
    config = local_stack.StackConfig.from_env()
    table = Table("service", "pid", "healthy", "address", title=f"stack in {config.home}")
    for service in local_stack.services(config, flink=True, spark=True):
        state = service.status()
        health = "[green]yes[/]" if state.healthy else ("[red]no[/]" if state.running else "stopped")
        table.add_row(state.name, str(state.pid or "-"), health, state.address)
    console.print(table)


@stack_app.command("down")
def stack_down() -> None:
    """Stop what `stack up` started, by the PIDs it recorded."""
    stopped = local_stack.down(local_stack.StackConfig.from_env())
    console.print(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")


def _drift(drift_at: str | None, drift_field: str | None, drift_scale: float) -> "DriftInjection | None":
    from streamscore.shared.synthetic import DriftInjection

    if drift_at is None:
        return None
    if drift_field is None:
        raise StreamscoreError("--drift-at needs --drift-field (the event field to shift)")
    return DriftInjection(field=drift_field, start_ms=_parse_time(drift_at), scale=drift_scale)


@app.command()
def generate(
    pipeline: PipelineOption,
    events: Annotated[int, typer.Option(min=1, help="How many events.")] = 1_000_000,
    seed: Annotated[int, typer.Option(help="Same seed, same events.")] = 7,
    start: Annotated[str, typer.Option(help="First day (UTC).")] = "2026-01-01",
    days: Annotated[float, typer.Option(min=0.001, help="Time span of the events.")] = 60.0,
    out: Annotated[Path | None, typer.Option(help="Write Parquet history here (with labels).")] = None,
    to_kafka: Annotated[bool, typer.Option(help="Produce Avro to the spec's events topic.")] = False,
    malformed_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of broken records (Kafka only).")
    ] = 0.0,
    drift_at: Annotated[str | None, typer.Option(help="Shift a field from this time on.")] = None,
    drift_field: Annotated[str | None, typer.Option(help="The field to shift.")] = None,
    drift_scale: Annotated[float, typer.Option(help="Multiply the field by this after --drift-at.")] = 2.0,
) -> None:
    """Generate synthetic events for a pipeline: Parquet history and/or Avro on Kafka."""
    from streamscore.shared.synthetic import generator_for

    if out is None and not to_kafka:
        raise StreamscoreError("say where the events go: --out DIR (Parquet) and/or --to-kafka")
    spec = load_pipeline(pipeline)
    generator, config = generator_for(
        spec,
        events=events,
        seed=seed,
        start_ms=_parse_time(start),
        days=days,
        drift=_drift(drift_at, drift_field, drift_scale),
    )
    began = time.perf_counter()
    with console.status(f"generating {events:,} events"):
        table = generator(config)
    if out is not None:
        path = write_history(table, out)
        rate = table.num_rows / (time.perf_counter() - began)
        console.print(f"wrote {table.num_rows:,} events to {path} ({rate:,.0f} events/s)")
    if to_kafka:
        report = produce_events(spec, table, malformed_rate, seed)
        console.print(
            f"produced {report.total:,} records to {spec.topics.events}: {report.valid:,} valid, "
            f"malformed {report.malformed or 0}"
        )


@app.command()
def demo(
    pipeline: PipelineOption,
    history_events: Annotated[int, typer.Option(min=1000, help="Labelled history for the batch side.")] = 200_000,
    live_events: Annotated[int, typer.Option(min=100, help="Events produced to Kafka.")] = 20_000,
    workdir: Annotated[Path, typer.Option(help="Where generated data goes.")] = Path("data"),
) -> None:
    """Run everything that exists end to end on the local stack."""
    from streamscore.deploy.demo import run_demo

    run_demo(load_pipeline(pipeline), console, history_events, live_events, workdir)


def write_history(table: "pa.Table", out: Path) -> Path:
    import pyarrow.parquet as pq

    out.mkdir(parents=True, exist_ok=True)
    path = out / "events.parquet"
    pq.write_table(table, path, compression="zstd", row_group_size=256 * 1024)
    return path


def ensure_pipeline_topics(spec: PipelineSpec) -> None:
    """Every topic of the pipeline on the local stack: profiles compacted, outputs stamped with append time."""
    from streamscore.deploy.kafka_io import ensure_topics

    topics = spec.topics
    outputs = [topics.scored, topics.dead_letters, topics.review, topics.drift, topics.alerts]
    ensure_topics(
        local_stack.StackConfig.from_env().bootstrap_servers,
        [topics.events, *outputs, topics.profiles],
        topics.partitions,
        compacted=[topics.profiles],
        append_time=outputs,
    )


def produce_events(spec: PipelineSpec, table: "pa.Table", malformed_rate: float, seed: int) -> "ProduceReport":
    from rich.progress import Progress

    from streamscore.deploy.hostile import EventFields
    from streamscore.deploy.kafka_io import RegistryClient, produce_table

    config = local_stack.StackConfig.from_env()
    topics = spec.topics
    ensure_pipeline_topics(spec)
    with Progress(console=console, transient=True) as progress:
        progress.add_task(f"producing {table.num_rows:,} records", total=None)
        return produce_table(
            table,
            bootstrap=config.bootstrap_servers,
            registry=RegistryClient(config.registry_url),
            topic=topics.events,
            schema=spec.event_schema(),
            key_field=spec.event.key,
            time_field=spec.event.time,
            malformed_rate=malformed_rate,
            seed=seed,
            hostile=EventFields.of(spec) if malformed_rate > 0 else None,
        )


def main() -> None:
    """Entry point: expected errors become one line on stderr and exit code 1."""
    try:
        app(standalone_mode=False)
    except StreamscoreError as exc:
        errors.print(f"[red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise SystemExit(1) from None
    except typer.Abort:
        raise SystemExit(130) from None
    except Exception as exc:
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            raise SystemExit(exc.exit_code) from None
        raise
