"""The streaming job on a pre-filled topic, measured the way it runs in production: on the Flink
cluster, with its Python workers, from the earliest offset to the end (`--bounded`).

Start-up (job submission, Python workers, the first checkpoint) is excluded: a sampler records,
every half second, the records the job has appended to its output topics and the CPU time of the
TaskManager's process tree (JVM and Python workers, from /proc). Throughput is taken between 10 %
and 90 % of the output, where the job runs at its steady rate. Beside it, the cores the rest of the
machine used meanwhile (broker, this process, neighbours): the first thing to look at when one run
is slower per core than the others.
"""

import itertools
import threading
import time
import uuid
from dataclasses import astuple, dataclass
from pathlib import Path

from kafka import KafkaConsumer, TopicPartition

from streamscore.benchmarks.cpu import TreeCpu, machine_busy_seconds
from streamscore.benchmarks.measurement import Measurement
from streamscore.deploy.flink_cluster import FlinkTaskManager
from streamscore.deploy.kafka_security import KafkaSecurity
from streamscore.deploy.process import StackConfig
from streamscore.shared.errors import StreamscoreError
from streamscore.shared.spec import PipelineSpec
from streamscore.streaming.warm_client import WarmClient


@dataclass(frozen=True)
class Sample:
    seconds: float
    cpu_seconds: float
    busy_seconds: float
    """The whole machine's busy CPU seconds."""
    out: float


def _appended(consumer: KafkaConsumer, topics: list[str]) -> int:
    """Records appended so far (uncommitted ones included: the job wrote them) to `topics`."""
    partitions = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
    return sum(consumer.end_offsets(partitions).values()) if partitions else 0


def _at(samples: list[Sample], out: float) -> Sample:
    """The sample when the output reached `out`, interpolated between samples."""
    for before, after in itertools.pairwise(samples):
        if before.out <= out <= after.out and after.out > before.out:
            share = (out - before.out) / (after.out - before.out)
            return Sample(*(b + share * (a - b) for b, a in zip(astuple(before), astuple(after), strict=True)))
    raise StreamscoreError(f"the job's output never reached {out:.0f} records; samples: {samples[-3:]}")


def task_manager_pid(stack: StackConfig) -> int:
    """The local TaskManager's PID: the root of the process tree whose CPU a benchmark charges to the job."""
    pid = FlinkTaskManager(stack).pid()
    if pid is None:
        raise StreamscoreError("no Flink TaskManager is running; start it with `streamscore stack up --flink`")
    return pid


def variant_name(profile: str, parallelism: int, backend: str, until: str | None = None, label: str = "") -> str:
    """The name a run of the job is reported under, and what the report's ratios and curves look it up by."""
    path = {None: f"job_{profile}", "features": "jvm_path"}.get(until, f"jvm_path_until_{until}")
    return f"{path}_p{parallelism}_{backend}{label}"


def run_job(
    stack: StackConfig,
    client: WarmClient,
    spec: PipelineSpec,
    spec_file: Path,
    workdir: Path,
    *,
    parallelism: int,
    profile: str,
    until: str | None = None,
    label: str = "",
) -> Measurement:
    """`until`: the JVM path alone (no Python, no model) up to that stage (score_job.JVM_STAGES): the
    job's own limit, `jvm_path` when it stops after the features, `jvm_path_until_<stage>` before."""
    cpu, topics = TreeCpu(task_manager_pid(stack)), [spec.topics.scored, spec.topics.dead_letters]
    consumer = KafkaConsumer(bootstrap_servers=stack.bootstrap_servers, **KafkaSecurity.from_env().python_options())
    samples: list[Sample] = []
    done = threading.Event()
    began = time.monotonic()

    def take() -> Sample:
        return Sample(time.monotonic() - began, cpu.sample(), machine_busy_seconds(), _appended(consumer, topics))

    def sample() -> None:
        while not done.is_set():
            samples.append(take())
            done.wait(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        group = f"bench-{uuid.uuid4().hex[:8]}"
        client.run(
            spec_file,
            workdir,
            group_id=group,
            bounded=True,
            profile=profile,
            parallelism=parallelism,
            until=until,
        )
    finally:
        done.set()
        sampler.join()
    samples.append(take())
    consumer.close()
    start, total = samples[0].out, samples[-1].out - samples[0].out  # earlier runs may share the topics
    first, last = _at(samples, start + 0.1 * total), _at(samples, start + 0.9 * total)
    name = variant_name(profile, parallelism, spec.streaming.state_backend, until, label)
    events = round(0.8 * total)
    if last.cpu_seconds <= first.cpu_seconds:
        # A few thousand events (the tiny profile) all appeared between two samples, in which the meter saw
        # no CPU move: the middle 80 % is not resolved, so the whole run, start-up included, is measured.
        first, last, events = samples[0], samples[-1], int(total)
    seconds, cpu_seconds = last.seconds - first.seconds, last.cpu_seconds - first.cpu_seconds
    other = (last.busy_seconds - first.busy_seconds - cpu_seconds) / seconds
    return Measurement(name, events, seconds, cpu_seconds, other_cores=round(max(other, 0.0), 2))
