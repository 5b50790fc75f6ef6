"""Hostile records: the ways a producer can break an event, and the dead-letter reason each must get.

The demo's broken share, the streaming tests and the fuzz test (tests/resilience) all draw from
these kinds, so a kind added here is checked end to end everywhere. Each broken record keeps the
Kafka key and timestamp its valid original would have had: the event's own bytes are what is
hostile, not the producer's clock (a forged Kafka timestamp is the broker's to refuse, with
`log.message.timestamp.after.max.ms`).
"""

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from streamscore.shared.avro import record_fields
from streamscore.shared.spec import PipelineSpec

REASONS = {
    "garbage": "undecodable",
    "truncated": "undecodable",
    "unknown_schema_id": "undecodable",
    "wrong_type": "undecodable",
    "non_finite": "non_finite",
    "out_of_range": "out_of_range",
    "time_past": "out_of_range",
    "time_future": "out_of_range",
    "huge_string": "too_long",
    "duplicate": "duplicate",
}
"""kind -> the reason its dead letter must carry (streaming/validation.py)."""
KINDS = tuple(REASONS)
UNKNOWN_SCHEMA_ID = 2_000_000_000
FAR_FUTURE_MS = 4_102_444_800_000  # 2100-01-01


@dataclass(frozen=True)
class EventFields:
    """The fields of an event schema the breaker needs: one numeric field with a `max` rule, one string
    field that is neither the id nor the key, and the event time."""

    numeric: str
    text: str
    time: str
    text_limit: int

    @classmethod
    def of(cls, spec: PipelineSpec) -> "EventFields":
        fields = record_fields(spec.event_schema())
        numeric = next(n for n, rule in spec.event.fields.items() if rule.max is not None)
        text = next(n for n, f in fields.items() if f.kind == "string" and n not in (spec.event.id, spec.event.key))
        return cls(numeric, text, spec.event.time, spec.event.max_length(text))


def wrong_type_schema(schema: dict[str, Any], numeric: str) -> dict[str, Any]:
    """`schema` with `numeric` as a string: an old or foreign producer's schema that cannot resolve."""
    changed = copy.deepcopy(schema)
    changed["name"] = f"{schema['name']}WrongType"
    for field in changed["fields"]:
        if field["name"] == numeric:
            field["type"] = "string"
    return changed


@dataclass(frozen=True)
class Breaker:
    """Turns a valid record into the payloads of one hostile kind."""

    fields: EventFields
    encode: Callable[[dict[str, Any], bool], bytes]
    """(record, wrong_type) -> framed bytes under the event schema, or the wrong-type schema if `wrong_type`."""

    def payloads(self, kind: str, good: bytes, record: dict[str, Any], rng: np.random.Generator) -> list[bytes]:
        """What to send instead of `good`: a `duplicate` is `good` twice, every other kind one payload."""
        f = self.fields
        if kind == "garbage":
            return [bytes(rng.integers(0, 256, size=int(rng.integers(1, 64)), dtype=np.uint8))]
        if kind == "truncated":
            return [good[: max(6, len(good) // 2)]]
        if kind == "unknown_schema_id":
            return [bytes([0]) + UNKNOWN_SCHEMA_ID.to_bytes(4, "big") + good[5:]]
        if kind == "duplicate":
            return [good, good]
        if kind == "wrong_type":
            return [self.encode({**record, f.numeric: str(record[f.numeric])}, True)]
        broken = dict(record)
        if kind == "non_finite":
            broken[f.numeric] = float(rng.choice([np.nan, np.inf, -np.inf]))
        elif kind == "out_of_range":
            broken[f.numeric] = -1e12
        elif kind == "time_past":
            broken[f.time] = int(rng.integers(0, 1_000_000_000_000))  # before 2001
        elif kind == "time_future":
            broken[f.time] = FAR_FUTURE_MS + int(rng.integers(0, 10**12))
        elif kind == "huge_string":
            broken[f.text] = "x" * (20 * f.text_limit)
        else:
            raise ValueError(f"unknown hostile kind {kind!r}; valid: {list(KINDS)}")
        return [self.encode(broken, False)]
