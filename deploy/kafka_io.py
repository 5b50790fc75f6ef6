"""Kafka and schema-registry I/O at the edges: topics, the Confluent wire format, producing events.

The hot path never comes through here (Flink decodes Avro in the JVM); this serves the CLI,
the generator's producer, tests and the benchmarks' Python baselines.
"""

import contextlib
import io
import json
import logging
import struct
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import fastavro
import numpy as np
import pyarrow as pa
import requests
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from streamscore.deploy.hostile import KINDS, Breaker, EventFields, wrong_type_schema
from streamscore.deploy.kafka_security import KafkaSecurity
from streamscore.shared.errors import StreamscoreError

T = TypeVar("T")
MAGIC = 0
HEADER = struct.Struct(">bI")
"""Confluent wire format: magic byte 0, then the schema id as a big-endian int32, then Avro."""


class KafkaUnavailableError(StreamscoreError):
    """Kafka could not be reached, or refused the client (wrong credentials, untrusted certificate)."""


class _Reasons(logging.Handler):
    """kafka-python logs why a connection failed (the broker's SASL answer, a certificate it could not
    verify) and then raises only a bootstrap timeout; keep the lines so the error can say why."""

    TELLING = ("Authentication", "CERTIFICATE", "certificate")

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage().split("Connection lost: ")[-1])

    def why(self) -> str | None:
        telling = [line for line in self.lines if any(word in line for word in self.TELLING)]
        return (telling or self.lines or [None])[0]


@contextlib.contextmanager
def connecting(bootstrap: str, security: KafkaSecurity | None = None) -> Iterator[dict[str, Any]]:
    """Yield the client options for `security` (the STREAMSCORE_KAFKA_* variables when None) and turn a
    client's failure to connect into one KafkaUnavailableError saying where, how and why."""
    security = security or KafkaSecurity.from_env()
    reasons, logger = _Reasons(), logging.getLogger("kafka")
    logger.addHandler(reasons)
    try:
        yield security.python_options()
    except KafkaError as exc:
        raise KafkaUnavailableError(f"Kafka at {bootstrap} ({security.describe()}): {reasons.why() or exc}") from exc
    finally:
        logger.removeHandler(reasons)


class RegistryError(StreamscoreError):
    """The schema registry refused a request or could not be reached."""


class WireFormatError(StreamscoreError):
    """Bytes that are not a Confluent-framed Avro record."""


class RegistryClient:
    """The part of the Confluent schema-registry API streamscore uses; parsed schemas are cached."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self._by_id: dict[int, Any] = {}

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = requests.request(method, f"{self.url}{path}", timeout=10, **kwargs)
        except requests.RequestException as exc:
            raise RegistryError(f"schema registry at {self.url} unreachable: {exc}; is the stack up?") from exc
        if response.status_code >= 400:
            raise RegistryError(f"{method} {path} answered {response.status_code}: {response.text[:300]}")
        return response.json()

    def register(self, subject: str, schema: dict[str, Any], text: str | None = None) -> int:
        """Register (or find) `schema` under `subject`; returns its global id.

        `text`, when given, is registered as it is: the registry finds an existing version only by
        the exact text, so a schema a Java client will register too must be sent as the JVM prints it."""
        body = {"schema": text or fastavro.schema.to_parsing_canonical_form(fastavro.parse_schema(schema))}
        answer = self._call(
            "POST",
            f"/subjects/{subject}/versions",
            json=body,
            headers={"Content-Type": "application/vnd.schemaregistry.v1+json"},
        )
        schema_id = int(answer["id"])
        self._by_id[schema_id] = fastavro.parse_schema(schema)
        return schema_id

    def schema(self, schema_id: int) -> Any:
        if schema_id not in self._by_id:
            self._by_id[schema_id] = fastavro.parse_schema(json.loads(self.schema_text(schema_id)))
        return self._by_id[schema_id]

    def schema_text(self, schema_id: int) -> str:
        """The schema as registered, JSON: what a JVM reader (spark-avro) takes."""
        return str(self._call("GET", f"/schemas/ids/{schema_id}")["schema"])

    def subjects(self) -> list[str]:
        return list(self._call("GET", "/subjects"))


def encode(schema_id: int, parsed_schema: Any, record: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    buffer.write(HEADER.pack(MAGIC, schema_id))
    fastavro.schemaless_writer(buffer, parsed_schema, record)
    return buffer.getvalue()


def decode(registry: RegistryClient, payload: bytes) -> dict[str, Any]:
    """Decode one framed record; raises WireFormatError for anything that is not one."""
    if len(payload) < HEADER.size:
        raise WireFormatError(f"{len(payload)} bytes is shorter than the 5-byte header")
    magic, schema_id = HEADER.unpack_from(payload)
    if magic != MAGIC:
        raise WireFormatError(f"magic byte is {magic}, expected {MAGIC}")
    schema = registry.schema(schema_id)
    try:
        record: dict[str, Any] = fastavro.schemaless_reader(io.BytesIO(payload[HEADER.size :]), schema, None)
    except (EOFError, ValueError, IndexError, UnicodeDecodeError) as exc:
        raise WireFormatError(f"not valid Avro for schema id {schema_id}: {exc}") from exc
    return record


def ensure_topics(
    bootstrap: str,
    topics: Iterable[str],
    partitions: int,
    compacted: Iterable[str] = (),
    append_time: Iterable[str] = (),
    security: KafkaSecurity | None = None,
) -> None:
    """Create missing topics, replicated to 3 brokers (or as many as there are; min.insync.replicas is the
    brokers' default); compacted ones get cleanup.policy=compact, `append_time` ones stamp each record
    with the broker's append time (when a decision was written)."""
    compact, appended = set(compacted), set(append_time)
    with connecting(bootstrap, security) as options:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="streamscore-admin", **options)
    try:
        _retrying(lambda: _create_missing(admin, topics, partitions, compact, appended))
    finally:
        admin.close()


def _retrying(call: Callable[[], T], attempts: int = 5) -> T:
    """kafka-python's clients raise a retriable error (a connection reset) when the broker they picked has
    just died instead of asking another: try again, as a cluster that lost one broker still works."""
    for _ in range(attempts - 1):
        try:
            return call()
        except KafkaError as exc:
            if not exc.retriable:
                raise
            time.sleep(1.0)
    return call()


def _create_missing(
    admin: KafkaAdminClient, topics: Iterable[str], partitions: int, compact: set[str], appended: set[str]
) -> None:
    existing = set(admin.list_topics())
    replicas = min(3, len(admin.describe_cluster()["brokers"]))
    wanted = [
        NewTopic(
            name=t,
            num_partitions=partitions,
            replication_factor=replicas,
            topic_configs=({"cleanup.policy": "compact"} if t in compact else {})
            | ({"message.timestamp.type": "LogAppendTime"} if t in appended else {}),
        )
        for t in topics
        if t not in existing
    ]
    if wanted:
        with contextlib.suppress(TopicAlreadyExistsError):
            admin.create_topics(wanted)


def round_trip(bootstrap: str, security: KafkaSecurity | None = None) -> bool:
    """Produce one record to a health topic and read it back: the broker really works."""
    topic = "__streamscore_health"
    marker = uuid.uuid4().bytes
    options = (security or KafkaSecurity.from_env()).python_options()
    try:
        ensure_topics(bootstrap, [topic], partitions=1, security=security)
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", request_timeout_ms=5_000, **options)
        metadata = producer.send(topic, marker).get(timeout=10)
        producer.close()
        consumer = KafkaConsumer(
            bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=5_000, **options
        )
        from kafka import TopicPartition

        partition = TopicPartition(topic, metadata.partition)
        consumer.assign([partition])
        consumer.seek(partition, metadata.offset)
        found = any(message.value == marker for message in consumer)
        consumer.close()
        return found
    except KafkaError:
        return False


@dataclass
class ProduceReport:
    valid: int = 0
    malformed: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.valid + sum(self.malformed.values())


def table_records(table: pa.Table, schema_fields: list[str]) -> Iterator[dict[str, Any]]:
    """`table`'s rows as the dicts fastavro encodes (timestamps as epoch longs)."""
    columns = {}
    for name in schema_fields:
        column = table.column(name)
        if pa.types.is_timestamp(column.type):
            column = column.cast(pa.int64())
        columns[name] = column.to_pylist()
    for i in range(table.num_rows):
        yield {name: values[i] for name, values in columns.items()}


def _breaker(registry: RegistryClient, topic: str, schema: dict[str, Any], fields: EventFields) -> Breaker:
    schema_id = registry.register(f"{topic}-value", schema)
    wrong = wrong_type_schema(schema, fields.numeric)
    wrong_id = registry.register(f"{topic}-value-wrong-type", wrong)
    parsed, wrong_parsed = registry.schema(schema_id), registry.schema(wrong_id)

    def encode_as(record: dict[str, Any], wrong_type: bool) -> bytes:
        return encode(wrong_id, wrong_parsed, record) if wrong_type else encode(schema_id, parsed, record)

    return Breaker(fields, encode_as)


def produce_table(
    table: pa.Table,
    *,
    bootstrap: str,
    registry: RegistryClient,
    topic: str,
    schema: dict[str, Any],
    key_field: str,
    time_field: str,
    malformed_rate: float = 0.0,
    seed: int = 0,
    hostile: EventFields | None = None,
    security: KafkaSecurity | None = None,
) -> ProduceReport:
    """Produce `table`'s rows as framed Avro keyed by `key_field`; a share of them deliberately broken.

    Broken records take the kinds in `deploy/hostile.KINDS` in turn (on the fields `hostile` names),
    so every kind appears; the report counts exactly what was sent, for tests that count records in
    and out (a `duplicate` sends the valid record and a copy: one valid, one malformed). The Kafka
    record timestamp is the event time, as a source that stamps events when they happen does.
    """
    schema_id = registry.register(f"{topic}-value", schema)
    parsed = registry.schema(schema_id)
    names = [f["name"] for f in schema["fields"]]
    rng = np.random.default_rng(seed)
    broken = rng.random(table.num_rows) < malformed_rate
    if broken.any() and hostile is None:
        raise ValueError("malformed_rate > 0 needs the `hostile` fields to break")
    breaker = _breaker(registry, topic, schema, hostile) if hostile is not None else None
    report = ProduceReport()
    with connecting(bootstrap, security) as options:
        producer = KafkaProducer(
            bootstrap_servers=bootstrap,
            acks="all",
            linger_ms=20,
            batch_size=256 * 1024,
            compression_type="lz4" if _has_lz4() else None,
            **options,
        )
    try:
        for i, record in enumerate(table_records(table, names)):
            payloads = [encode(schema_id, parsed, record)]
            if breaker is not None and broken[i]:
                kind = KINDS[sum(report.malformed.values()) % len(KINDS)]
                payloads = breaker.payloads(kind, payloads[0], record, rng)
                report.malformed[kind] = report.malformed.get(kind, 0) + 1
                report.valid += len(payloads) - 1  # a duplicate's original
            else:
                report.valid += 1
            for payload in payloads:
                producer.send(
                    topic, key=str(record[key_field]).encode(), value=payload, timestamp_ms=int(record[time_field])
                )
        producer.flush()
    finally:
        producer.close()
    return report


def _has_lz4() -> bool:
    try:
        import lz4  # noqa: F401
    except ImportError:
        return False
    return True


def consume_all(
    bootstrap: str,
    topic: str,
    timeout_ms: int = 5_000,
    read_committed: bool = True,
    security: KafkaSecurity | None = None,
) -> list[Any]:
    """Every record currently in `topic`, from the earliest offset (for tests, the demo and checks)."""
    return _retrying(lambda: _consume_all(bootstrap, topic, timeout_ms, read_committed, security))


def _consume_all(
    bootstrap: str, topic: str, timeout_ms: int, read_committed: bool, security: KafkaSecurity | None
) -> list[Any]:
    with connecting(bootstrap, security) as options:
        consumer = KafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            consumer_timeout_ms=timeout_ms,
            isolation_level="read_committed" if read_committed else "read_uncommitted",
            group_id=None,
            **options,
        )
    try:
        return list(consumer)
    finally:
        consumer.close()


def read_decoded(bootstrap: str, registry: RegistryClient, topic: str, timeout_ms: int = 3_000) -> list[dict[str, Any]]:
    """Every committed record of `topic`, decoded through the registry (topics the job writes)."""
    return [decode(registry, m.value) for m in consume_all(bootstrap, topic, timeout_ms=timeout_ms)]
