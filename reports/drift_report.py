"""`streamscore drift-report`: one self-contained HTML page from the drift and alert topics.

Four charts (matplotlib, embedded as PNG so the page can be mailed or archived): PSI per feature
over time with the warn and alert thresholds, baseline against current histograms for the
features that drifted most, the score's distribution per window, and the alert timeline.
"""

import base64
import html
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import matplotlib.dates as mdates
import numpy as np
from matplotlib.figure import Figure  # figures without pyplot: no display, no global state

from streamscore.shared.drift.assessment import SCORE, baseline_entry
from streamscore.shared.spec import PipelineSpec

Record = dict[str, Any]


@dataclass(frozen=True)
class DriftData:
    """Drift records and alerts of one pipeline between `since` and `until` (window ends)."""

    spec: PipelineSpec
    since: datetime
    until: datetime
    records: list[Record]
    alerts: list[Record]
    baselines: dict[str, dict[str, Any]]
    """Per model version, the bundle's baseline.json."""

    def by_feature(self) -> dict[str, list[Record]]:
        """Judged windows per feature in time order (`low_count` windows say nothing and are left out)."""
        grouped: dict[str, list[Record]] = defaultdict(list)
        for record in sorted(self.records, key=lambda r: r["window_end"]):
            if record["level"] != "low_count":
                grouped[record["feature"]].append(record)
        return dict(grouped)

    def worst(self, n: int) -> list[Record]:
        """The window with the highest PSI of each of the n features that drifted most (not the score)."""
        peaks = [max(rs, key=lambda r: r["psi"]) for f, rs in self.by_feature().items() if f != SCORE]
        return sorted(peaks, key=lambda r: r["psi"], reverse=True)[:n]

    @property
    def low_count(self) -> int:
        return sum(r["level"] == "low_count" for r in self.records)


def load(spec: PipelineSpec, workdir: Path, since: datetime, until: datetime) -> DriftData:
    """Read both topics from the local stack (committed records only) and the baselines they name."""
    from streamscore.deploy.kafka_io import RegistryClient, read_decoded
    from streamscore.deploy.stack import StackConfig
    from streamscore.scoring.registry import ModelRegistry

    stack = StackConfig.from_env()
    registry = RegistryClient(stack.registry_url)

    def read(topic: str, end_field: str) -> list[Record]:
        return [r for r in read_decoded(stack.bootstrap_servers, registry, topic) if since <= r[end_field] <= until]

    records = read(spec.topics.drift, "window_end")
    models = ModelRegistry(spec.name, workdir)
    baselines = {version: models.baseline(version) for version in {r["model_version"] for r in records}}
    return DriftData(spec, since, until, records, read(spec.topics.alerts, "last_window_end"), baselines)


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode()


def psi_over_time(data: DriftData) -> Figure:
    features = data.by_feature()
    columns = 3
    rows = max(1, -(-len(features) // columns))
    figure = Figure(figsize=(5 * columns, 2.6 * rows))
    axes = figure.subplots(rows, columns, sharex=True, squeeze=False)
    for ax, (name, records) in zip(axes.flat, features.items(), strict=False):
        limits = data.spec.drift.thresholds_for(name)
        ax.plot([r["window_end"] for r in records], [r["psi"] for r in records], lw=1.2, color="tab:blue")
        ax.axhline(limits.psi_warn, color="orange", ls="--", lw=0.8, label=f"warn {limits.psi_warn}")
        ax.axhline(limits.psi_alert, color="red", ls="--", lw=0.8, label=f"alert {limits.psi_alert}")
        alerted = [r for r in records if r["level"] == "alert"]
        ax.scatter([r["window_end"] for r in alerted], [r["psi"] for r in alerted], color="red", s=8, zorder=3)
        ax.set_title(name, fontsize=9)
        ax.set_yscale("symlog", linthresh=0.1)
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    for ax in list(axes.flat)[len(features) :]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=7)
    figure.suptitle("PSI per window (red dots: level alert, PSI or JS distance over its threshold)")
    return figure


def histograms(data: DriftData, worst: list[Record]) -> Figure:
    figure = Figure(figsize=(5 * max(len(worst), 1), 3))
    axes = figure.subplots(1, max(len(worst), 1), squeeze=False)
    for ax, record in zip(axes.flat, worst, strict=False):
        expected = baseline_entry(data.baselines[record["model_version"]], record["feature"])["proportions"]
        counts = np.asarray(record["bin_counts"][: len(expected)], dtype=float)
        current = counts / max(counts.sum(), 1.0)
        x = np.arange(len(expected))
        ax.bar(x - 0.2, expected, width=0.4, label="training baseline", color="tab:gray")
        ax.bar(x + 0.2, current, width=0.4, label=f"window ending {record['window_end']:%H:%M}", color="tab:red")
        ax.set_title(f"{record['feature']}: PSI {record['psi']:.2f}, JS {record['js_distance']:.2f}", fontsize=9)
        ax.set_xlabel("baseline bin (training quantiles)")
        ax.legend(fontsize=7)
    figure.suptitle("Baseline vs current distribution, where each feature drifted most")
    return figure


def score_over_time(data: DriftData) -> Figure:
    records = data.by_feature().get(SCORE, [])
    figure = Figure(figsize=(12, 3))
    ax = figure.subplots()
    if records:
        counts = np.array([r["bin_counts"] for r in records], dtype=float)
        shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0)
        ends = mdates.date2num([r["window_end"] for r in records])
        image = ax.imshow(
            shares.T, aspect="auto", origin="lower", cmap="viridis", extent=(ends[0], ends[-1], 0, shares.shape[1])
        )
        figure.colorbar(image, ax=ax, label="share of window")
        ax.xaxis_date()
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    ax.set_ylabel("score bin (training deciles)")
    ax.set_title("Score distribution per window (each training decile holds 10 % at training time)")
    return figure


def alert_timeline(data: DriftData) -> Figure:
    names = sorted({r["feature"] for r in data.records})
    figure = Figure(figsize=(12, 0.35 * len(names) + 1))
    ax = figure.subplots()
    for alert in data.alerts:
        row = names.index(alert["feature"]) if alert["feature"] in names else 0
        start, end = mdates.date2num([alert["first_window_start"], alert["last_window_end"]])
        ax.barh(row, end - start, left=start, height=0.6, color="red")
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.set_xlim(mdates.date2num([data.since, data.until]))
    ax.xaxis_date()
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    ax.set_title(f"Alerts ({len(data.alerts)}): a feature at level alert for {data.spec.drift.consecutive} windows")
    return figure


def render(data: DriftData) -> str:
    """The whole page; every value shown comes from the topics and the bundles' baselines."""
    worst = data.worst(3)
    charts = [
        ("Drift per feature over time", psi_over_time(data)),
        ("Baseline vs current histograms", histograms(data, worst)),
        ("Score distribution over time", score_over_time(data)),
        ("Alert timeline", alert_timeline(data)),
    ]
    sections = "\n".join(
        f'<h2>{title}</h2><img alt="{title}" src="data:image/png;base64,{_png(figure)}">' for title, figure in charts
    )
    rows = "\n".join(
        f"<tr><td>{html.escape(a['feature'])}</td><td>{a['first_window_start']:%Y-%m-%d %H:%M}</td>"
        f"<td>{a['last_window_end']:%Y-%m-%d %H:%M}</td><td>{a['max_psi']:.3f}</td>"
        f"<td>{a['max_js_distance']:.3f}</td><td>{html.escape(a['model_version'])}</td></tr>"
        for a in sorted(data.alerts, key=lambda a: a["last_window_end"])
    )
    versions = ", ".join(sorted(data.baselines)) or "none"
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Drift report: {html.escape(data.spec.name)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1400px}}img{{max-width:100%}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:2px 8px;font-size:13px}}</style></head>
<body><h1>Drift report: {html.escape(data.spec.name)}</h1>
<p>Windows ending {data.since:%Y-%m-%d %H:%M} to {data.until:%Y-%m-%d %H:%M} UTC:
{len(data.records)} drift records, {len(data.alerts)} alerts; model versions {html.escape(versions)}.
Windows of {data.spec.drift.window // 60_000} min sliding by {data.spec.drift.slide // 60_000} min;
{data.low_count} records with fewer than {data.spec.drift.min_count} values are not judged and not drawn.</p>
<h2>Alerts</h2><table><tr><th>feature</th><th>first window start</th><th>last window end</th>
<th>max PSI</th><th>max JS distance</th><th>model version</th></tr>{rows}</table>
{sections}
</body></html>
"""


def write_report(data: DriftData, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(data))
    return out
