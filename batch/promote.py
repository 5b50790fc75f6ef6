"""Promotion: the newest candidate replaces the champion only if it costs less on the same test period.

Both models score the candidate's test period (its snapshot, its split) with their own
thresholds, through the same ONNX path the stream uses, after their bundles are verified.
Every decision, promoted or not, is recorded as tags on the candidate's registry version and as
a line in `<workdir>/<pipeline>/decisions.jsonl`.
"""

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from streamscore.batch.evaluation import expected_cost
from streamscore.batch.training_set import LABEL_COLUMN
from streamscore.scoring.onnx_model import OnnxModel
from streamscore.scoring.registry import CHAMPION, ModelRegistry, RegisteredModel
from streamscore.shared.errors import StreamscoreError
from streamscore.shared.spec import PipelineSpec


@dataclass(frozen=True)
class Decision:
    promoted: bool
    candidate: int
    champion: int | None
    candidate_cost: float | None
    champion_cost: float | None
    reason: str
    forced: bool
    decided_at: str


def _test_period(candidate: RegisteredModel, spec: PipelineSpec) -> tuple[np.ndarray, np.ndarray]:
    manifest = candidate.manifest()
    start, end = manifest["split"]["test"]
    time = spec.event.time
    table = pq.read_table(
        Path(manifest["lineage"]["snapshot"]["path"]) / "data",
        columns=[*manifest["feature_order"]["names"], LABEL_COLUMN],
        filters=[(time, ">=", start), (time, "<", end)],
    )
    features = np.column_stack([table[n].to_numpy() for n in manifest["feature_order"]["names"]]).astype(np.float32)
    return features, table[LABEL_COLUMN].to_numpy().astype(np.int64)


def _cost(model: RegisteredModel, features: np.ndarray, labels: np.ndarray, spec: PipelineSpec) -> float:
    onnx_model, manifest = OnnxModel.from_bundle(model.path)  # refuses a tampered bundle
    return expected_cost(labels, onnx_model.score(features), float(manifest["threshold"]), spec.costs)


def promote(spec: PipelineSpec, workdir: Path, force: bool = False, reason: str | None = None) -> Decision:
    """Compare the newest registered version with the champion and move `champion` if it wins (or is forced)."""
    if force and not reason:
        raise StreamscoreError("--force needs --reason: a forced promotion must say why")
    registry = ModelRegistry(spec.name, workdir)
    versions = registry.versions()
    if not versions:
        raise StreamscoreError(f"no registered versions of {spec.name!r}; run `streamscore train` first")
    candidate = versions[-1]
    champion = registry.find(CHAMPION)
    now = datetime.now(UTC).isoformat()
    candidate_cost = champion_cost = None
    if champion is not None and champion.version == candidate.version:
        decision = Decision(False, candidate.version, champion.version, None, None, "already champion", False, now)
    elif champion is None:
        OnnxModel.from_bundle(candidate.path)
        decision = Decision(True, candidate.version, None, None, None, reason or "no champion yet", force, now)
    else:
        old, new = champion.manifest()["feature_order"], candidate.manifest()["feature_order"]
        if old["version"] != new["version"]:
            if not force:
                raise StreamscoreError(
                    f"champion v{champion.version} uses feature version {old['version']}, candidate "
                    f"v{candidate.version} uses {new['version']}: they cannot score the same period; "
                    "retrain the champion's definition or promote with --force --reason"
                )
            candidate_cost = _cost(candidate, *_test_period(candidate, spec), spec)
        else:
            features, labels = _test_period(candidate, spec)
            candidate_cost = _cost(candidate, features, labels, spec)
            champion_cost = _cost(champion, features, labels, spec)
        better = champion_cost is not None and candidate_cost < champion_cost
        why = (
            f"candidate costs {candidate_cost:,.2f} vs champion {champion_cost:,.2f} {spec.costs.currency}"
            if champion_cost is not None
            else "feature versions differ"
        )
        decision = Decision(
            better or force,
            candidate.version,
            champion.version,
            candidate_cost,
            champion_cost,
            f"{why}; forced: {reason}" if force and not better else why,
            force and not better,
            now,
        )
    if decision.promoted:
        registry.set_alias(CHAMPION, candidate.version)
    registry.tag(
        candidate.version,
        {"promotion.decision": "promoted" if decision.promoted else "rejected", "promotion.reason": decision.reason},
    )
    log = workdir / spec.name / "decisions.jsonl"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as handle:
        handle.write(json.dumps(asdict(decision)) + "\n")
    return decision
