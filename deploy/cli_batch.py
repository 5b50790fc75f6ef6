"""The batch side of the `streamscore` command: train, profiles, promote and the model registry.

Each command runs the same function its `spark-submit batch/<job>.py` entry point runs, on a
local Spark session.
"""

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from streamscore.shared.spec import load_pipeline

PipelineOption = Annotated[Path, typer.Option("--pipeline", "-p", help="Pipeline spec (YAML).")]
HistoryOption = Annotated[Path, typer.Option(help="Labelled history: Parquet file or folder.")]
WorkdirOption = Annotated[Path, typer.Option(help="Snapshots, bundles, profiles and the local registry.")]
console = Console()
models_app = typer.Typer(no_args_is_help=True, help="The registered model versions and their aliases.")


def train(
    pipeline: PipelineOption,
    history: HistoryOption = Path("data/payments/history"),
    workdir: WorkdirOption = Path("data"),
) -> None:
    """Build (or reuse) the training set, train, check ONNX parity and register the bundle as challenger."""
    from streamscore.batch.report import print_training_summary
    from streamscore.batch.session import local_session
    from streamscore.batch.train import build_model

    spec = load_pipeline(pipeline)
    with console.status("starting Spark") as status:
        result = build_model(local_session("streamscore-train"), spec, history, workdir, progress=status.update)
    print_training_summary(result.manifest, result.registered, console)


def profiles(
    pipeline: PipelineOption,
    history: HistoryOption = Path("data/payments/history"),
    workdir: WorkdirOption = Path("data"),
    publish: Annotated[bool, typer.Option(help="Also write to the compacted profiles topic.")] = False,
    as_of_ms: Annotated[
        int | None, typer.Option(help="A profiles.refresh boundary; default after the last event.")
    ] = None,
) -> None:
    """Compute entity profiles as of a period boundary: Parquet, and the profiles topic with --publish."""
    from streamscore.batch.profiles import build_profiles
    from streamscore.batch.session import local_session
    from streamscore.deploy.stack import StackConfig

    spec = load_pipeline(pipeline)
    stack = StackConfig.from_env()
    kafka = (stack.bootstrap_servers, stack.registry_url) if publish else None
    with console.status("computing profiles"):
        run = build_profiles(local_session("streamscore-profiles"), spec, history, workdir, as_of_ms, kafka)
    where = f" and {run.published_to}" if run.published_to else ""
    console.print(f"{run.entities:,} entity profiles as of {run.as_of_ms} -> {run.path}{where}")


def promote(
    pipeline: PipelineOption,
    workdir: WorkdirOption = Path("data"),
    force: Annotated[bool, typer.Option(help="Promote even if not cheaper (needs --reason).")] = False,
    reason: Annotated[str | None, typer.Option(help="Why, recorded with the decision.")] = None,
) -> None:
    """Make the newest candidate champion if it costs less than the champion on the same test period."""
    from streamscore.batch.promote import promote as decide

    decision = decide(load_pipeline(pipeline), workdir, force, reason)
    verdict = "[green]promoted[/]" if decision.promoted else "[yellow]not promoted[/]"
    console.print(f"v{decision.candidate} {verdict}: {decision.reason}")


@models_app.command("list")
def models_list(pipeline: PipelineOption, workdir: WorkdirOption = Path("data")) -> None:
    """Every registered version with its aliases and test-period cost."""
    from streamscore.scoring.registry import ModelRegistry

    spec = load_pipeline(pipeline)
    table = Table("version", "aliases", "model_version", "expected cost", "baseline cost", "promotion")
    for model in ModelRegistry(spec.name, workdir).versions():
        metrics = model.manifest()["metrics"]
        table.add_row(
            str(model.version),
            ", ".join(model.aliases),
            model.tags.get("model_version", ""),
            f"{metrics['model']['expected_cost']:,.0f}",
            f"{metrics['baseline']['expected_cost']:,.0f}",
            model.tags.get("promotion.decision", ""),
        )
    console.print(table)


@models_app.command("show")
def models_show(
    reference: Annotated[str, typer.Argument(help="A version number or an alias (champion, challenger).")],
    pipeline: PipelineOption,
    workdir: WorkdirOption = Path("data"),
    as_json: Annotated[bool, typer.Option("--json", help="The manifest plus `path`, as JSON.")] = False,
) -> None:
    """One version's manifest and the local path of its bundle."""
    from streamscore.scoring.registry import ModelRegistry

    model = ModelRegistry(load_pipeline(pipeline).name, workdir).get(reference)
    shown = {**model.manifest(), "path": str(model.path), "registry_version": model.version, "aliases": model.aliases}
    if as_json:
        print(json.dumps(shown, indent=2))
    else:
        metrics = shown["metrics"]["model"]
        console.print(
            f"v{model.version} {model.aliases} {shown['model_version']} at {model.path}\n"
            f"threshold {shown['threshold']:.4f}, expected cost {metrics['expected_cost']:,.0f} {metrics['currency']}"
        )


@models_app.command("reproduce")
def models_reproduce(
    reference: Annotated[str, typer.Argument(help="A version number or an alias.")],
    pipeline: PipelineOption,
    workdir: WorkdirOption = Path("data"),
) -> None:
    """Refit from a bundle's lineage and report the max test-score difference (reproducible if <= 1e-6)."""
    from streamscore.batch.session import local_session
    from streamscore.batch.train import reproduce
    from streamscore.scoring.registry import ModelRegistry

    spec = load_pipeline(pipeline)
    model = ModelRegistry(spec.name, workdir).get(reference)
    with console.status(f"refitting v{model.version}"):
        difference = reproduce(local_session("streamscore-reproduce"), spec, model)
    console.print(f"v{model.version}: max |score difference| on the test period {difference:.2e}")
    if difference > 1e-6:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    for command in (train, profiles, promote):
        app.command()(command)
    app.add_typer(models_app, name="models")
