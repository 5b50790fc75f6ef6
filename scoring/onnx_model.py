"""One way to run a bundle's model: ONNX Runtime on float32 batches, one intra-op thread by default.

The parity gate, promotion and the streaming UDF all score through `OnnxModel`, so the numbers
a model was validated with are produced by the same code that serves it.
"""

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from streamscore.shared.bundle import INPUT_NAME, MODEL_FILE, OUTPUT_NAME, verify_bundle
from streamscore.shared.errors import BundleError


class OnnxModel:
    """A loaded model; `score` maps float32 [n, features] to float32 [n] probabilities."""

    def __init__(self, model: bytes, n_features: int, threads: int = 1) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads  # one per slot: many workers must not oversubscribe cores
        options.inter_op_num_threads = 1
        try:
            self._session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped errors for bad models
            raise BundleError(f"ONNX Runtime cannot load the model: {exc}") from exc
        inputs = {i.name: i for i in self._session.get_inputs()}
        outputs = {o.name for o in self._session.get_outputs()}
        if INPUT_NAME not in inputs or OUTPUT_NAME not in outputs:
            raise BundleError(
                f"model must have input {INPUT_NAME!r} and output {OUTPUT_NAME!r}, "
                f"has inputs {sorted(inputs)} and outputs {sorted(outputs)}"
            )
        shape = inputs[INPUT_NAME].shape
        if len(shape) != 2 or shape[1] != n_features:
            raise BundleError(f"model input {INPUT_NAME!r} has shape {shape}, expected [batch, {n_features}]")
        self.n_features = n_features

    @classmethod
    def from_bundle(cls, directory: Path, threads: int = 1) -> tuple["OnnxModel", dict[str, Any]]:
        """The model and its manifest, after every file's sha256 is checked against the manifest."""
        manifest = verify_bundle(directory)
        n_features = len(manifest["feature_order"]["names"])
        return cls((directory / MODEL_FILE).read_bytes(), n_features, threads), manifest

    def score(self, features: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        batch = np.ascontiguousarray(features, dtype=np.float32)
        if batch.ndim != 2 or batch.shape[1] != self.n_features:
            raise ValueError(f"expected float32 [n, {self.n_features}], got shape {batch.shape}")
        result: npt.NDArray[np.float32] = self._session.run([OUTPUT_NAME], {INPUT_NAME: batch})[0]
        return result
