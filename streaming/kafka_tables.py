"""The Kafka tables of the scoring job, derived from the spec and the Avro schemas, never written by hand.

The event source reads each record's key and value as raw bytes with its topic, partition,
offset and timestamp: decoding happens in the JVM by `DECODE_CONFLUENT_AVRO` (deploy/jvm/flink-udf),
so a record that does not decode becomes a dead letter instead of failing the job. The sinks
write Avro in the Confluent wire format with the project's own schemas, transactionally.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streamscore.deploy.kafka_security import FLINK_SHADED, KafkaSecurity
from streamscore.shared.features.sql import TS_COLUMN, interval, profile_features, quote
from streamscore.shared.spec import PipelineSpec
from streamscore.streaming.java_functions import DECODE_FUNCTION
from streamscore.streaming.tables import ddl, sql_string

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"
MAX_EPOCH_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z; TO_TIMESTAMP_LTZ must not overflow


@dataclass(frozen=True)
class KafkaSettings:
    """Where the job's topics live and how the source reads them."""

    bootstrap: str
    registry_url: str
    group_id: str
    bounded: bool = False
    """Stop at the offsets that were latest when the job started (tests, backfills, benchmarks)."""
    security: KafkaSecurity = field(default_factory=KafkaSecurity)

    def connection(self) -> dict[str, str]:
        """Bootstrap servers and security properties (the password only as a reference), for every table."""
        secured = self.security.java_properties(class_prefix=FLINK_SHADED)
        return {"properties.bootstrap.servers": self.bootstrap, **{f"properties.{k}": v for k, v in secured.items()}}

    def sink_options(self, topic: str, value_format: str) -> dict[str, str]:
        """A transactional (exactly-once) Kafka sink to `topic`; commits on checkpoints."""
        return {
            "connector": "kafka",
            **self.connection(),
            "topic": topic,
            "value.format": value_format,
            "sink.delivery-guarantee": "exactly-once",
            "sink.transactional-id-prefix": f"{self.group_id}-{topic}",
            "properties.transaction.timeout.ms": "600000",
        }

    def source_options(self) -> dict[str, str]:
        options = {
            "connector": "kafka",
            **self.connection(),
            "properties.group.id": self.group_id,
            "scan.startup.mode": "group-offsets",
            "properties.auto.offset.reset": "earliest",
        }
        if self.bounded:
            options["scan.bounded.mode"] = "latest-offset"
        return options


def _plain(avro_type: Any) -> Any:
    """The type without logical annotations: timestamp-millis reads as its underlying long (epoch ms)."""
    if isinstance(avro_type, list):
        return [_plain(t) for t in avro_type]
    if isinstance(avro_type, dict) and "logicalType" in avro_type:
        return avro_type["type"]
    return avro_type


def reader_schema(spec: PipelineSpec) -> str:
    """The event schema the decoder resolves every writer schema to, as JSON."""
    schema = spec.event_schema()
    return json.dumps({**schema, "fields": [{**f, "type": _plain(f["type"])} for f in schema["fields"]]})


def decode_call(spec: PipelineSpec, registry_url: str, column: str = "value") -> str:
    return f"{DECODE_FUNCTION}({quote(column)}, {sql_string(reader_schema(spec))}, {sql_string(registry_url)})"


def event_source(name: str, spec: PipelineSpec, kafka: KafkaSettings) -> str:
    """Raw records plus metadata; the rowtime is the event time when it is within `max_timestamp_skew` of
    the record's Kafka timestamp, else the Kafka timestamp (such an event is dead-lettered downstream)."""
    event_time = f"{decode_call(spec, kafka.registry_url)}.`record`.{quote(spec.event.time)}"
    skew = interval(spec.event.max_timestamp_skew)
    rowtime = (
        f"CASE WHEN {event_time} BETWEEN 0 AND {MAX_EPOCH_MS} "  # TO_TIMESTAMP_LTZ must not overflow
        f"AND TO_TIMESTAMP_LTZ({event_time}, 3) BETWEEN `kafka_ts` - {skew} AND `kafka_ts` + {skew} "
        f"THEN TO_TIMESTAMP_LTZ({event_time}, 3) ELSE `kafka_ts` END"
    )
    columns = [
        "`key` BYTES",
        "`value` BYTES",
        "`topic` STRING METADATA VIRTUAL",
        "`partition` INT METADATA VIRTUAL",
        "`offset` BIGINT METADATA VIRTUAL",
        "`kafka_ts` TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL",
        f"{quote(TS_COLUMN)} AS {rowtime}",
        f"WATERMARK FOR {quote(TS_COLUMN)} AS {quote(TS_COLUMN)} - {interval(spec.event.max_out_of_orderness)}",
    ]
    options = {
        **kafka.source_options(),
        "topic": spec.topics.events,
        "key.format": "raw",
        "key.fields": "key",
        "value.format": "raw",
        "value.fields-include": "EXCEPT_KEY",
        "properties.isolation.level": "read_committed",
        "scan.watermark.idle-timeout": f"{spec.streaming.idle_timeout} ms",
    }
    return ddl(name, columns, options)


def profile_table(name: str, spec: PipelineSpec, kafka: KafkaSettings) -> str:
    """The compacted profiles topic: one version per entity and `as_of_ms`.

    For `streaming.features_at: watermark` a versioned table (upsert-kafka, keyed by entity) for the
    temporal join; for `arrival` every version as an appended row, all read again from the earliest
    offset on a start without state (group offsets would skip versions still in use).
    """
    from streamscore.shared.avro import profile_schema

    names = [f.name for f in profile_features(spec)]
    key = quote(spec.event.key)
    versioned = spec.streaming.features_at == "watermark"
    columns = [
        f"{key} STRING NOT NULL",
        "`as_of_ms` BIGINT NOT NULL",
        *[f"{quote(n)} DOUBLE" for n in names],
        "`__as_of` AS TO_TIMESTAMP_LTZ(`as_of_ms`, 3)",
        "WATERMARK FOR `__as_of` AS `__as_of`",
    ]
    options = {
        "connector": "upsert-kafka" if versioned else "kafka",
        **kafka.connection(),
        "properties.group.id": kafka.group_id,
        "topic": spec.topics.profiles,
        "key.format": "raw",
        "value.format": "avro-confluent",
        "value.avro-confluent.url": kafka.registry_url,
        "value.avro-confluent.schema": json.dumps(profile_schema(spec.name, spec.event.key, names)),
        "value.fields-include": "ALL",
        "scan.watermark.idle-timeout": f"{spec.streaming.profiles_idle_timeout} ms",
    }
    if versioned:
        columns.append(f"PRIMARY KEY ({key}) NOT ENFORCED")
    else:
        options |= {"key.fields": spec.event.key, "scan.startup.mode": "earliest-offset"}
    if kafka.bounded:
        options["scan.bounded.mode"] = "latest-offset"
    return ddl(name, columns, options)


SCORED_COLUMNS = [
    "`event_id` STRING NOT NULL",
    "`entity_key` STRING NOT NULL",
    "`event_time` TIMESTAMP(3) NOT NULL",
    "`score` FLOAT NOT NULL",
    "`decision` BOOLEAN NOT NULL",
    "`model_version` STRING NOT NULL",
    "`feature_vector_version` STRING NOT NULL",
    "`feature_hash` BIGINT NOT NULL",
    "`challenger_score` FLOAT",
    "`challenger_version` STRING",
]
DEAD_LETTER_COLUMNS = [
    "`original` BYTES",
    "`original_key` BYTES",
    "`reason` STRING NOT NULL",
    "`detail` STRING NOT NULL",
    "`source_topic` STRING NOT NULL",
    "`source_partition` INT NOT NULL",
    "`source_offset` BIGINT NOT NULL",
    "`dead_lettered_at` TIMESTAMP(3) NOT NULL",
]


def kafka_sink(
    name: str, topic: str, columns: list[str], schema_file: str, key: str | None, kafka: KafkaSettings
) -> str:
    """A transactional (exactly-once) Kafka sink writing Confluent Avro with the project's schema.

    The schema is registered under `<topic>-value` here, once, before the job runs, in the text Avro's
    Java printing gives (what a Java client would register). The sink's format, `registered-avro`
    (deploy/jvm/flink-udf), writes that id into every record instead of asking a registry client
    per record as Flink's avro-confluent does (9 % of the TaskManager's CPU). Needs the UDF jar on
    `pipeline.jars`, which also puts it on the client's class path."""
    from pyflink.java_gateway import get_gateway

    from streamscore.deploy.kafka_io import RegistryClient

    schema = (SCHEMAS / schema_file).read_text()
    avro = get_gateway().jvm.org.apache.flink.avro.shaded.org.apache.avro  # shaded in the avro-confluent jar
    printed = avro.Schema.Parser().parse(schema).toString()
    schema_id = RegistryClient(kafka.registry_url).register(f"{topic}-value", json.loads(schema), text=printed)
    options = {
        **kafka.sink_options(topic, "registered-avro"),
        "value.registered-avro.schema": printed,
        "value.registered-avro.schema-id": str(schema_id),
    }
    if key is not None:
        options |= {"key.format": "raw", "key.fields": key, "value.fields-include": "ALL"}
    return ddl(name, columns, options)
