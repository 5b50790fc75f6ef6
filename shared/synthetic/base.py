"""What every synthetic event generator takes, and the registry that the spec's `generator:` names."""

from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa

from streamscore.shared.errors import StreamscoreError
from streamscore.shared.spec import PipelineSpec


@dataclass(frozen=True, kw_only=True)
class DriftInjection:
    """From `start_ms` on, `field` becomes `value * scale + shift`: a shift with a known onset."""

    field: str
    start_ms: int
    scale: float = 1.0
    shift: float = 0.0


@dataclass(frozen=True, kw_only=True)
class GeneratorConfig:
    events: int
    seed: int
    start_ms: int
    days: float
    entities: int
    merchants: int
    positive_rate: float
    drift: DriftInjection | None = None

    def __post_init__(self) -> None:
        if self.events <= 0:
            raise ValueError(f"events must be > 0, got {self.events}")
        if self.days <= 0:
            raise ValueError(f"days must be > 0, got {self.days}")


Generator = Callable[[GeneratorConfig], pa.Table]
_GENERATORS: dict[str, Generator] = {}


def register(name: str, generator: Generator) -> None:
    _GENERATORS[name] = generator


def get_generator(name: str) -> Generator:
    """The generator registered under `name`; importing the package registers the built-in ones."""
    try:
        return _GENERATORS[name]
    except KeyError:
        raise StreamscoreError(f"unknown generator {name!r}; known: {sorted(_GENERATORS)}") from None


def generator_for(
    spec: PipelineSpec, *, events: int, seed: int, start_ms: int, days: float, drift: DriftInjection | None = None
) -> tuple[Generator, GeneratorConfig]:
    """The spec's generator and a config with its population; one place for the CLI and the demo."""
    if spec.synthetic is None:
        raise StreamscoreError(f"pipeline {spec.name!r} has no `synthetic:` section; add one to generate events")
    config = GeneratorConfig(
        events=events,
        seed=seed,
        start_ms=start_ms,
        days=days,
        entities=spec.synthetic.entities,
        merchants=spec.synthetic.merchants,
        positive_rate=spec.synthetic.positive_rate,
        drift=drift,
    )
    return get_generator(spec.synthetic.generator), config
