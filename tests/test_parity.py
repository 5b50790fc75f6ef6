"""Training/serving parity: the stream computes, for the same events, the feature vectors and scores
that the batch side computes with Spark and the bundle's ONNX model."""

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from streaming_fixtures import ScoringRun, batch_feature_hashes

pytestmark = pytest.mark.stack


def test_stream_features_and_scores_equal_batch(spark: Any, scoring: ScoringRun) -> None:
    from streamscore.scoring.onnx_model import OnnxModel
    from streamscore.scoring.registry import CHAMPION, ModelRegistry

    spec = scoring.spec
    features, hashes = batch_feature_hashes(spark, scoring, scoring.scored)
    names = [f.name for f in spec.features]
    champion = ModelRegistry(spec.name, scoring.workdir).get(CHAMPION)
    model, _ = OnnxModel.from_bundle(Path(champion.path))
    batch_scores = model.score(features)
    stream_scores = np.array([s["score"] for s in scoring.scored], dtype=np.float32)
    stream_hashes = np.array([s["feature_hash"] for s in scoring.scored])

    assert len(features) == len(scoring.scored) > 3_000
    same_vector = hashes == stream_hashes
    assert same_vector.mean() == 1.0, f"{(~same_vector).sum()} of {len(features)} feature vectors differ"
    assert np.max(np.abs(batch_scores - stream_scores)) <= 1e-6
    assert (features[:, names.index("profile_txn_count_30d")] > 0).mean() > 0.5  # profiles were joined
