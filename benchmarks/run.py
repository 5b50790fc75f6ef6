"""`streamscore bench` / `python benchmarks/run.py`: the load benchmark run before each release.

One run, one topic, one model, one machine: the ONNX Runtime ceiling, the streaming job on the
Flink cluster at parallelism 1 and 2 (`throughput` profile), and the Python consumers a team
would otherwise write, with the ratios between them. Results go to `results/bench-<time>.json`,
`results/latest.json` and a Markdown summary; the newest is printed as a table.
"""

import argparse
import json
import os
import platform
import subprocess
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from streamscore.batch.session import local_session
from streamscore.benchmarks.ceiling import onnx_ceiling
from streamscore.benchmarks.charts import write_charts
from streamscore.benchmarks.consumers import consume_and_score
from streamscore.benchmarks.fill import fill_topic
from streamscore.benchmarks.job import run_job
from streamscore.benchmarks.latency import measure_latency
from streamscore.benchmarks.measurement import Measurement
from streamscore.benchmarks.model_size import TREES, ceiling_by_model_size, sized_champion, sized_models
from streamscore.benchmarks.spark_streaming import spark_structured_streaming
from streamscore.deploy import stack as local_stack
from streamscore.shared.avro import record_fields
from streamscore.shared.bundle import MODEL_FILE
from streamscore.shared.spec import PipelineSpec, dump_pipeline, load_pipeline, with_topic_suffix

HOUR_S = 3_600
COST_TOPIC = "_cost_topic"
"""The label of the baseline run on the cost variants' own topic (`BenchProfile.cost_events`)."""
EVENT_TIME_SPAN_S = 1_200
"""The event time the filled topic spans, whatever its size. Long against `max_out_of_orderness`, so
the watermark (which releases event-time windows) trails the input by under 1 % and the job's output
flows at its steady rate instead of in one burst at the end; short against the drift slides, which
fire per slide of event time (20 per run, as in production where one fires per millions of events,
not, as over a day of event time, per handful)."""
EVENTS_PER_KEY = 10
"""Events per entity in the filled topic (at least the spec's `synthetic.entities` are drawn): a busy
card's day. Every event of a key is in its windows, so this sets the state each event reads."""


@dataclass(frozen=True)
class BenchProfile:
    events: int
    """Events pre-filled into the topic the job reads."""
    consumer_events: int
    """Events the per-event consumer reads (it is slow; the batched one reads `events`)."""
    ceiling_rows: int
    latency_shares: tuple[float, ...]
    """Produce rates for the latency runs, as shares of the job's measured maximum."""
    latency_seconds: float
    """Longer than `event.max_out_of_orderness`: the last that long of the load waits for newer events."""
    latency_profiles: tuple[str, ...] = ("latency", "throughput")
    """The runtime profiles whose latency is measured (each run starts a job: tens of seconds)."""
    cost_variants: bool = True
    """Also run the job without drift, without deduplication, with hourly drift, on the other state
    backend and with models of 50, 200 and 400 trees (what each costs); a smoke run skips them."""
    cost_events: int | None = None
    """Events of the topic the cost variants and the JVM path run on, with a baseline run of the job
    there to compare them with (None: the main topic). Nine runs of 10 million events would take
    hours on 2 cores."""
    keys: tuple[int, ...] = ()
    """Also run the job on topics drawn from this many entities (keys in state), each of `cost_events`
    (else `events`) events, or as many events as keys if more."""


PROFILES = {
    "tiny": BenchProfile(
        5_000, 1_000, 20_000, latency_shares=(0.5,), latency_seconds=10, cost_events=4_000, keys=(5_000,)
    ),
    "quick": BenchProfile(
        200_000,
        20_000,
        500_000,
        latency_shares=(0.5,),
        latency_seconds=8,
        latency_profiles=("latency",),
        cost_variants=False,
    ),
    "standard": BenchProfile(
        10_000_000,
        200_000,
        5_000_000,
        latency_shares=(0.1, 0.5, 0.8),
        latency_seconds=30,
        cost_events=1_000_000,
        keys=(100_000, 1_000_000, 10_000_000),
    ),
}


def _environment() -> dict[str, Any]:
    from importlib.metadata import version

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=False).stdout.strip()
    packages = ("apache-flink", "onnxruntime", "pyarrow", "kafka-python", "fastavro", "xgboost-cpu")
    return {
        "cpu_model": cpu,
        "cores": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "git_commit": commit,
        "versions": {p: version(p) for p in packages},
    }


def _capacity(one: Measurement, two: Measurement) -> list[dict[str, Any]]:
    """Slots, cores and partitions for 1 and 4 billion events/hour from the job at parallelism 1 and 2.

    A slot runs the whole chain of operators in several threads (source, keyed operators, Python
    worker, sinks), so it is sized by its own measured rate, and cores by the per-core rate taken at
    parallelism 2 when that is the lower one (what each added slot costs)."""
    per_core = min(one.events_per_core_second, two.events_per_core_second)
    plans = []
    for billions in (1, 4):
        rate = billions * 1e9 / HOUR_S
        slots = int(-(-rate // (one.events_per_s * 0.7))) if one.events_per_s else 0
        cores = rate / per_core if per_core else float("inf")
        plans.append(
            {
                "events_per_hour": billions * 10**9,
                "events_per_s": round(rate),
                "busy_cores": round(cores, 1),
                "cores": int(-(-cores // 0.7)),
                "task_slots": slots,
                "kafka_partitions": slots * 2,
                "assumptions": (
                    f"one slot does {one.events_per_s:,.0f} events/s (parallelism 1) and the job "
                    f"{per_core:,.0f} events per core-second (the lower of parallelism 1 and 2: "
                    f"{one.events_per_core_second:,.0f} and {two.events_per_core_second:,.0f}); slots and "
                    "cores run at 70 % for headroom; two partitions per slot so the job can be rescaled "
                    "without repartitioning; the same machine type, and Kafka on other machines"
                ),
            }
        )
    return plans


def _ratios(by_name: dict[str, Measurement], backend: str) -> dict[str, float]:
    """The job (spec's state backend, parallelism 1) against each alternative, per core-second."""
    job = by_name[f"job_throughput_p1_{backend}"]

    def per_core(other: Measurement, mine: Measurement = job) -> float:
        return (
            round(mine.events_per_core_second / other.events_per_core_second, 3)
            if other.events_per_core_second
            else 0.0
        )

    two = by_name[f"job_throughput_p2_{backend}"]
    base = by_name.get(f"job_throughput_p1_{backend}{COST_TOPIC}", job)  # on the cost variants' topic
    ratios = {
        "job_vs_onnx_ceiling": per_core(
            next(m for name, m in by_name.items() if name.startswith("onnx_ceiling_batch"))
        ),
        "job_vs_jvm_path": per_core(by_name[f"jvm_path_p1_{backend}"], base),
        "job_vs_per_event_consumer": per_core(by_name["per_event_consumer"]),
        "job_vs_batched_consumer": per_core(by_name["batched_consumer_10000"]),
        "job_vs_spark_structured_streaming": per_core(by_name["spark_structured_streaming"]),
        "parallelism_2_vs_1_efficiency": round(two.events_per_s / job.events_per_s / 2, 3) if job.events_per_s else 0.0,
        "parallelism_2_vs_1_per_core": per_core(job, two),
    }
    if f"job_throughput_p1_{backend}_no_drift" in by_name:  # the cost variants ran
        other = by_name[f"job_throughput_p1_{'hashmap' if backend == 'rocksdb' else 'rocksdb'}"]
        hashmap, rocksdb = (other, base) if backend == "rocksdb" else (base, other)
        ratios |= {
            "hashmap_vs_rocksdb_state": per_core(rocksdb, hashmap),
            "drift_on_vs_off": per_core(by_name[f"job_throughput_p1_{backend}_no_drift"], base),
            "dedup_on_vs_off": per_core(by_name[f"job_throughput_p1_{backend}_no_dedup"], base),
            "drift_per_event_vs_off": per_core(
                by_name[f"job_throughput_p1_{backend}_no_drift"], by_name[f"job_throughput_p1_{backend}_drift_hourly"]
            ),
            "job_400_vs_50_trees": per_core(
                by_name[f"job_throughput_p1_{backend}_{TREES[0]}_trees"],
                by_name[f"job_throughput_p1_{backend}_{TREES[-1]}_trees"],
            ),
        }
    return ratios


def _cost_curves(
    by_name: dict[str, Measurement], backend: str, key_topics: dict[int, int]
) -> dict[str, list[dict[str, Any]]]:
    """The job's per-core rate by model size (next to the model's ceiling) and by keys in state
    (`key_topics`: keys -> events of the topic drawn from them)."""
    job = f"job_throughput_p1_{backend}"
    sizes = [
        {
            "trees": trees,
            "job_events_per_core_second": round(by_name[f"{job}_{trees}_trees"].events_per_core_second, 1),
            "ceiling_events_per_core_second": round(by_name[f"onnx_ceiling_{trees}_trees"].events_per_core_second, 1),
        }
        for trees in TREES
        if f"{job}_{trees}_trees" in by_name
    ]
    return {
        "job_by_model_size": sizes,
        "keys_in_state": [
            {
                "keys": n,
                "topic_events": events,
                "events_per_core_second": round(by_name[f"{job}_{n}_keys"].events_per_core_second, 1),
            }
            for n, events in sorted(key_topics.items())
        ],
    }


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


def _cost_variants(spec: PipelineSpec, spec_file: Path, workdir: Path) -> list[JobRun]:
    """The job at parallelism 1 without drift, without deduplication, with hourly drift slides, and on
    the other state backend: what each costs per event."""
    other = "hashmap" if spec.streaming.state_backend == "rocksdb" else "rocksdb"
    alt = spec.model_copy(update={"streaming": spec.streaming.model_copy(update={"state_backend": other})})
    quiet = spec.model_copy(update={"drift": spec.drift.model_copy(update={"enabled": False})})
    # Hourly slides bound the drift records to about one per run whatever event time the topic spans, so
    # this variant measures what drift costs per event. Over EVENT_TIME_SPAN_S the spec's own slides fire
    # about 20 times, so drift_on_vs_off now measures nearly the same thing.
    hourly = spec.model_copy(update={"drift": spec.drift.model_copy(update={"window": 86_400_000, "slide": 3_600_000})})
    trusting = spec.model_copy(update={"event": spec.event.model_copy(update={"deduplicate": False})})
    variants = (
        (quiet, "no-drift", "_no_drift"),
        (trusting, "no-dedup", "_no_dedup"),
        (hourly, "drift-hourly", "_drift_hourly"),
        (alt, other, ""),
    )
    return [
        JobRun(variant, dump_pipeline(variant, spec_file.with_name(f"pipeline-{suffix}.yaml")), workdir, label=label)
        for variant, suffix, label in variants
    ]


def _model_size_variants(
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


def run(spec: PipelineSpec, workdir: Path, profile_name: str, results: Path, console: Console) -> dict[str, Any]:
    from streamscore.scoring.onnx_model import OnnxModel
    from streamscore.scoring.registry import CHAMPION, ModelRegistry
    from streamscore.shared.synthetic import generator_for

    profile = PROFILES[profile_name]
    stack = local_stack.StackConfig.from_env()
    local_stack.up(stack, flink=True)
    run_id = time.strftime("%Y%m%dT%H%M%S")
    spec_file = dump_pipeline(with_topic_suffix(spec, f"bench-{run_id}"), results / "runs" / run_id / "pipeline.yaml")
    spec = load_pipeline(spec_file)
    bundle = ModelRegistry(spec.name, workdir).get(CHAMPION)
    model, manifest = OnnxModel.from_bundle(bundle.path)

    batch = spec.streaming.profiles["throughput"].arrow_batch_size  # what the job's UDF gets per call
    measured: list[Measurement] = [onnx_ceiling(model, profile.ceiling_rows, batch)]
    console.print(f"ceiling: {measured[-1].events_per_core_second:,.0f} events per core-second")
    models = sized_models(model.n_features)
    by_size = ceiling_by_model_size(models, model.n_features, profile.ceiling_rows, batch)
    generator, config = generator_for(
        spec,
        events=profile.events,
        seed=3,
        start_ms=int(time.time() * 1000) - 3_600_000,
        days=EVENT_TIME_SPAN_S / 86_400,
    )
    spec_entities = config.entities
    config = replace(config, entities=max(spec_entities, profile.events // EVENTS_PER_KEY))
    spark = local_session("streamscore-bench")
    started = time.monotonic()
    fill_topic(spark, spec, generator(config), stack.bootstrap_servers, stack.registry_url)
    console.print(f"filled {profile.events:,} events in {time.monotonic() - started:,.0f} s")

    def own_topic(suffix: str, events: int, entities: int) -> tuple[PipelineSpec, Path]:
        """`spec` on topics of its own, filled with `events` events drawn from `entities` keys."""
        target = with_topic_suffix(spec, suffix)
        table = generator(replace(config, events=events, entities=entities))
        fill_topic(spark, target, table, stack.bootstrap_servers, stack.registry_url)
        return target, dump_pipeline(target, spec_file.with_name(f"pipeline-{suffix}.yaml"))

    runs = [JobRun(spec, spec_file, workdir), JobRun(spec, spec_file, workdir, parallelism=2)]
    cost_spec, cost_file = spec, spec_file
    if profile.cost_variants and profile.cost_events is not None:
        entities = max(spec_entities, profile.cost_events // EVENTS_PER_KEY)
        cost_spec, cost_file = own_topic("cost", profile.cost_events, entities)
        runs.append(JobRun(cost_spec, cost_file, workdir, label=COST_TOPIC))
    runs.append(JobRun(cost_spec, cost_file, workdir, features_only=True))
    if profile.cost_variants:
        runs += _cost_variants(cost_spec, cost_file, workdir)
        runs += _model_size_variants(cost_spec, cost_file, bundle.path, models, results / "runs" / run_id)
    key_topics = {n: max(profile.cost_events or profile.events, n) for n in profile.keys}  # keys -> events
    for keys, events in key_topics.items():
        keyed, keyed_file = own_topic(f"keys-{keys}", events, keys)
        runs.append(JobRun(keyed, keyed_file, workdir, label=f"_{keys}_keys"))
    for job in runs:
        measured.append(
            run_job(
                stack,
                job.spec,
                job.spec_file,
                job.workdir,
                parallelism=job.parallelism,
                profile="throughput",
                features_only=job.features_only,
                label=job.label,
            )
        )
        console.print(f"{measured[-1].variant}: {measured[-1].events_per_s:,.0f} events/s")
    numeric = [n for n, f in record_fields(spec.event_schema()).items() if f.kind in ("int", "long", "float", "double")]
    model_bytes = (bundle.path / MODEL_FILE).read_bytes()
    measured.append(
        spark_structured_streaming(
            spark, spec, stack.bootstrap_servers, (model_bytes, model.n_features), numeric, max(profile.events // 10, 1)
        )
    )
    console.print(f"{measured[-1].variant}: {measured[-1].events_per_s:,.0f} events/s")
    for limit, per_call in ((profile.consumer_events, 1), (profile.events, 10_000)):
        measured.append(
            consume_and_score(
                stack.bootstrap_servers, stack.registry_url, spec.topics.events, model, numeric, limit, per_call
            )
        )
        console.print(f"{measured[-1].variant}: {measured[-1].events_per_s:,.0f} events/s")

    by_name = {m.variant: m for m in measured + by_size}
    job = by_name[f"job_throughput_p1_{spec.streaming.state_backend}"]
    maximum = job.events_per_s
    paced_events = generator(
        replace(config, events=int(maximum * profile.latency_seconds * max(profile.latency_shares)) + 1)
    )
    latency = [
        measure_latency(
            stack,
            spec,
            results / "runs" / run_id,
            workdir,
            paced_events,
            profile=name,
            rate=share * maximum,
            seconds=profile.latency_seconds,
        )
        for name in profile.latency_profiles
        for share in profile.latency_shares
    ]
    for figures in latency:
        console.print(
            f"latency {figures['profile']} at {figures['achieved_events_per_s']:,} events/s: p99 {figures['p99']} ms"
        )
    ratios = _ratios(by_name, spec.streaming.state_backend)
    report = {
        "profile": profile_name,
        "run": run_id,
        "model": {"version": manifest["model_version"], "params": manifest.get("params", {})},
        "environment": _environment(),
        "variants": {m.variant: m.as_dict() for m in measured},
        "ratios": ratios,
        "latency_ms": latency,
        "model_size": [m.as_dict() for m in by_size],
        **_cost_curves(by_name, spec.streaming.state_backend, key_topics),
        "capacity": _capacity(job, by_name[f"job_throughput_p2_{spec.streaming.state_backend}"]),
    }
    _write(report, results)
    _print(report, console)
    return report


def _write(report: dict[str, Any], results: Path) -> None:
    results.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report, indent=2)
    (results / f"bench-{report['run']}.json").write_text(text)
    (results / "latest.json").write_text(text)
    lines = [
        f"# streamscore bench {report['run']} ({report['profile']})",
        "",
        "| variant | events | events/s | events per core-second |",
        "|---|---:|---:|---:|",
    ]
    lines += [
        f"| {v['variant']} | {v['events']:,} | {v['events_per_s']:,.0f} | {v['events_per_core_second']:,.0f} |"
        for v in report["variants"].values()
    ]
    lines += ["", "| ratio (per core) | value |", "|---|---:|"]
    lines += [f"| {k} | {v} |" for k, v in report["ratios"].items()]
    lines += ["", *[f"![{path.stem}]({path.name})" for path in write_charts(report, results)]]
    (results / f"bench-{report['run']}.md").write_text("\n".join(lines) + "\n")


def _print(report: dict[str, Any], console: Console) -> None:
    table = Table(title=f"bench {report['run']} ({report['profile']})")
    for column in ("variant", "events", "events/s", "per core-second"):
        table.add_column(column, justify="left" if column == "variant" else "right")
    for v in report["variants"].values():
        table.add_row(
            v["variant"], f"{v['events']:,}", f"{v['events_per_s']:,.0f}", f"{v['events_per_core_second']:,.0f}"
        )
    console.print(table)
    console.print({k: v for k, v in report["ratios"].items()})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pipeline", type=Path, default=Path("examples/payments/pipeline.yaml"))
    parser.add_argument(
        "--workdir", type=Path, default=Path("data"), help="holds the registry whose champion is measured"
    )
    parser.add_argument("--profile", choices=sorted(PROFILES), default="quick")
    parser.add_argument("--results", type=Path, default=Path("results"))
    args = parser.parse_args(argv)
    run(load_pipeline(args.pipeline), args.workdir, args.profile, args.results, Console())


if __name__ == "__main__":
    main()
