"""The rule-based baseline every model must beat: flag an event when features pass high quantiles.

This is what a fraud team runs before it has a model (amount and velocity limits); a model that
cannot beat it in money is not worth its operational cost.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from streamscore.shared.spec import PipelineSpec


@dataclass(frozen=True)
class RuleBaseline:
    """Limits per feature; the score is the share of rules an event breaks (0, 1/k, …, 1)."""

    limits: dict[str, float]

    @classmethod
    def fit(cls, spec: PipelineSpec, features: npt.NDArray[np.float32], names: list[str]) -> "RuleBaseline":
        """Each rule's limit is its quantile over the training period."""
        limits = {
            rule.feature: float(np.quantile(features[:, names.index(rule.feature)], rule.quantile))
            for rule in spec.baseline.rules
        }
        return cls(limits)

    def score(self, features: npt.NDArray[np.float32], names: list[str]) -> npt.NDArray[np.float64]:
        if not self.limits:
            return np.zeros(len(features))
        broken = [features[:, names.index(name)] > limit for name, limit in self.limits.items()]
        return np.mean(broken, axis=0).astype(np.float64)

    def describe(self) -> dict[str, Any]:
        return {"kind": "rules", "flag_when_above": self.limits}
