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

from typing import Any

import pyarrow as pa

from streamscore.benchmarks.avro_columns import framed_value
from streamscore.deploy.kafka_security import KafkaSecurity
from streamscore.shared.spec import PipelineSpec

CHUNK_ROWS = 1_000_000
"""Rows handed to Spark per write: the Arrow batches are copied into the driver's JVM heap."""


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
