"""Reading Avro schema files (.avsc) as plain JSON: what the spec checks fields against.

Only the schema is read here; records are encoded and decoded by the engines (Flink's
avro-confluent format in the JVM) or by fastavro at the edges.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from streamscore.shared.errors import SchemaError


@dataclass(frozen=True)
class AvroField:
    """One top-level field: its kind (primitive or logical type) and whether null is allowed."""

    KINDS: ClassVar[tuple[str, ...]] = (
        "string",
        "int",
        "long",
        "float",
        "double",
        "boolean",
        "bytes",
        "timestamp-millis",
    )
    name: str
    kind: str
    nullable: bool


def load_avro_schema(path: Path) -> dict[str, Any]:
    """Parse an .avsc file; raises SchemaError if it is not a JSON record schema."""
    try:
        schema = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise SchemaError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(schema, dict) or schema.get("type") != "record":
        raise SchemaError(f"{path} must hold an Avro record schema")
    return schema


def _kind(avro_type: Any) -> tuple[str, bool]:
    if isinstance(avro_type, list):
        branches = [t for t in avro_type if t != "null"]
        if len(branches) != 1:
            raise SchemaError(f"only [null, T] unions are supported, got {avro_type}")
        kind, _ = _kind(branches[0])
        return kind, "null" in avro_type
    if isinstance(avro_type, dict):
        logical = avro_type.get("logicalType")
        if logical is not None:
            return str(logical), False
        return _kind(avro_type["type"])
    return str(avro_type), False


def record_fields(schema: dict[str, Any]) -> dict[str, AvroField]:
    """Map field name to AvroField for a record schema."""
    fields: dict[str, AvroField] = {}
    for entry in schema.get("fields", []):
        kind, nullable = _kind(entry["type"])
        fields[entry["name"]] = AvroField(name=entry["name"], kind=kind, nullable=nullable)
    return fields


def profile_schema(pipeline: str, key: str, features: list[str]) -> dict[str, Any]:
    """The Avro value schema of the entity-profile topic: key, as-of time and one double per profile feature.

    >>> [f["name"] for f in profile_schema("payments", "card_id", ["spend_mean"])["fields"]]
    ['card_id', 'as_of_ms', 'spend_mean']
    """
    return {
        "type": "record",
        "name": f"{pipeline}_entity_profile",
        "namespace": "streamscore.profiles",
        "doc": "Entity profile features computed in batch over whole refresh periods before as_of_ms.",
        "fields": [
            {"name": key, "type": "string"},
            {"name": "as_of_ms", "type": "long"},
            *[{"name": name, "type": ["null", "double"], "default": None} for name in features],
        ],
    }
