"""The latency benchmark's load: events sent on the schedule their event times set, at a fixed rate.

The job under test shares the machine's cores with this producer, so the producer must cost little.
kafka-python took 22 us of CPU per send and fastavro 8 us per record here: at 16,000 events/s (half
the job's maximum) half a core taken from a job measured on two. So every record is encoded before
the clock starts, by spark-avro as the topic fills are (benchmarks/avro_columns.py), and librdkafka
(confluent-kafka, 2 us per send) sends them. The schedule starts when the sending does, whenever the
encoding ran (benchmarks/latency.py encodes while the job under test starts, time the run waits
anyway): event times trail the wall clock by a constant (the job's rowtime is still the event time,
being within `max_timestamp_skew` of the append time), and each event is sent that constant after
its event time, never before.
"""

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from confluent_kafka import KafkaError, Message, Producer

from streamscore.benchmarks.avro_columns import encoded_values
from streamscore.deploy.kafka_security import KafkaSecurity
from streamscore.shared.errors import StreamscoreError
from streamscore.shared.spec import PipelineSpec


@dataclass(frozen=True)
class PacedLoad:
    lateness_ms: np.ndarray
    """How late against its schedule the producer sent each event: the producer's own lag."""
    appended_ms: np.ndarray
    """Each event's timestamp as the broker acknowledged it, in the table's order: on a LogAppendTime
    topic its append time, so nobody reads the topic back to learn it."""


@dataclass(frozen=True)
class EncodedLoad:
    """Events as the records `send_paced` sends, in event-time order."""

    values: list[bytes]
    keys: list[bytes]
    times: np.ndarray
    """Event times, epoch ms: the schedule."""


def encode_load(spark: Any, spec: PipelineSpec, events: pa.Table, registry_url: str) -> EncodedLoad:
    """`events` (in event-time order) as records of `spec.topics.events`."""
    return EncodedLoad(
        encoded_values(spark, spec, events, registry_url),
        [key.encode() for key in pc.cast(events.column(spec.event.key), pa.string()).to_pylist()],
        events.column(spec.event.time).cast(pa.int64()).to_numpy(),
    )


def send_paced(load: EncodedLoad, topic: str, bootstrap: str) -> PacedLoad:
    """Send `load` to `topic`, spaced as its event times are, from now."""
    values, keys, times = load.values, load.keys, load.times
    failures: list[KafkaError] = []
    appended = np.full(len(values), -1, dtype=np.int64)
    position = {value: i for i, value in enumerate(values)}  # each value holds its event's id: unique

    def delivered(error: KafkaError | None, message: Message) -> None:
        if error is not None:
            failures.append(error)
        else:
            appended[position[message.value()]] = message.timestamp()[1]

    config: dict[str, Any] = {
        "bootstrap.servers": bootstrap,
        "acks": "all",
        "linger.ms": 5,
        "on_delivery": delivered,
        **KafkaSecurity.from_env().librdkafka_options(),
    }
    producer = Producer(config)
    schedule = (times - times[0]) / 1000  # seconds from the start
    lateness = np.zeros(len(values))
    sent, started = 0, time.monotonic()
    while sent < len(values):
        now = time.monotonic() - started
        due = int(np.searchsorted(schedule, now, side="right"))
        if due == sent:
            time.sleep(min(0.001, schedule[sent] - now))
            continue
        lateness[sent:due] = now - schedule[sent:due]
        for i in range(sent, due):
            while True:
                try:
                    producer.produce(topic, value=values[i], key=keys[i], timestamp=int(times[i]))
                    break
                except BufferError:  # librdkafka's queue is full: let it deliver
                    producer.poll(0.005)
        sent = due
        producer.poll(0)
    if producer.flush(30) or failures:
        raise StreamscoreError(f"paced load to {topic}: {len(failures)} records not delivered ({failures[:1]})")
    return PacedLoad(lateness * 1000, appended)
