"""How the model's size sets the cost: XGBoost models of 50, 200 and 400 trees at the champion's
depth on its feature width, exported the way bundles are. Each is scored by ONNX Runtime alone on
one thread (the ceiling) and, in a bundle of its own registered as `champion` of a registry of its
own, by the streaming job (what the job pays per tree); a size the champion has is measured by the
job's own run, not by a model of the same shape."""

import shutil
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import xgboost

from streamscore.batch.estimators import booster_to_onnx
from streamscore.benchmarks.ceiling import onnx_ceiling
from streamscore.benchmarks.measurement import Measurement
from streamscore.scoring.onnx_model import OnnxModel
from streamscore.shared.bundle import MODEL_FILE, read_manifest, write_manifest

TREES = (50, 200, 400)
REFERENCE_DEPTH = 6
"""The depth of the spec's reference model (examples/payments), for a champion whose depth is not recorded."""


def champion_shape(params: Mapping[str, Any]) -> tuple[int | None, int]:
    """The champion's tree count (None: not recorded) and depth, from its manifest's `params`."""
    trees = params.get("n_estimators")
    return (None if trees is None else int(trees)), int(params.get("max_depth", REFERENCE_DEPTH))


def trees_label(trees: int) -> str:
    """What a sized model's runs are named with: `onnx_ceiling<label>`, the job's variant with it appended."""
    return f"_{trees}_trees"


def size_runs(champion_trees: int | None, champion_run: str, job: str) -> dict[int, str]:
    """Trees -> the run measuring the job with a model that size: for the champion's own size its run
    (`champion_run`: the issue's 200-tree reference model is the champion), for the others the run of
    the sized model (`job`'s variant with the size's label)."""
    return {trees: champion_run if trees == champion_trees else job + trees_label(trees) for trees in TREES}


def sized_models(n_features: int, depth: int, seed: int = 0) -> dict[int, bytes]:
    """ONNX bytes per tree count, trained on random rows: a tree costs one root-to-leaf walk whatever
    the values, so the scores need not mean anything."""
    rng = np.random.default_rng(seed)
    features = rng.standard_normal((20_000, n_features)).astype(np.float32)
    labels = (features[:, 0] + 0.5 * features[:, 1] ** 2 + rng.normal(0, 1, len(features)) > 1.5).astype(int)
    models = {}
    for trees in TREES:
        classifier = xgboost.XGBClassifier(
            n_estimators=trees, max_depth=depth, learning_rate=0.1, n_jobs=1, random_state=seed
        )
        classifier.fit(features, labels)
        models[trees] = booster_to_onnx(classifier.get_booster(), n_features).SerializeToString()
    return models


def ceiling_by_model_size(models: dict[int, bytes], n_features: int, rows: int, batch: int) -> list[Measurement]:
    return [
        replace(onnx_ceiling(OnnxModel(onnx, n_features), rows, batch), variant=f"onnx_ceiling{trees_label(trees)}")
        for trees, onnx in models.items()
    ]


def sized_champion(pipeline: str, champion: Path, onnx: bytes, trees: int, depth: int, workdir: Path) -> Path:
    """A registry in `workdir` whose `champion` is the champion bundle with its model replaced by
    `onnx` (manifest, threshold and baseline kept, sha256s rewritten); returns `workdir`."""
    from streamscore.scoring.registry import CHAMPION, ModelRegistry

    bundle = workdir / "bundle"
    shutil.copytree(champion, bundle)
    (bundle / MODEL_FILE).write_bytes(onnx)
    manifest = {k: v for k, v in read_manifest(bundle).items() if k != "files"}
    manifest["model_version"] = f"{manifest['model_version']}-{trees}-trees"
    manifest["params"] = {**manifest.get("params", {}), "n_estimators": trees, "max_depth": depth}
    write_manifest(bundle, manifest)
    registry = ModelRegistry(pipeline, workdir)
    registered = registry.register(bundle, {"n_estimators": trees}, {}, {"model_version": manifest["model_version"]})
    registry.set_alias(CHAMPION, registered.version)
    return workdir
