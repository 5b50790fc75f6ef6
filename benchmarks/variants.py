"""The job runs of one bench: what each variant changes (spec, registry, parallelism, path) and its name."""

from dataclasses import dataclass
from pathlib import Path

from streamscore.benchmarks.model_size import sized_champion, trees_label
from streamscore.shared.spec import PipelineSpec, dump_pipeline, with_streaming, without_deduplication

COST_TOPIC = "_cost_topic"
"""The label of the baseline run on the cost variants' own topic (`BenchProfile.cost_events`)."""
WARM_UP = "_warm_up"
"""The label of the first run, not reported (it shares the machine with the main topic's fill): a fresh
TaskManager compiles the job's code while it runs, so the first measured run would read low (about
15 % at parallelism 1)."""
NO_DRIFT = "_no_drift"
"""The label of the run with `drift.enabled: false`."""
NO_DEDUP = "_no_dedup"
"""The label of the run with `event.deduplicate: false`."""


@dataclass(frozen=True)
class JobRun:
    """One run of the job: its spec (and file), the registry it scores with, and how it runs."""

    spec: PipelineSpec
    spec_file: Path
    workdir: Path
    parallelism: int = 1
    until: str | None = None
    """Only the JVM path, up to this stage (score_job.JVM_STAGES)."""
    label: str = ""
    """Appended to the variant's name."""


def _variant(spec: PipelineSpec, spec_file: Path, workdir: Path, suffix: str, label: str) -> JobRun:
    return JobRun(spec, dump_pipeline(spec, spec_file.with_name(f"pipeline-{suffix}.yaml")), workdir, label=label)


def without_drift(spec: PipelineSpec, spec_file: Path, workdir: Path) -> JobRun:
    """The job at parallelism 1 with `drift.enabled: false`: what drift costs per event.

    The filled topic spans 20 minutes of event time, so the spec's 1-minute drift slides fire about
    20 times per run: this measures drift's per-event cost (bins, window aggregate), not the cost of
    its records."""
    quiet = spec.model_copy(update={"drift": spec.drift.model_copy(update={"enabled": False})})
    return _variant(quiet, spec_file, workdir, "no-drift", NO_DRIFT)


def other_variants(spec: PipelineSpec, spec_file: Path, workdir: Path) -> list[JobRun]:
    """The job at parallelism 1 without deduplication and on the other state backend: what each
    choice costs, measured once in a while rather than before every release."""
    other = "hashmap" if spec.streaming.state_backend == "rocksdb" else "rocksdb"
    return [
        _variant(without_deduplication(spec), spec_file, workdir, "no-dedup", NO_DEDUP),
        _variant(with_streaming(spec, state_backend=other), spec_file, workdir, other, ""),
    ]


def model_size_variants(
    spec: PipelineSpec, spec_file: Path, champion: Path, models: dict[int, bytes], depth: int, folder: Path
) -> list[JobRun]:
    """The job at parallelism 1 scoring with each sized model (of `depth`), each the champion of its own registry."""
    return [
        JobRun(
            spec,
            spec_file,
            sized_champion(spec.name, champion, onnx, trees, depth, folder / f"model-{trees}-trees"),
            label=trees_label(trees),
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
