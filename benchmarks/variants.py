"""The job runs of one bench: what each variant changes (spec, registry, parallelism, path) and its name."""

from dataclasses import dataclass
from pathlib import Path

from streamscore.benchmarks.model_size import sized_champion
from streamscore.shared.spec import PipelineSpec, dump_pipeline, with_streaming

COST_TOPIC = "_cost_topic"
"""The label of the baseline run on the cost variants' own topic (`BenchProfile.cost_events`)."""
WARM_UP = "_warm_up"
"""The label of the first run: a fresh TaskManager compiles the job's code while it runs, so the
first measured run would read low (about 15 % at parallelism 1)."""


@dataclass(frozen=True)
class JobRun:
    """One run of the job: its spec (and file), the registry it scores with, and how it runs."""

    spec: PipelineSpec
    spec_file: Path
    workdir: Path
    parallelism: int = 1
    features_only: bool = False
    label: str = ""
    """Appended to the variant's name."""


def cost_variants(spec: PipelineSpec, spec_file: Path, workdir: Path) -> list[JobRun]:
    """The job at parallelism 1 without drift, without deduplication and on the other state backend:
    what each costs per event.

    The filled topic spans 20 minutes of event time, so the spec's 1-minute drift slides fire about
    20 times per run: the no-drift run measures drift's per-event cost (bins, window aggregate), not
    the cost of its records."""
    other = "hashmap" if spec.streaming.state_backend == "rocksdb" else "rocksdb"
    alt = with_streaming(spec, state_backend=other)
    quiet = spec.model_copy(update={"drift": spec.drift.model_copy(update={"enabled": False})})
    trusting = spec.model_copy(update={"event": spec.event.model_copy(update={"deduplicate": False})})
    variants = ((quiet, "no-drift", "_no_drift"), (trusting, "no-dedup", "_no_dedup"), (alt, other, ""))
    return [
        JobRun(variant, dump_pipeline(variant, spec_file.with_name(f"pipeline-{suffix}.yaml")), workdir, label=label)
        for variant, suffix, label in variants
    ]


def model_size_variants(
    spec: PipelineSpec, spec_file: Path, champion: Path, models: dict[int, bytes], folder: Path
) -> list[JobRun]:
    """The job at parallelism 1 scoring with each sized model, each the champion of its own registry."""
    return [
        JobRun(
            spec,
            spec_file,
            sized_champion(spec.name, champion, onnx, trees, folder / f"model-{trees}-trees"),
            label=f"_{trees}_trees",
        )
        for trees, onnx in models.items()
    ]


def other_features_at(spec: PipelineSpec) -> str:
    """The `streaming.features_at` the spec does not use: the bench measures both."""
    return "arrival" if spec.streaming.features_at == "watermark" else "watermark"


def features_at_variants(spec: PipelineSpec, spec_file: Path, workdir: Path) -> list[JobRun]:
    """The job with the other `streaming.features_at` at parallelism 1 and 2, labelled with its name."""
    mode = other_features_at(spec)
    variant = with_streaming(spec, features_at=mode)
    file = dump_pipeline(variant, spec_file.with_name(f"pipeline-{mode}.yaml"))
    return [JobRun(variant, file, workdir, parallelism=p, label=f"_{mode}") for p in (1, 2)]
