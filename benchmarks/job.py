"""The streaming job on a pre-filled topic, measured the way it runs in production: on the Flink
cluster, with its Python workers, from the earliest offset to the end (`--bounded`).

Start-up (job submission, Python workers, the first checkpoint) is excluded: a sampler records,
every half second, the records the job has appended to its output topics and the CPU time of the
TaskManager's process tree (JVM and Python workers, from /proc). Throughput is taken between 10 %
and 90 % of the output, where the job runs at its steady rate.
"""

import itertools
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from kafka import KafkaConsumer, TopicPartition

from streamscore.benchmarks.cpu import TreeCpu
from streamscore.benchmarks.measurement import Measurement
from streamscore.deploy.flink_cluster import FlinkTaskManager
from streamscore.deploy.kafka_security import KafkaSecurity
from streamscore.deploy.process import StackConfig
from streamscore.shared.errors import StreamscoreError
from streamscore.shared.spec import PipelineSpec
from streamscore.streaming.submit import flink_run


@dataclass(frozen=True)
class Sample:
    seconds: float
    cpu_seconds: float
    out: int


def _appended(consumer: KafkaConsumer, topics: list[str]) -> int:
    """Records appended so far (uncommitted ones included: the job wrote them) to `topics`."""
    partitions = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
    return sum(consumer.end_offsets(partitions).values()) if partitions else 0


def _at(samples: list[Sample], out: float) -> tuple[float, float]:
    """Wall and CPU seconds when the output reached `out`, interpolated between samples."""
    for before, after in itertools.pairwise(samples):
        if before.out <= out <= after.out and after.out > before.out:
            share = (out - before.out) / (after.out - before.out)
            return (
                before.seconds + share * (after.seconds - before.seconds),
                before.cpu_seconds + share * (after.cpu_seconds - before.cpu_seconds),
            )
    raise StreamscoreError(f"the job's output never reached {out:.0f} records; samples: {samples[-3:]}")


def task_manager_pid(stack: StackConfig) -> int:
    """The local TaskManager's PID: the root of the process tree whose CPU a benchmark charges to the job."""
    pid = FlinkTaskManager(stack).pid()
    if pid is None:
        raise StreamscoreError("no Flink TaskManager is running; start it with `streamscore stack up --flink`")
    return pid


def run_job(
    stack: StackConfig,
    spec: PipelineSpec,
    spec_file: Path,
    workdir: Path,
    *,
    parallelism: int,
    profile: str,
    features_only: bool = False,
    label: str = "",
) -> Measurement:
    """`features_only`: the JVM path alone (no Python, no model), the job's own limit."""
    cpu, topics = TreeCpu(task_manager_pid(stack)), [spec.topics.scored, spec.topics.dead_letters]
    consumer = KafkaConsumer(bootstrap_servers=stack.bootstrap_servers, **KafkaSecurity.from_env().python_options())
    samples: list[Sample] = []
    done = threading.Event()
    began = time.monotonic()

    def sample() -> None:
        while not done.is_set():
            samples.append(Sample(time.monotonic() - began, cpu.sample(), _appended(consumer, topics)))
            done.wait(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        group = f"bench-{uuid.uuid4().hex[:8]}"
        flink_run(
            stack,
            spec_file,
            workdir,
            group_id=group,
            bounded=True,
            profile=profile,
            parallelism=parallelism,
            features_only=features_only,
        )
    finally:
        done.set()
        sampler.join()
    samples.append(Sample(time.monotonic() - began, cpu.sample(), _appended(consumer, topics)))
    consumer.close()
    start, total = samples[0].out, samples[-1].out - samples[0].out  # earlier runs may share the topics
    (t10, c10), (t90, c90) = _at(samples, start + 0.1 * total), _at(samples, start + 0.9 * total)
    name = f"{'jvm_path' if features_only else f'job_{profile}'}_p{parallelism}_{spec.streaming.state_backend}{label}"
    if c90 <= c10:
        # A few thousand events (the tiny profile) all appeared between two samples, in which the meter saw
        # no CPU move: the middle 80 % is not resolved, so the whole run, start-up included, is measured.
        first, last = samples[0], samples[-1]
        return Measurement(name, total, last.seconds - first.seconds, last.cpu_seconds - first.cpu_seconds)
    return Measurement(name, round(0.8 * total), t90 - t10, c90 - c10)
