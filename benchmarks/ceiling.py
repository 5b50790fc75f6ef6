"""The model's ceiling: ONNX Runtime alone on one thread, scoring in-memory float32 arrays.

Nothing a job does around the model can beat this, so the job's rate is reported as a fraction
of it. Random rows are enough: a tree costs one walk from root to leaf whatever the values.
"""

import time

import numpy as np

from streamscore.benchmarks.measurement import Measurement
from streamscore.scoring.onnx_model import OnnxModel


def onnx_ceiling(model: OnnxModel, rows: int, batch: int, seed: int = 0) -> Measurement:
    features = np.random.default_rng(seed).standard_normal((rows, model.n_features)).astype(np.float32)
    model.score(features[:batch])  # warm-up: first call allocates
    began, cpu = time.perf_counter(), time.process_time()
    for start in range(0, rows, batch):
        model.score(features[start : start + batch])
    return Measurement(f"onnx_ceiling_batch_{batch}", rows, time.perf_counter() - began, time.process_time() - cpu)
