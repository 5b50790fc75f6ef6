"""A fingerprint of each feature vector, so a decision can be traced to the exact inputs behind it.

FNV-1a (64-bit) over the vector's float32 bit patterns, one 32-bit word per feature, computed
column by column with numpy: no per-row Python on the scoring path, and anyone can recompute it
from a logged vector.
"""

import numpy as np
import numpy.typing as npt

_OFFSET = np.uint64(0xCBF29CE484222325)
_PRIME = np.uint64(0x100000001B3)


def feature_hash(features: npt.NDArray[np.float32]) -> npt.NDArray[np.int64]:
    """One signed 64-bit hash per row of a float32 [n, k] matrix (Avro `long`).

    >>> int(feature_hash(np.array([[1.0, 2.0]], dtype=np.float32))[0]) == int(
    ...     feature_hash(np.array([[1.0, 2.0], [2.0, 1.0]], dtype=np.float32))[0])
    True
    >>> len(set(feature_hash(np.array([[1.0, 2.0], [2.0, 1.0]], dtype=np.float32)).tolist()))
    2
    """
    words = np.ascontiguousarray(features, dtype=np.float32).view(np.uint32).astype(np.uint64)
    result = np.full(words.shape[0], _OFFSET, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for column in range(words.shape[1]):
            result = (result ^ words[:, column]) * _PRIME
    return result.view(np.int64)
