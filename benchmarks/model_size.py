"""How the model's size sets the ceiling: XGBoost models of 50, 200 and 400 trees (depth 6, the
reference model's shape) on the champion's feature width, exported the way bundles are, and scored
by ONNX Runtime alone on one thread. The job's own rate follows this curve from below."""

from dataclasses import replace

import numpy as np
import xgboost

from streamscore.batch.estimators import booster_to_onnx
from streamscore.benchmarks.ceiling import onnx_ceiling
from streamscore.benchmarks.measurement import Measurement
from streamscore.scoring.onnx_model import OnnxModel

TREES = (50, 200, 400)


def ceiling_by_model_size(n_features: int, rows: int, batch: int, seed: int = 0) -> list[Measurement]:
    rng = np.random.default_rng(seed)
    features = rng.standard_normal((20_000, n_features)).astype(np.float32)
    labels = (features[:, 0] + 0.5 * features[:, 1] ** 2 + rng.normal(0, 1, len(features)) > 1.5).astype(int)
    measured = []
    for trees in TREES:
        classifier = xgboost.XGBClassifier(
            n_estimators=trees, max_depth=6, learning_rate=0.1, n_jobs=1, random_state=seed
        )
        classifier.fit(features, labels)
        model = OnnxModel(booster_to_onnx(classifier.get_booster(), n_features).SerializeToString(), n_features)
        measured.append(replace(onnx_ceiling(model, rows, batch, seed), variant=f"onnx_ceiling_{trees}_trees"))
    return measured
