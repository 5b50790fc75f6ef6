"""Fill the benchmark's events topic from Spark: Avro encoded by spark-avro in the JVM, written by
spark-sql-kafka, in the Confluent wire format the job decodes.

The Python producer (`produce_events`: fastavro, one `send` per record) writes about 20k events/s
here, so the standard profile's 10 million events took ten minutes before any measurement began.
The records are the same: the generator's table, keyed by entity, framed with the registered
schema's id, each Kafka partition written by one task in event-time order (Spark's tasks writing
one partition side by side would interleave its events out of order: 7 % dead-lettered as late).
Two differences: an entity's partition is Spark's xxhash64 of the key, not the Kafka client's
murmur2 (so one filler must own the topic), and Spark cannot set a record's timestamp, so it is the
append time (the job's rowtime is the event time whenever within `max_timestamp_skew` of it).
"""

import json
from typing import Any

import pyarrow as pa

from streamscore.deploy.kafka_io import RegistryClient
from streamscore.deploy.kafka_security import KafkaSecurity
from streamscore.shared.spec import PipelineSpec

CHUNK_ROWS = 1_000_000
"""Rows handed to Spark per write: the Arrow batches are copied into the driver's JVM heap."""


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


def fill_topic(spark: Any, spec: PipelineSpec, table: pa.Table, bootstrap: str, registry_url: str) -> None:
    """Append `table`'s rows to `spec.topics.events`, creating the pipeline's topics first."""
    from pyspark.sql import functions as F

    from streamscore.deploy.cli import ensure_pipeline_topics

    ensure_pipeline_topics(spec)
    value = framed_value(spec, registry_url)
    options = {
        "kafka.bootstrap.servers": bootstrap,
        "topic": spec.topics.events,
        "kafka.acks": "all",
        "kafka.linger.ms": "20",
        "kafka.batch.size": str(256 * 1024),
        **{f"kafka.{k}": v for k, v in KafkaSecurity.from_env().java_properties().items()},
    }
    partitions = spec.topics.partitions
    for start in range(0, table.num_rows, CHUNK_ROWS):  # the table is in event-time order: so are chunks
        (
            spark.createDataFrame(table.slice(start, CHUNK_ROWS))
            .withColumn("partition", F.pmod(F.xxhash64(spec.event.key), F.lit(partitions)).cast("int"))
            .repartition(partitions, "partition")
            .sortWithinPartitions(spec.event.time)
            .select(
                F.col(spec.event.key).cast("string").cast("binary").alias("key"),
                value.alias("value"),
                "partition",
            )
            .write.format("kafka")
            .options(**options)
            .save()
        )
