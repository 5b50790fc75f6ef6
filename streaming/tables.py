"""Flink SQL table definitions derived from the spec and its Avro schema, never written by hand.

The event time arrives as Avro timestamp-millis and is declared BIGINT (Avro's underlying long),
so the compiled feature SQL sees epoch milliseconds in both engines; `TS_COLUMN` is the rowtime
with the spec's bounded out-of-orderness as watermark.
"""

from streamscore.shared.avro import AvroField, record_fields
from streamscore.shared.features.sql import TS_COLUMN, interval, quote
from streamscore.shared.spec import PipelineSpec

_FLINK_TYPES = {
    "string": "STRING",
    "int": "INT",
    "long": "BIGINT",
    "float": "FLOAT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "bytes": "BYTES",
    "timestamp-millis": "BIGINT",
}


def flink_type(field: AvroField) -> str:
    """The Flink SQL type of an Avro field, without nullability."""
    return _FLINK_TYPES[field.kind]


def _column(field: AvroField) -> str:
    nullability = "" if field.nullable else " NOT NULL"
    return f"{quote(field.name)} {flink_type(field)}{nullability}"


def event_columns(spec: PipelineSpec) -> list[str]:
    """Physical columns, the rowtime column and the watermark, for a CREATE TABLE statement."""
    fields = record_fields(spec.event_schema())
    columns = [_column(f) for f in fields.values()]
    time = quote(spec.event.time)
    columns.append(f"{quote(TS_COLUMN)} AS TO_TIMESTAMP_LTZ({time}, 3)")
    columns.append(
        f"WATERMARK FOR {quote(TS_COLUMN)} AS {quote(TS_COLUMN)} - {interval(spec.event.max_out_of_orderness)}"
    )
    return columns


def sql_string(text: str) -> str:
    """A SQL string literal (quotes doubled)."""
    return "'" + text.replace("'", "''") + "'"


def ddl(name: str, columns: list[str], options: dict[str, str]) -> str:
    """CREATE TEMPORARY TABLE with the given column definitions and connector options."""
    body = ",\n  ".join(columns)
    rendered = ",\n  ".join(f"{sql_string(key)} = {sql_string(value)}" for key, value in options.items())
    return f"CREATE TEMPORARY TABLE {quote(name)} (\n  {body}\n) WITH (\n  {rendered}\n)"


def create_table(name: str, spec: PipelineSpec, options: dict[str, str]) -> str:
    """CREATE TEMPORARY TABLE for the spec's events with the given connector options."""
    return ddl(name, event_columns(spec), options)
