"""PNG charts of one benchmark report, next to its JSON and Markdown: per-core rates of every
variant against the targets, latency percentiles per profile and rate, and the ceiling by model size."""

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

TARGET_PER_CORE = 100_000
"""Issue target: events per core-second end to end for the 200-tree reference model."""


def _save(figure: Figure, path: Path) -> Path:
    figure.savefig(path, dpi=100, bbox_inches="tight")
    return path


def throughput_chart(report: dict[str, Any], path: Path) -> Path:
    variants = sorted(report["variants"].values(), key=lambda v: v["events_per_core_second"])
    figure = Figure(figsize=(9, 0.4 * len(variants) + 1.5))
    ax = figure.subplots()
    colours = ["tab:red" if v["variant"].startswith(("job_", "jvm_")) else "tab:gray" for v in variants]
    ax.barh([v["variant"] for v in variants], [v["events_per_core_second"] for v in variants], color=colours)
    ax.axvline(TARGET_PER_CORE, color="black", ls="--", lw=1, label=f"target {TARGET_PER_CORE:,}/core-s")
    ax.set_xscale("log")
    ax.set_xlabel("events per core-second (log scale; red: the streaming job)")
    ax.legend(fontsize=8)
    ax.set_title(f"bench {report['run']} ({report['profile']}): throughput per core")
    return _save(figure, path)


def latency_chart(report: dict[str, Any], path: Path) -> Path:
    runs = report["latency_ms"]
    figure = Figure(figsize=(9, 3.5))
    ax = figure.subplots()
    x = np.arange(len(runs))
    for offset, percentile in zip((-0.25, 0.0, 0.25), ("p50", "p95", "p99"), strict=True):
        ax.bar(x + offset, [r[percentile] for r in runs], width=0.25, label=percentile)
    ax.scatter(x, [r["committed_p99"] for r in runs], color="black", marker="_", s=300, label="p99 read_committed")
    labels = [f"{r['profile']}, {r['features_at']}\n{r['achieved_events_per_s']:,} ev/s" for r in runs]
    ax.set_xticks(x, labels, fontsize=8)
    ax.axhline(250, color="black", ls="--", lw=1, label="target p99 250 ms")
    ax.set_yscale("log")
    ax.set_ylabel("event appended -> scored record appended / committed (ms, log)")
    ax.legend(fontsize=8)
    ax.set_title("End-to-end latency per runtime profile and produced rate")
    return _save(figure, path)


def latency_seconds_chart(report: dict[str, Any], path: Path) -> Path:
    """Each rate's p99 per second of its job's step load: the catch-up after the job's start, or after
    the step up from the rate before, inside the unmeasured warm-up (left of its dotted line), then
    the steady state the percentiles summarise."""
    figure = Figure(figsize=(9, 3.5))
    ax = figure.subplots()
    for run in report["latency_ms"]:
        seconds, start = run["per_second"], run["starts_at_s"]
        label = f"{run['profile']}, {run['features_at']}, {run['achieved_events_per_s']:,} ev/s"
        line = ax.plot([start + s["s"] for s in seconds], [max(s["p99"], 1.0) for s in seconds], lw=1, label=label)
        ax.axvline(start + run["warm_up_s"], color=line[0].get_color(), ls=":", lw=1)
    ax.axhline(250, color="black", ls="--", lw=1)
    ax.set_yscale("log")
    ax.set_xlabel("second of the job's step load (dotted: end of a rate's warm-up)")
    ax.set_ylabel("p99 in that second (ms, log)")
    ax.legend(fontsize=6)
    ax.set_title("Latency per second: one job per profile, its rates in turn")
    return _save(figure, path)


def model_size_chart(report: dict[str, Any], path: Path) -> Path:
    sizes = report["model_size"]
    figure = Figure(figsize=(6, 3.5))
    ax = figure.subplots()
    labels = [s["variant"].removeprefix("onnx_ceiling_") for s in sizes]
    ax.plot(labels, [s["events_per_core_second"] for s in sizes], marker="o", label="ONNX alone")
    if job := report.get("job_by_model_size"):
        ax.plot(labels, [s["job_events_per_core_second"] for s in job], marker="o", label="the streaming job")
    ax.set_yscale("log")
    ax.set_ylabel("events per core-second (log scale)")
    ax.legend(fontsize=8)
    ax.set_title("Cost by model size")
    return _save(figure, path)


def write_charts(report: dict[str, Any], results: Path) -> list[Path]:
    stem = results / f"bench-{report['run']}"
    return [
        throughput_chart(report, stem.with_name(f"{stem.name}-throughput.png")),
        latency_chart(report, stem.with_name(f"{stem.name}-latency.png")),
        latency_seconds_chart(report, stem.with_name(f"{stem.name}-latency-seconds.png")),
        model_size_chart(report, stem.with_name(f"{stem.name}-model-size.png")),
    ]
