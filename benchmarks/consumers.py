"""The alternatives a team writes without streamscore: a Python Kafka consumer that decodes Avro with
fastavro and scores with the same ONNX model, one event at a time or in 10k-event batches.

They do less than the job: no dead-letter topic, no state, no profiles, no exactly-once sink;
the feature vector is the event's own numeric fields padded to the model's width. Every one of
those omissions flatters them, so the job-vs-consumer ratios are lower bounds.
"""

import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from kafka import KafkaConsumer

from streamscore.benchmarks.measurement import Measurement
from streamscore.deploy.kafka_io import RegistryClient, WireFormatError, decode
from streamscore.deploy.kafka_security import KafkaSecurity
from streamscore.scoring.onnx_model import OnnxModel


def _batches(bootstrap: str, topic: str, limit: int, max_records: int) -> Iterator[list[bytes]]:
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_poll_records=max_records,
        fetch_max_bytes=64 * 1024 * 1024,
        **KafkaSecurity.from_env().python_options(),
    )
    seen, idle = 0, 0
    try:
        while seen < limit and idle < 5:
            polled = consumer.poll(timeout_ms=1_000, max_records=min(max_records, limit - seen))
            values = [m.value for records in polled.values() for m in records]
            idle = 0 if values else idle + 1
            seen += len(values)
            if values:
                yield values
    finally:
        consumer.close()


def _vector(numeric: list[str], width: int) -> Callable[[dict[str, Any]], list[float]]:
    pad = [0.0] * max(0, width - len(numeric))

    def vector(record: dict[str, Any]) -> list[float]:
        return [float(record[f] or 0.0) for f in numeric[:width]] + pad

    return vector


def consume_and_score(
    bootstrap: str, registry_url: str, topic: str, model: OnnxModel, numeric: list[str], limit: int, batch: int
) -> Measurement:
    """Read up to `limit` events from the start of `topic`, scoring `batch` events per ONNX call."""
    registry, vector = RegistryClient(registry_url), _vector(numeric, model.n_features)
    events, began, cpu = 0, time.perf_counter(), time.process_time()
    ended, cpu_ended = began, cpu  # at the last batch: the empty polls at the end are not work
    for values in _batches(bootstrap, topic, limit, max_records=max(batch, 500)):
        rows = []
        for value in values:
            try:
                rows.append(vector(decode(registry, value)))
            except (WireFormatError, TypeError, ValueError, KeyError):
                continue  # a broken record is skipped, which a real consumer must not do
        features = np.asarray(rows, dtype=np.float32).reshape(-1, model.n_features)
        for start in range(0, len(features), batch):
            model.score(features[start : start + batch])
        events += len(values)
        ended, cpu_ended = time.perf_counter(), time.process_time()
    name = "per_event_consumer" if batch == 1 else f"batched_consumer_{batch}"
    return Measurement(name, events, ended - began, cpu_ended - cpu)
