"""When each scored record became visible to a `read_committed` consumer.

The job's sinks are exactly-once: a scored record is appended at once but stays invisible to
downstream consumers reading committed data until the checkpoint after it completes and the sink
commits its transaction. The partition's last stable offset (LSO) is the first offset such a consumer
cannot read yet, so sampling it every few milliseconds during a run dates each record's visibility
without reading (and decoding) the topic a second time, at well under a millisecond per sample.
"""

import threading
import time

import numpy as np
from confluent_kafka import IsolationLevel, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from streamscore.deploy.kafka_security import KafkaSecurity
from streamscore.shared.errors import StreamscoreError

SAMPLE_INTERVAL_S = 0.025
"""Granularity of the visibility times: short against any checkpoint interval."""


class StableOffsetWatch:
    """Samples `topic`'s last stable offsets in a thread from `start()` to `stop()`."""

    def __init__(self, bootstrap: str, topic: str, partitions: int) -> None:
        self._admin = AdminClient({"bootstrap.servers": bootstrap, **KafkaSecurity.from_env().librdkafka_options()})
        self._partitions = [TopicPartition(topic, p) for p in range(partitions)]
        self._times: list[int] = []
        self._stable: list[list[int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name=f"lso-{topic}", daemon=True)
        self._error: Exception | None = None

    def _offsets(self, isolation: IsolationLevel) -> list[int]:
        futures = self._admin.list_offsets(
            {tp: OffsetSpec.latest() for tp in self._partitions}, isolation_level=isolation, request_timeout=5
        )
        return [futures[tp].result().offset for tp in self._partitions]

    def _sample(self) -> None:
        answered = time.monotonic()
        try:
            while not self._stop.is_set():
                try:
                    stable = self._offsets(IsolationLevel.READ_COMMITTED)
                except KafkaException:
                    if time.monotonic() - answered > 30:  # a new topic's leader takes a moment to be known
                        raise
                else:
                    answered = time.monotonic()
                    self._times.append(time.time_ns() // 1_000_000)
                    self._stable.append(stable)
                self._stop.wait(SAMPLE_INTERVAL_S)
        except Exception as error:  # re-raised by stop(), in the caller's thread
            self._error = error

    def start(self) -> None:
        self._thread.start()

    def wait_quiet(self, quiet_s: float, timeout_s: float) -> None:
        """Until nothing was appended to the topic for `quiet_s`: the job has written all it will of a
        load that ended, a backlog included (a fixed wait cut a job that fell behind short)."""
        deadline = time.monotonic() + timeout_s
        appended, since = self._offsets(IsolationLevel.READ_UNCOMMITTED), time.monotonic()
        while time.monotonic() - since < quiet_s:
            if time.monotonic() > deadline:
                raise StreamscoreError(f"records still appended {timeout_s:.0f} s after the load ended")
            time.sleep(SAMPLE_INTERVAL_S * 4)
            if (latest := self._offsets(IsolationLevel.READ_UNCOMMITTED)) != appended:
                appended, since = latest, time.monotonic()

    def wait_committed(self, timeout_s: float) -> None:
        """Until every record appended so far is visible: the open transactions committed, at the next
        checkpoint."""
        appended = self._offsets(IsolationLevel.READ_UNCOMMITTED)
        deadline = time.monotonic() + timeout_s
        while not (self._stable and all(s >= a for s, a in zip(self._stable[-1], appended, strict=True))):
            if time.monotonic() > deadline or self._error is not None:
                raise StreamscoreError(f"records up to offsets {appended} not committed after {timeout_s:.0f} s")
            time.sleep(SAMPLE_INTERVAL_S)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        if self._error is not None:
            raise StreamscoreError(f"sampling the last stable offsets failed: {self._error}") from self._error

    def visible_ms(self, partitions: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """Wall-clock ms of the first sample whose last stable offset passed each (partition, offset);
        -1 for records still invisible at the last sample (their transaction aborted or still open)."""
        times = np.array(self._times, dtype=np.int64)
        stable = np.array(self._stable, dtype=np.int64).reshape(len(self._times), len(self._partitions))
        visible = np.full(offsets.shape, -1, dtype=np.int64)
        for p in range(len(self._partitions)):
            mine = partitions == p
            first = np.searchsorted(stable[:, p], offsets[mine], side="right")  # stable offsets never fall
            visible[mine] = np.where(first < len(times), times[np.minimum(first, len(times) - 1)], -1)
        return visible
