"""End-to-end latency under a steady load: from the broker's append time of an event to the broker's
append time of its scored record, with the job running as in production.

The run's events topic and the scored topic both stamp records with LogAppendTime, so one clock, the
broker's, starts and ends the measurement, and a producer that falls behind its schedule
(benchmarks/paced_load.py) does not count as the job's latency; that lag is reported on its own.
Records are read uncommitted, so the checkpoint interval is not part of that figure; the sinks are
exactly-once, and a second set of percentiles (`committed_*`) ends when the record became visible
to read_committed consumers, its transaction committed after the next checkpoint
(benchmarks/stable_offsets.py): what a downstream exactly-once reader waits, about half the
checkpoint interval on average and all of it at worst. With `streaming.features_at: watermark` the
features wait for the watermark, so every latency includes `event.max_out_of_orderness` (the report
states both next to the percentiles); for the same reason the load's last `max_out_of_orderness` is
still waiting when the run ends, and those events are not in the figures.

One job per runtime profile takes every rate, as a step load: `warm_up_s` + `seconds` at the lowest
rate, then `step_warm_up_s` + `seconds` at the next, with no pause, and each step's warm-up is not
measured. A job that has just started answers its first events seconds late (code paths compiled on
first use, the Python worker's first bundles, the first checkpoints), and the faster the load, the longer it
takes to catch up: a fresh job at 16,000 events/s (half its maximum on 10M events) caught up after
8-10 s in one run and after 23 s in another (2026-11-28), which left the end of the catch-up inside
the measured seconds (p99 650 ms, 100-480 ms per second after it). The lowest rate absorbs the cold
start (at 3,000 events/s the job caught up within 5 s), and every higher rate meets a warm job, as in
production, where a job has long been running when the load rises; it also starts one job per
profile instead of one per rate, minutes of a standard run. Each step's figures say which rate came
before it. A later step needs only seconds: in three standard runs (2026-11-29) the 50 % step's first
seconds already read as its last (p99 89-330 ms per second), where the job's start at 10 % took 7-9 s
to catch up. Around each checkpoint, RocksDB flushed its memtables in the checkpoint's synchronous
phase (the deduplication's and the windows' operators one after the other, 50-280 ms) and the second
held a p99 of 200-500 ms (per second of append time, ad hoc), until the `latency` profile turned on
the state changelog (`RuntimeProfile.state_changelog`: those phases 0-5 ms, the checkpoints'
seconds' p99 under 200 ms).
"""

import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, TopicPartition

from streamscore.benchmarks.avro_columns import decoded_field
from streamscore.benchmarks.cpu import CoreTimeline
from streamscore.benchmarks.job import task_manager_pid
from streamscore.benchmarks.paced_load import encode_load, send_paced
from streamscore.benchmarks.stable_offsets import StableOffsetWatch
from streamscore.deploy.kafka_io import HEADER, RegistryClient, ensure_topics
from streamscore.deploy.kafka_security import KafkaSecurity
from streamscore.deploy.process import StackConfig
from streamscore.shared.errors import StreamscoreError
from streamscore.shared.spec import PipelineSpec, dump_pipeline, load_pipeline, with_streaming, with_topic_suffix
from streamscore.streaming.rest_jobs import cancel, wait_running
from streamscore.streaming.warm_client import WarmClient

EMPTY_PROFILES_IDLE_MS = 1_000
"""The latency job's `profiles_idle_timeout`: the load may begin once the empty profiles topic has gone
idle (a load that began earlier waited in event-time state, and the job answered its first events
6-8 s late), so the spec's 10 s were 10 s of every latency job's start."""


def _read_all(bootstrap: str, topic: str) -> list[Message]:
    """Every record of `topic`, uncommitted ones included, read up to its end as it is now (librdkafka:
    kafka-python took 35 us per record, a minute per topic of the fastest rate)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"latency-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "isolation.level": "read_uncommitted",
            **KafkaSecurity.from_env().librdkafka_options(),
        }
    )
    try:
        found = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        partitions = [TopicPartition(topic, p, OFFSET_BEGINNING) for p in found]
        offsets = {p.partition: consumer.get_watermark_offsets(p, timeout=10) for p in partitions}
        filled = [p for p in partitions if offsets[p.partition][1] > offsets[p.partition][0]]
        consumer.assign(partitions)
        read: list[Message] = []
        stalled_at = time.monotonic() + 30
        while filled and any(p.offset < offsets[p.partition][1] for p in consumer.position(filled)):
            batch = consumer.consume(10_000, timeout=0.5)  # 10,000 records or 0.5 s, whichever first
            if batch:
                stalled_at = time.monotonic() + 30
            elif time.monotonic() > stalled_at:
                raise StreamscoreError(f"reading {topic}: nothing for 30 s before its end offsets {offsets}")
            errors = [m.error() for m in batch if m.error() is not None]
            if errors:
                raise StreamscoreError(f"reading {topic}: {errors[0]}")
            read += batch
        return read
    finally:
        consumer.close()


def _event_ids(spark: Any, stack: StackConfig, messages: list[Message]) -> list[str]:
    """The scored records' event ids, in order (one writer schema: the job's)."""
    values = [m.value() for m in messages]
    headers = {value[: HEADER.size] for value in values}
    if len(headers) != 1:
        raise StreamscoreError(f"scored records framed {len(headers)} ways, expected one schema: {sorted(headers)[:3]}")
    _, schema_id = HEADER.unpack(headers.pop())
    return decoded_field(spark, values, RegistryClient(stack.registry_url).schema_text(schema_id), "event_id")


def step_seconds(steps: int, seconds: float, warm_up_s: float, step_warm_up_s: float) -> list[float]:
    """How long a step load produces at each of its rates, warm-up included."""
    return [warm_up_s + seconds, *[step_warm_up_s + seconds] * (steps - 1)]


def _step_load(
    events: pa.Table, time_field: str, rates: Sequence[float], seconds: Sequence[float], start_ms: int
) -> tuple[pa.Table, list[slice]]:
    """The first events, re-timed from `start_ms` to one every 1/rate seconds for each step's
    `seconds` at each of `rates` in turn, with no pause between; and each rate's rows."""
    counts = [int(rate * s) for rate, s in zip(rates, seconds, strict=True)]
    if sum(counts) > events.num_rows:
        raise StreamscoreError(f"a step load of {sum(counts):,} events from a table of {events.num_rows:,}")
    table = events.sort_by(time_field).slice(0, sum(counts))
    times, steps, at = [], [], float(start_ms)
    for rate, count in zip(rates, counts, strict=True):
        times.append(at + np.arange(count) * 1000.0 / rate)
        begin = steps[-1].stop if steps else 0
        steps.append(slice(begin, begin + count))
        at += count * 1000.0 / rate
    column = pa.array(np.concatenate(times).astype(np.int64)).cast(table.schema.field(time_field).type)
    return table.set_column(table.schema.get_field_index(time_field), time_field, column), steps


def measure_latency(
    stack: StackConfig,
    client: WarmClient,
    spark: Any,
    spec: PipelineSpec,
    folder: Path,
    workdir: Path,
    events: pa.Table,
    *,
    profile: str,
    rates: Sequence[float],
    seconds: float,
    warm_up_s: float,
    step_warm_up_s: float,
) -> list[dict[str, Any]]:
    """Run the job on topics of its own and produce `warm_up_s` + `seconds` at the first of `rates`,
    `step_warm_up_s` + `seconds` at each later one; per rate, the percentiles of its last `seconds`.
    `events` must hold that many. The rates ascend: a rate the job cannot keep up with leaves a
    backlog that would be charged to the next."""
    from streamscore.deploy.cli import ensure_pipeline_topics

    if list(rates) != sorted(rates):
        raise StreamscoreError(f"a step load's rates ascend, not {[round(r) for r in rates]}")

    # The run's profiles topic stays empty: the job need not wait the spec's timeout (which gives a real
    # topic's first read time to finish) before that source stops holding event time back.
    own = with_streaming(with_topic_suffix(spec, uuid.uuid4().hex[:8]), profiles_idle_timeout=EMPTY_PROFILES_IDLE_MS)
    spec_file = dump_pipeline(own, folder / f"latency-{profile}.yaml")
    spec = load_pipeline(spec_file)
    topics = spec.topics
    ensure_topics(stack.bootstrap_servers, [topics.events], topics.partitions, append_time=[topics.events])
    ensure_pipeline_topics(spec)
    checkpoint_interval = spec.streaming.checkpoint_interval_of(profile)
    cores = CoreTimeline(task_manager_pid(stack))
    watch = StableOffsetWatch(stack.bootstrap_servers, topics.scored, topics.partitions)
    cores.start()
    watch.start()
    job = client.run(spec_file, workdir, group_id=f"lat-{uuid.uuid4().hex[:8]}", profile=profile)
    try:
        if job.job_id is None:
            raise StreamscoreError("the Flink client returned no job id")
        try:
            # Encoded while the job starts (9-13 s for 1.2M events, of the 20 s before the load may
            # begin): the events' times then trail the wall clock by a constant (paced_load.py).
            durations = step_seconds(len(rates), seconds, warm_up_s, step_warm_up_s)
            load, steps = _step_load(events, spec.event.time, rates, durations, int(time.time() * 1000))
            encoded = encode_load(spark, spec, load, stack.registry_url)
            running = wait_running(stack, job.job_id)
            # Python workers start, and the empty profiles topic goes idle so it stops holding event time.
            time.sleep(max(running + spec.streaming.profiles_idle_timeout / 1000 + 3 - time.time(), 0))
            sent = send_paced(encoded, topics.events, stack.bootstrap_servers)
            # The job's output pauses for at most a bundle (the Python operator's) and a checkpoint's
            # synchronous phase; by watermark the load's last `max_out_of_orderness` is never scored.
            watch.wait_quiet(spec.streaming.runtime(profile).bundle_time / 1000 + 2, timeout_s=120)
            watch.wait_committed(timeout_s=2 * checkpoint_interval / 1000 + 30)
        finally:
            cancel(stack, job.job_id)
    finally:
        watch.stop()
        cores.stop()
    row_of = {event_id: row for row, event_id in enumerate(load.column(spec.event.id).to_pylist())}
    messages = _read_all(stack.bootstrap_servers, topics.scored)
    rows = np.array([row_of[i] for i in _event_ids(spark, stack, messages)], dtype=np.int64)
    into = sent.appended_ms[rows]
    latencies = np.array([m.timestamp()[1] for m in messages], dtype=np.int64) - into
    visible = watch.visible_ms(
        np.array([m.partition() for m in messages], dtype=np.int64),
        np.array([m.offset() for m in messages], dtype=np.int64),
    )
    load_start = int(sent.appended_ms.min())
    figures = []
    for i, (step, rate) in enumerate(zip(steps, rates, strict=True)):
        appended = sent.appended_ms[step]
        first, last = int(appended.min()), int(appended.max())
        warm = warm_up_s if i == 0 else step_warm_up_s
        mine = (rows >= step.start) & (rows < step.stop)
        measured = mine & (into >= first + warm * 1000)
        if not measured.any():
            raise StreamscoreError(f"no scored records at {rate:,.0f} events/s with profile {profile!r}")
        p50, p95, p99 = np.percentile(latencies[measured], [50, 95, 99])
        committed = (visible - into)[measured & (visible >= 0)]
        c50, c95, c99 = np.percentile(committed, [50, 95, 99]) if committed.size else (np.nan,) * 3
        figures.append(
            {
                "profile": profile,
                "features_at": spec.streaming.features_at,
                "target_events_per_s": round(rate),
                "achieved_events_per_s": round((appended.size - 1) * 1000 / max(last - first, 1)),
                "after_events_per_s": round(rates[i - 1]) if i else None,
                "events": int(appended.size),
                "warm_up_s": warm,
                "scored": int(measured.sum()),
                "p50": round(float(p50), 1),
                "p95": round(float(p95), 1),
                "p99": round(float(p99), 1),
                "checkpoint_interval_ms": checkpoint_interval,
                "committed": int(committed.size),
                "committed_p50": round(float(c50), 1),
                "committed_p95": round(float(c95), 1),
                "committed_p99": round(float(c99), 1),
                "max_out_of_orderness_ms": spec.event.max_out_of_orderness,
                "producer_lag_p99_ms": round(float(np.percentile(sent.lateness_ms[step], 99)), 1),
                "cores": asdict(cores.shares(first / 1000 + warm, last / 1000)),
                "starts_at_s": round((first - load_start) / 1000, 1),
                "per_second": _per_second(into[mine] - first, latencies[mine]),
            }
        )
    return figures


def _per_second(since_first_ms: np.ndarray, latencies: np.ndarray) -> list[dict[str, float]]:
    """Latency percentiles per second of append time over the whole load, warm-up included: when the
    job caught up after its start, and which seconds a checkpoint (or anything else) held back."""
    seconds = since_first_ms // 1000
    order = np.argsort(seconds, kind="stable")
    bounds = np.flatnonzero(np.diff(seconds[order])) + 1
    rows = []
    for chunk in np.split(order, bounds):
        p50, p99 = np.percentile(latencies[chunk], [50, 99])
        rows.append(
            {
                "s": int(seconds[chunk[0]]),
                "events": int(chunk.size),
                "p50": round(float(p50), 1),
                "p99": round(float(p99), 1),
                "max": float(latencies[chunk].max()),
            }
        )
    return rows
