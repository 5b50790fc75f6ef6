"""The feature vector's fixed order, dtype and version, recorded in every model bundle.

A model is only valid for the exact vector it was trained on; the version is a hash of the
feature definitions, so a changed definition can never silently feed an old model.
"""

import hashlib
import json
from dataclasses import dataclass

from streamscore.shared.spec import Feature, PipelineSpec

DTYPE = "float32"


@dataclass(frozen=True)
class FeatureVector:
    features: tuple[Feature, ...]

    @classmethod
    def of(cls, spec: PipelineSpec) -> "FeatureVector":
        """Features in spec order: the order of the model's input columns."""
        return cls(features=tuple(spec.features))

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    @property
    def version(self) -> str:
        """First 16 hex digits of the sha256 of the canonical JSON of the definitions and dtype."""
        body = {"dtype": DTYPE, "features": [f.model_dump(mode="json") for f in self.features]}
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]

    def describe(self) -> dict[str, object]:
        """What a model manifest records: order, dtypes and version."""
        return {"version": self.version, "dtype": DTYPE, "names": self.names}
