"""The parity gate: the exported ONNX model must score like the native model it came from.

Converters get details wrong (base_score, best_iteration, float32 thresholds, a missing
sigmoid); comparing on the whole test set catches them before a bundle can be registered.
"""

import numpy as np
import numpy.typing as npt

from streamscore.scoring.onnx_model import OnnxModel
from streamscore.shared.errors import StreamscoreError

TOLERANCE = 1e-5


class ParityError(StreamscoreError):
    """ONNX and native scores differ by more than the tolerance; nothing is registered."""


def parity_gate(
    model: bytes, features: npt.NDArray[np.float32], native: npt.NDArray[np.float64], tolerance: float = TOLERANCE
) -> float:
    """The max absolute probability difference over every row, if within `tolerance`.

    Raises:
        ParityError: naming the difference, the tolerance and the worst row.
    """
    onnx_scores = OnnxModel(model, features.shape[1]).score(features).astype(np.float64)
    differences = np.abs(onnx_scores - native)
    worst = int(np.argmax(differences)) if len(differences) else 0
    largest = float(differences[worst]) if len(differences) else 0.0
    if not np.isfinite(largest) or largest > tolerance:
        raise ParityError(
            f"ONNX and native scores differ by {largest:.3g} (> {tolerance:g}) on {len(features)} test rows; "
            f"worst row {worst}: native {native[worst]:.6f}, ONNX {onnx_scores[worst]:.6f}"
        )
    return largest
