"""Time-based split of labelled history: train, validation and test follow each other in event time.

A random split would let the model learn from the future of the very cards it is tested on;
the gaps between parts keep labels that arrive late (chargebacks) and windows that straddle a
boundary from linking one part to the next.
"""

from dataclasses import asdict, dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from streamscore.shared.errors import StreamscoreError
from streamscore.shared.spec import PipelineSpec


@dataclass(frozen=True)
class TimeSplit:
    """Half-open [start, end) event-time ranges in epoch ms."""

    train: tuple[int, int]
    validation: tuple[int, int]
    test: tuple[int, int]

    @classmethod
    def of(cls, spec: PipelineSpec, first_ms: int, last_ms: int) -> "TimeSplit":
        """Split [first_ms, last_ms] by the spec's fractions of its span, dropping `gap` before each later part."""
        span = last_ms + 1 - first_ms
        gap = spec.split.gap
        end_train = first_ms + int(span * spec.split.train)
        end_validation = first_ms + int(span * (spec.split.train + spec.split.validation))
        split = cls(
            train=(first_ms, end_train),
            validation=(end_train + gap, end_validation),
            test=(end_validation + gap, last_ms + 1),
        )
        for name, (start, end) in asdict(split).items():
            if end <= start:
                raise StreamscoreError(
                    f"the {name} period is empty: history spans {span / 3.6e6:.1f} h, "
                    f"too short for split {spec.split.model_dump()} with a {gap / 3.6e6:g} h gap"
                )
        return split

    def part(self, frame: DataFrame, name: str, time_column: str) -> DataFrame:
        start, end = getattr(self, name)
        return frame.where((F.col(time_column) >= start) & (F.col(time_column) < end))
