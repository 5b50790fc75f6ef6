"""Training/serving parity: the stream computes, for the same events, the feature vectors and scores
that the batch side computes with Spark and the bundle's ONNX model."""

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from streaming_fixtures import ScoringRun

pytestmark = pytest.mark.stack


def test_stream_features_and_scores_equal_batch(spark: Any, scoring: ScoringRun) -> None:
    from streamscore.batch.features import compute_features, profiles_as_of
    from streamscore.scoring.onnx_model import OnnxModel
    from streamscore.scoring.registry import CHAMPION, ModelRegistry
    from streamscore.shared.hashing import feature_hash

    spec = scoring.spec
    stream = {s["event_id"]: s for s in scoring.scored}
    live = scoring.live.filter(pa.compute.is_in(scoring.live["event_id"], pa.array(list(stream))))
    history = spark.read.parquet(str(scoring.spec_file.parent / "history"))
    profiles = profiles_as_of(spark, history, spec, scoring.as_of_ms)
    batch = compute_features(spark, spark.createDataFrame(live), spec, profiles).toPandas()
    names = [f.name for f in spec.features]
    features = batch[names].to_numpy(np.float32)
    champion = ModelRegistry(spec.name, scoring.workdir).get(CHAMPION)
    model, _ = OnnxModel.from_bundle(Path(champion.path))
    batch_scores = model.score(features)
    stream_scores = np.array([stream[i]["score"] for i in batch[spec.event.id]], dtype=np.float32)
    stream_hashes = np.array([stream[i]["feature_hash"] for i in batch[spec.event.id]])

    assert len(batch) == len(stream) > 3_000
    same_vector = feature_hash(features) == stream_hashes
    assert same_vector.mean() == 1.0, f"{(~same_vector).sum()} of {len(batch)} feature vectors differ"
    assert np.max(np.abs(batch_scores - stream_scores)) <= 1e-6
    assert (features[:, names.index("profile_txn_count_30d")] > 0).mean() > 0.5  # profiles were joined
