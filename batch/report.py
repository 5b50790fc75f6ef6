"""The short summary a training run ends with: the model next to the baseline, in money first."""

from typing import Any

from rich.console import Console
from rich.table import Table

from streamscore.scoring.registry import RegisteredModel

_ROWS = (
    ("expected_cost", "expected cost (test period)", "{:,.0f}"),
    ("expected_cost_per_1k_events", "cost per 1k events", "{:,.2f}"),
    ("roc_auc", "ROC-AUC", "{:.4f}"),
    ("pr_auc", "PR-AUC", "{:.4f}"),
    ("log_loss", "log-loss", "{:.4f}"),
    ("brier", "Brier score", "{:.4f}"),
    ("recall", "recall at threshold", "{:.3f}"),
    ("flag_rate", "flag rate", "{:.4f}"),
    ("threshold", "threshold (from validation)", "{:.4f}"),
)


def print_training_summary(
    manifest: dict[str, Any], registered: RegisteredModel, console: Console | None = None
) -> None:
    console = console or Console()
    model, baseline = manifest["metrics"]["model"], manifest["metrics"]["baseline"]
    table = Table("metric", "model", "rule baseline", title=f"{manifest['model_version']} ({manifest['algorithm']})")
    for key, label, fmt in _ROWS:
        table.add_row(label, fmt.format(model[key]), fmt.format(baseline[key]))
    table.add_row(
        "calibration error (ECE)", f"{model['calibration']['ece']:.4f}", f"{baseline['calibration']['ece']:.4f}"
    )
    console.print(table)
    saving = baseline["expected_cost"] - model["expected_cost"]
    console.print(
        f"test period: {model['events']:,} events, {model['positives']:,} positives; "
        f"model saves {saving:,.0f} {model['currency']} vs the baseline "
        f"(approving everything would cost {model['cost_of_approving_all']:,.0f}); "
        f"ONNX parity max |diff| {manifest['parity_max_abs_diff']:.2e}"
    )
    console.print(f"registered version {registered.version} {registered.aliases} at {registered.path}")
