"""Where a bench run's wall time goes: a profile has a budget (`quick` 3 minutes, `standard` 20), and
when a run overshoots it, the report says which part to cut instead of leaving that to be pieced
together from log timestamps."""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Timeline:
    began: float = field(default_factory=time.monotonic)
    parts: dict[str, float] = field(default_factory=dict)
    """Wall seconds per part, summed over its occurrences (every topic fill is `fill`)."""

    @contextmanager
    def part(self, name: str) -> Iterator[None]:
        start = time.monotonic()
        try:
            yield
        finally:
            self.add(name, time.monotonic() - start)

    def add(self, name: str, seconds: float) -> None:
        self.parts[name] = round(self.parts.get(name, 0.0) + seconds, 1)

    def as_dict(self, budget_minutes: float | None) -> dict[str, Any]:
        wall = round(time.monotonic() - self.began, 1)
        return {
            "wall_seconds": wall,
            "budget_seconds": None if budget_minutes is None else budget_minutes * 60,
            "within_budget": None if budget_minutes is None else wall <= budget_minutes * 60,
            "parts": self.parts,
            "other_seconds": round(wall - sum(self.parts.values()), 1),
        }
