"""What one window knows about one feature: counts and sums that merge by addition.

Flink builds each sliding window from panes of one slide each (its window slices), so a window's
statistics must be a merge of its panes' statistics; these are. The same class is the reference
the stream's windows are tested against, and turns the job's aggregate columns into a record.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from streamscore.shared.reference import bin_counts


@dataclass
class WindowStats:
    """Count, nulls, sum, sum of squares, min, max and counts over fixed bins of one feature.

    >>> a = WindowStats.of(np.array([1.0, 2.0, np.nan]), edges=[1.5])
    >>> b = WindowStats.of(np.array([3.0]), edges=[1.5])
    >>> merged = a.merge(b)
    >>> merged.count, merged.nulls, merged.bins, merged.mean, merged.max
    (4, 1, [1, 2], 2.0, 3.0)
    """

    bins: list[int]
    count: int = 0
    nulls: int = 0
    total: float = 0.0
    total_squares: float = 0.0
    min: float | None = None
    max: float | None = None

    @classmethod
    def empty(cls, n_bins: int) -> "WindowStats":
        return cls(bins=[0] * n_bins)

    @classmethod
    def of(cls, values: npt.NDArray[np.floating[Any]], edges: list[float]) -> "WindowStats":
        return cls.empty(len(edges) + 1).update(values, edges)

    def update(self, values: npt.NDArray[np.floating[Any]], edges: list[float]) -> "WindowStats":
        """Add a batch of values (NaN is null); returns self."""
        present = values[~np.isnan(values)].astype(np.float64)
        self.count += int(values.size)
        self.nulls += int(values.size - present.size)
        self.total += float(present.sum())
        self.total_squares += float(np.square(present).sum())
        if present.size:
            low, high = float(present.min()), float(present.max())
            self.min = low if self.min is None else min(self.min, low)
            self.max = high if self.max is None else max(self.max, high)
        counts = bin_counts(present, edges).tolist()
        self.bins = [a + b for a, b in zip(self.bins, counts, strict=True)]
        return self

    def merge(self, other: "WindowStats") -> "WindowStats":
        """The statistics of both windows' values together (a new object)."""
        if len(self.bins) != len(other.bins):
            raise ValueError(f"cannot merge {len(self.bins)} bins with {len(other.bins)}")
        lows = [v for v in (self.min, other.min) if v is not None]
        highs = [v for v in (self.max, other.max) if v is not None]
        return WindowStats(
            bins=[a + b for a, b in zip(self.bins, other.bins, strict=True)],
            count=self.count + other.count,
            nulls=self.nulls + other.nulls,
            total=self.total + other.total,
            total_squares=self.total_squares + other.total_squares,
            min=min(lows) if lows else None,
            max=max(highs) if highs else None,
        )

    @property
    def present(self) -> int:
        return self.count - self.nulls

    @property
    def null_rate(self) -> float:
        return self.nulls / self.count if self.count else 0.0

    @property
    def mean(self) -> float | None:
        return self.total / self.present if self.present else None

    @property
    def std(self) -> float | None:
        """Population standard deviation (as the baseline's), clamped at 0 against rounding."""
        if not self.present:
            return None
        mean = self.total / self.present
        return float(np.sqrt(max(0.0, self.total_squares / self.present - mean * mean)))
