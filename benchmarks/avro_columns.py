"""Columns of Avro record values in the Confluent wire format, encoded and decoded by spark-avro in
the JVM: the bench's topic fills, its latency load and its reading back of scored records. fastavro,
one call per record in Python, took 13-17 us per record, seconds of every run on millions of records.
"""

import json
from typing import Any

import pyarrow as pa

from streamscore.deploy.kafka_io import RegistryClient
from streamscore.shared.spec import PipelineSpec


def framed_value(spec: PipelineSpec, registry_url: str) -> Any:
    """The Spark column of an event row's Kafka record value: its Avro (spark-avro, in the JVM) framed
    with the registered schema's id, as the job decodes it."""
    from pyspark.sql import functions as F
    from pyspark.sql.avro.functions import to_avro

    schema = spec.event_schema()
    schema_id = RegistryClient(registry_url).register(f"{spec.topics.events}-value", schema)
    header = F.lit(b"\x00" + schema_id.to_bytes(4, "big"))
    return F.concat(header, to_avro(F.struct(*[f["name"] for f in schema["fields"]]), json.dumps(schema)))


def encoded_values(spark: Any, spec: PipelineSpec, table: pa.Table, registry_url: str) -> list[bytes]:
    """`table`'s rows as record values, in its order: 1.5 million in seconds, where fastavro took
    17 us per record (26 s of each latency job's 1.5 million in a standard run)."""
    values = spark.createDataFrame(table).select(framed_value(spec, registry_url).alias("value")).toArrow()
    encoded: list[bytes] = values.column("value").to_pylist()
    return encoded


def decoded_field(spark: Any, values: list[bytes], schema: str, field: str) -> list[Any]:
    """`field` of each framed record value (one writer schema, `schema`), in order, decoded by spark-avro:
    fastavro took 13 us per record (16 s of each latency job's scored records in a standard run)."""
    from pyspark.sql import functions as F
    from pyspark.sql.avro.functions import from_avro

    table = spark.createDataFrame(pa.table({"value": pa.array(values, pa.binary())}))
    body = F.expr("substring(value, 6)")  # after the magic byte and the schema id
    decoded = table.select(from_avro(body, schema).getField(field).alias(field)).toArrow()
    return decoded.column(field).to_pylist()
