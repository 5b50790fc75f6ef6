"""The bench's report: ratios, cost curves and capacity from the measured variants, the
environment they were measured in, and the files (JSON, Markdown, charts) and table it is read in."""

import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from streamscore.benchmarks.charts import write_charts
from streamscore.benchmarks.job import variant_name
from streamscore.benchmarks.measurement import Measurement
from streamscore.benchmarks.model_size import TREES, trees_label
from streamscore.benchmarks.variants import COST_TOPIC, NO_DEDUP, NO_DRIFT
from streamscore.streaming.score_job import JVM_STAGES

HOUR_S = 3_600


def environment() -> dict[str, Any]:
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


def capacity(one: Measurement, two: Measurement) -> list[dict[str, Any]]:
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


def ratios(
    by_name: dict[str, Measurement], backend: str, other_label: str | None, size_runs: dict[int, str]
) -> dict[str, float]:
    """The job (spec's state backend, parallelism 1) against each alternative, per core-second; the
    same for the job with the other `streaming.features_at` if it ran (`other_label`, cost topic);
    `size_runs`: trees -> the run measuring the job with a model that size."""

    def run(label: str = "", parallelism: int = 1, state: str = backend) -> str:
        return variant_name("throughput", parallelism, state, label=label)

    job = by_name[run()]

    def per_core(other: Measurement, mine: Measurement = job) -> float:
        return (
            round(mine.events_per_core_second / other.events_per_core_second, 3)
            if other.events_per_core_second
            else 0.0
        )

    two = by_name[run(parallelism=2)]
    base = by_name.get(run(COST_TOPIC), job)  # on the cost variants' topic
    alternatives = {
        "onnx_ceiling": next(m for name, m in by_name.items() if name.startswith("onnx_ceiling_batch")),
        "per_event_consumer": by_name["per_event_consumer"],
        "batched_consumer": by_name["batched_consumer_10000"],
        "spark_structured_streaming": by_name["spark_structured_streaming"],
    }
    ratios = {f"job_vs_{name}": per_core(alternative) for name, alternative in alternatives.items()}
    if other_label is not None:
        other = by_name[run(other_label)]
        ratios |= {f"job{other_label}_vs_{name}": per_core(against, other) for name, against in alternatives.items()}
        ratios[f"job{other_label}_vs_job"] = per_core(base, other)
    ratios |= {
        "job_vs_jvm_path": per_core(by_name[variant_name("throughput", 1, backend, until="features")], base),
        "parallelism_2_vs_1_efficiency": round(two.events_per_s / job.events_per_s / 2, 3) if job.events_per_s else 0.0,
        "parallelism_2_vs_1_per_core": per_core(job, two),
    }
    if run(NO_DRIFT) in by_name:  # the cost variants ran
        ratios |= {
            "drift_on_vs_off": per_core(by_name[run(NO_DRIFT)], base),
            "job_400_vs_50_trees": per_core(by_name[size_runs[TREES[0]]], by_name[size_runs[TREES[-1]]]),
        }
    if run(NO_DEDUP) in by_name:  # the other variants ran
        other = by_name[run(state="hashmap" if backend == "rocksdb" else "rocksdb")]
        hashmap, rocksdb = (other, base) if backend == "rocksdb" else (base, other)
        ratios |= {
            "hashmap_vs_rocksdb_state": per_core(rocksdb, hashmap),
            "dedup_on_vs_off": per_core(by_name[run(NO_DEDUP)], base),
        }
    return ratios


def cost_curves(
    by_name: dict[str, Measurement],
    backend: str,
    key_topics: dict[int, tuple[int, str]],
    size_runs: dict[int, str],
) -> dict[str, list[dict[str, Any]]]:
    """The job's per-core rate by model size (next to the model's ceiling; `size_runs`: trees -> the
    variant that ran with a model that size), by the stage it stops after, and by keys in state
    (`key_topics`: keys -> events of the topic drawn from them and the variant that ran on it)."""
    job = variant_name("throughput", 1, backend)
    sizes = [
        {
            "trees": trees,
            "variant": variant,
            "job_events_per_core_second": round(by_name[variant].events_per_core_second, 1),
            "ceiling_events_per_core_second": round(
                by_name["onnx_ceiling" + trees_label(trees)].events_per_core_second, 1
            ),
        }
        for trees, variant in sorted(size_runs.items())
    ]
    stages = {stage: variant_name("throughput", 1, backend, until=stage) for stage in JVM_STAGES}
    stages["scoring"] = f"{job}{COST_TOPIC}"
    return {
        "job_by_model_size": sizes,
        # CPU per event of the job stopped after each stage, and of the whole job, on the cost topic.
        "jvm_path_by_stage": [
            {
                "until": stage,
                "variant": variant,
                "events_per_core_second": round(by_name[variant].events_per_core_second, 1),
                "us_per_event": round(1e6 * by_name[variant].cpu_seconds / by_name[variant].events, 2),
            }
            for stage, variant in stages.items()
            if variant in by_name
        ],
        "keys_in_state": [
            {
                "keys": n,
                "topic_events": events,
                "variant": variant,
                "events_per_core_second": round(by_name[variant].events_per_core_second, 1),
            }
            for n, (events, variant) in sorted(key_topics.items())
        ],
    }


def write_partial(
    run: str, profile: str, measured: list[Measurement], latency: list[dict[str, Any]], results: Path
) -> None:
    """The figures so far, rewritten after each: a run stopped early keeps them. `latest.json` is
    left to complete runs."""
    results.mkdir(parents=True, exist_ok=True)
    variants = {m.variant: m.as_dict() for m in measured}
    partial = {"profile": profile, "run": run, "complete": False, "variants": variants, "latency_ms": latency}
    (results / f"bench-{run}.json").write_text(json.dumps(partial, indent=2))


def write_report(report: dict[str, Any], results: Path) -> None:
    results.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report, indent=2)
    (results / f"bench-{report['run']}.json").write_text(text)
    (results / "latest.json").write_text(text)
    lines = [
        f"# streamscore bench {report['run']} ({report['profile']})",
        "",
        took(report["timeline"]),
        "",
        "| wall time | seconds |",
        "|---|---:|",
        *[f"| {part} | {seconds:,.1f} |" for part, seconds in report["timeline"]["parts"].items()],
        f"| other | {report['timeline']['other_seconds']:,.1f} |",
        "",
        "| variant | events | events/s | events per core-second | other processes' cores | machine speed |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {v['variant']} | {v['events']:,} | {v['events_per_s']:,.0f} | {v['events_per_core_second']:,.0f} "
        f"| {v.get('other_cores', '')} | {v.get('machine_speed', '')} |"
        for v in report["variants"].values()
    ]
    lines += ["", "| ratio (per core) | value |", "|---|---:|"]
    lines += [f"| {k} | {v} |" for k, v in report["ratios"].items()]
    lines += [
        "",
        "| latency (ms) | features at | events/s | after events/s | p50 | p95 | p99 | checkpoints every "
        "| committed p50 | p99 | cores: job / bench / other |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['profile']} | {r['features_at']} | {r['achieved_events_per_s']:,} | "
        f"{'start' if r['after_events_per_s'] is None else format(r['after_events_per_s'], ',')} | "
        f"{r['p50']} | {r['p95']} | {r['p99']} | {r['checkpoint_interval_ms']:,} | "
        f"{r['committed_p50']} | {r['committed_p99']} | "
        f"{r['cores']['job']} / {r['cores']['bench']} / {r['cores']['other']} |"
        for r in report["latency_ms"]
    ]
    lines += ["", *[f"![{path.stem}]({path.name})" for path in write_charts(report, results)]]
    (results / f"bench-{report['run']}.md").write_text("\n".join(lines) + "\n")


def took(timeline: dict[str, Any]) -> str:
    """The run's wall time against its profile's budget, in words."""
    minutes = f"{timeline['wall_seconds'] / 60:.1f} minutes"
    if timeline["budget_seconds"] is None:
        return f"Took {minutes}."
    verdict = "within" if timeline["within_budget"] else "over"
    return f"Took {minutes}, {verdict} the profile's {timeline['budget_seconds'] / 60:.0f}-minute budget."


def print_table(report: dict[str, Any], console: Console) -> None:
    table = Table(title=f"bench {report['run']} ({report['profile']})")
    for column in ("variant", "events", "events/s", "per core-second"):
        table.add_column(column, justify="left" if column == "variant" else "right")
    for v in report["variants"].values():
        table.add_row(
            v["variant"], f"{v['events']:,}", f"{v['events_per_s']:,.0f}", f"{v['events_per_core_second']:,.0f}"
        )
    console.print(table)
    console.print({k: v for k, v in report["ratios"].items()})
    console.print(took(report["timeline"]))
