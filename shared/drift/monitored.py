"""Which distributions the stream watches, and over how many bins at most.

The job's window SQL is compiled from the spec, before any model is loaded, while bin edges come
from whichever bundle scores the event; so the SQL counts over the most bins the spec allows
(`drift.bins`, or a category's vocabulary plus unknown) and a bundle with more is refused.
"""

from dataclasses import dataclass

from streamscore.shared.drift.assessment import SCORE
from streamscore.shared.features.vector import FeatureVector
from streamscore.shared.spec import CategoryFeature, PipelineSpec


@dataclass(frozen=True)
class Monitored:
    name: str
    position: int | None
    """Index in the feature vector; None for the score."""
    max_bins: int


def monitored(spec: PipelineSpec) -> list[Monitored]:
    """The watched features in vector order, then the score."""
    watched = [
        Monitored(f.name, i, len(f.vocabulary) + 1 if isinstance(f, CategoryFeature) else spec.drift.bins)
        for i, f in enumerate(FeatureVector.of(spec).features)
        if f.name not in spec.drift.exclude
    ]
    return [*watched, Monitored(SCORE, None, spec.drift.bins)]
