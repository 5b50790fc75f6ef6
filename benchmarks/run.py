"""`streamscore bench` / `python benchmarks/run.py`: the load benchmark run before each release.

One run, one topic, one model, one machine: the ONNX Runtime ceiling, the streaming job on the
Flink cluster at parallelism 1 and 2 (`throughput` profile), and the Python consumers a team
would otherwise write, with the ratios between them. Results go to `results/bench-<time>.json`,
`results/latest.json` and a Markdown summary; the newest is printed as a table.
"""

import argparse
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa
from rich.console import Console

from streamscore.batch.session import local_session
from streamscore.benchmarks import report as reports
from streamscore.benchmarks.ceiling import onnx_ceiling
from streamscore.benchmarks.consumers import consume_and_score
from streamscore.benchmarks.fill import fill_topic
from streamscore.benchmarks.job import run_job, variant_name
from streamscore.benchmarks.latency import measure_latency, step_seconds
from streamscore.benchmarks.measurement import Measurement
from streamscore.benchmarks.model_size import ceiling_by_model_size, champion_shape, size_runs, sized_models
from streamscore.benchmarks.spark_streaming import spark_structured_streaming
from streamscore.benchmarks.timeline import Timeline
from streamscore.benchmarks.variants import (
    COST_TOPIC,
    WARM_UP,
    JobRun,
    features_at_variants,
    model_size_variants,
    other_variants,
    without_drift,
)
from streamscore.deploy import stack as local_stack
from streamscore.shared.avro import record_fields
from streamscore.shared.bundle import MODEL_FILE
from streamscore.shared.spec import PipelineSpec, dump_pipeline, load_pipeline, with_topic_suffix
from streamscore.shared.synthetic import GeneratorConfig, generator_for
from streamscore.shared.synthetic.base import Generator
from streamscore.streaming.score_job import JVM_STAGES
from streamscore.streaming.warm_client import WarmClient

EVENT_TIME_SPAN_S = 1_200
"""The event time the filled topic spans, whatever its size. Long against `max_out_of_orderness`, so
the watermark (which releases event-time windows) trails the input by under 1 % and the job's output
flows at its steady rate instead of in one burst at the end; short against the drift slides, which
fire per slide of event time (20 per run, as in production where one fires per millions of events,
not, as over a day of event time, per handful)."""
EVENTS_PER_KEY = 10
"""Events per entity in a filled topic unless its profile says otherwise (at least the spec's
`synthetic.entities` are drawn): a busy card's day. Every event of a key is in its windows, so this
sets the state each event reads."""


@dataclass(frozen=True)
class BenchProfile:
    events: int
    """Events pre-filled into the topic the job reads."""
    consumer_events: int
    """Events the per-event consumer reads (it is slow)."""
    batched_consumer_events: int
    """Events the batched consumer reads: its rate is steady after a few batches (10 million took 4
    minutes of the standard profile's budget, 1 million 36 s)."""
    ceiling_rows: int
    latency_shares: tuple[float, ...]
    """Produce rates for the latency runs, as shares of the job's measured maximum: one job per runtime
    profile takes them in ascending order, as a step load (benchmarks/latency.py)."""
    latency_seconds: float
    """Measured seconds at each rate; longer than `event.max_out_of_orderness`: the last that long of
    the load waits for newer events."""
    latency_warm_up_s: float
    """Seconds of load at the first rate before the measured ones: a fresh job caught up with its start
    within 5 s at 3,000 events/s, after 4.5 s at 6,500, after 8-23 s at 16,000-18,000; a warm one
    meets a higher rate."""
    latency_step_warm_up_s: float = 3
    """Seconds of load at each later rate before the measured ones: the job is warm by then, and a step
    up only changes the rate (was `latency_warm_up_s` for every rate until session 27)."""
    latency_profiles: tuple[str, ...] = ("latency", "throughput")
    """The runtime profiles whose latency is measured (each starts a job: tens of seconds)."""
    cost_variants: bool = True
    """Also run the job without drift and with models of 50, 200 and 400 trees: how its cost grows; a
    smoke run skips them."""
    other_variants: bool = False
    """Also run the job without deduplication, on the other state backend and with the other
    `streaming.features_at` (at parallelism 1 and 2, and its latency with the `latency` profile): what
    each choice costs. Findings to revisit now and then (the `full` profile), not a release check."""
    cost_events: int | None = None
    """Events of the topic the cost variants and the JVM path run on, with a baseline run of the job
    there to compare them with (None: the main topic). Nine runs of 10 million events would take
    hours on 2 cores."""
    cost_keys: int | None = None
    """Entities the cost topic is drawn from (None: one per `EVENTS_PER_KEY` events)."""
    keys: tuple[int, ...] = ()
    """The job's rate by keys in state: a count the main or the cost topic is drawn from is that
    topic's parallelism-1 run; any other gets a topic of its own, of `cost_events` (else `events`)
    events, or as many events as keys if more."""
    main_keys: int | None = None
    """Entities the main topic is drawn from (None: one per `EVENTS_PER_KEY` events). The standard
    profile draws its 10M events from 10M keys, so its runs at parallelism 1 and 2 are also the
    10M-keys point: a topic of its own would be 10M more events, 5 of its 20 minutes."""
    warm_up_events: int = 0
    """Events of a first run, on a topic of its own, that warms the TaskManager up while the main topic
    fills (not reported; 0: none, for a smoke run)."""
    budget_minutes: float | None = None
    """The wall time the profile is meant to take on a 2-core machine; the report says whether it did
    and where the time went (`timeline`)."""


STANDARD = BenchProfile(
    10_000_000,
    200_000,
    batched_consumer_events=500_000,
    ceiling_rows=2_000_000,
    latency_shares=(0.1, 0.5, 0.8),
    latency_seconds=15,
    latency_warm_up_s=10,
    cost_events=500_000,
    cost_keys=100_000,
    keys=(100_000, 1_000_000, 10_000_000),
    main_keys=10_000_000,
    warm_up_events=300_000,
    budget_minutes=20,
)
PROFILES = {
    "tiny": BenchProfile(
        5_000,
        1_000,
        batched_consumer_events=3_000,
        ceiling_rows=20_000,
        latency_shares=(0.25, 0.5),
        latency_seconds=10,
        latency_warm_up_s=5,
        cost_events=4_000,
        other_variants=True,
        keys=(3_000, 5_000),
        main_keys=5_000,
        warm_up_events=2_000,
    ),
    "quick": BenchProfile(
        100_000,
        20_000,
        batched_consumer_events=100_000,
        ceiling_rows=500_000,
        latency_shares=(0.5,),
        latency_seconds=8,
        latency_warm_up_s=10,
        latency_profiles=("latency",),
        cost_variants=False,
        budget_minutes=3,
    ),
    "standard": STANDARD,
    "full": replace(STANDARD, other_variants=True, budget_minutes=None),
}


def run(spec: PipelineSpec, workdir: Path, profile_name: str, results: Path, console: Console) -> dict[str, Any]:
    timeline = Timeline()
    stack = local_stack.StackConfig.from_env()
    with timeline.part("stack"):
        local_stack.up(stack, flink=True)
    with WarmClient(stack) as client:  # its gateway starts while the first measures run
        return _measure(stack, client, timeline, spec, workdir, profile_name, results, console)


def _entities(spec_entities: int, events: int) -> int:
    """At least the spec's entities, and one per `EVENTS_PER_KEY` events."""
    return max(spec_entities, events // EVENTS_PER_KEY)


@dataclass(frozen=True)
class Draws:
    """How a run draws the events of its topics: the spec's generator, its settings, the main topic's keys."""

    generator: Generator
    config: GeneratorConfig
    main_keys: int

    def events(self, events: int, entities: int | None = None) -> pa.Table:
        """`events` events over `entities` keys (None: one per `EVENTS_PER_KEY`, at least the spec's)."""
        keys = _entities(self.config.entities, events) if entities is None else entities
        return self.generator(replace(self.config, events=events, entities=keys))


def _measure(
    stack: local_stack.StackConfig,
    client: WarmClient,
    timeline: Timeline,
    spec: PipelineSpec,
    workdir: Path,
    profile_name: str,
    results: Path,
    console: Console,
) -> dict[str, Any]:
    from streamscore.scoring.onnx_model import OnnxModel
    from streamscore.scoring.registry import CHAMPION, ModelRegistry

    profile = PROFILES[profile_name]
    run_id = time.strftime("%Y%m%dT%H%M%S")
    spec_file = dump_pipeline(with_topic_suffix(spec, f"bench-{run_id}"), results / "runs" / run_id / "pipeline.yaml")
    spec = load_pipeline(spec_file)
    bundle = ModelRegistry(spec.name, workdir).get(CHAMPION)
    model, manifest = OnnxModel.from_bundle(bundle.path)

    environment = reports.environment()  # the commit measured, before anything can change it
    measured: list[Measurement] = []
    latency: list[dict[str, Any]] = []

    def record(measurement: Measurement) -> None:
        measured.append(measurement)
        console.print(
            f"{measurement.variant}: {measurement.events_per_s:,.0f} events/s, "
            f"{measurement.events_per_core_second:,.0f} per core-second"
            + ("" if measurement.other_cores is None else f" (other processes {measurement.other_cores} cores)")
            + ("" if measurement.machine_speed is None else f", machine speed {measurement.machine_speed}")
        )
        reports.write_partial(run_id, profile_name, measured, latency, results)

    batch = spec.streaming.profiles["throughput"].arrow_batch_size  # what the job's UDF gets per call
    with timeline.part("ceilings"):
        record(onnx_ceiling(model, profile.ceiling_rows, batch))
    # The machine's speed: the ceiling again on fewer rows, over its own first measure here. Not over
    # the ceiling above: its rows come from memory, a small probe's from cache (1.04-1.33 in a quick run).
    probe_rows = max(profile.ceiling_rows // 10, batch)  # about a second on the standard profile's model

    def probe() -> float:
        return onnx_ceiling(model, probe_rows, batch).events_per_core_second

    with timeline.part("ceilings"):
        at_start = probe()
    after_last: float | None = None  # the probe after the last measurement, the next one's first: none ran between

    def probed(measure: Callable[[], Measurement]) -> Measurement:
        """`measure()` with the machine's speed around it (`Measurement.machine_speed`)."""
        nonlocal after_last
        before = probe() if after_last is None else after_last
        measurement = measure()
        after_last = probe()
        return replace(measurement, machine_speed=round((before + after_last) / 2 / at_start, 3))

    champion_trees, depth = champion_shape(manifest.get("params", {}))
    with timeline.part("model_sizes"):
        models = sized_models(model.n_features, depth)
    # A quarter of the rows: on all of them the three took 38 s of the standard run (400 trees: 23 s),
    # each rate steady within a second.
    with timeline.part("ceilings"):
        by_size = ceiling_by_model_size(models, model.n_features, max(profile.ceiling_rows // 4, batch), batch)
    generator, config = generator_for(
        spec,
        events=profile.events,
        seed=3,
        start_ms=int(time.time() * 1000) - 3_600_000,
        days=EVENT_TIME_SPAN_S / 86_400,
    )
    draws = Draws(generator, config, profile.main_keys or _entities(config.entities, profile.events))
    # The main topic's events are drawn while Spark's JVM starts (numpy releases the GIL; the session's
    # start mostly waits for the JVM): 25 s and 8.5 s of the standard run, one after the other before.
    # Drawn while the stack started instead, they made its start 22 s longer (run 20261129T175602).
    with ThreadPoolExecutor(max_workers=1) as drawing:
        drawn = drawing.submit(draws.events, profile.events, draws.main_keys)
        # Filling 10M events hands Spark ten 1M-row Arrow chunks; at the default 1 GB heap the next fill
        # after them ran out of memory (run of 2026-11-28, 11:44): what the chunks left was not yet collected.
        with timeline.part("spark_session"):
            spark = local_session("streamscore-bench", driver_memory="4g")
        with timeline.part("drawing"):
            main_events = drawn.result()

    def own_topic(suffix: str, events: int, entities: int | None = None) -> tuple[PipelineSpec, Path]:
        """`spec` on topics of its own, filled with `events` events drawn from `entities` keys."""
        target = with_topic_suffix(spec, suffix)
        with timeline.part("fill"):
            fill_topic(spark, target, draws.events(events, entities), stack.bootstrap_servers, stack.registry_url)
        return target, dump_pipeline(target, spec_file.with_name(f"pipeline-{suffix}.yaml"))

    backend = spec.streaming.state_backend
    job_name = variant_name("throughput", 1, backend)
    with ThreadPoolExecutor(max_workers=1) as warming:
        # The warm-up run (its topic is small) runs while the main topic fills: a fresh TaskManager
        # compiles the job's code in its first run whatever else the machine does, and the run's figure,
        # which would read the fill's load, is not reported. 58 s of the standard run, after the fill before.
        warm_up = (
            warming.submit(
                run_job,
                stack,
                client,
                *own_topic("warm-up", profile.warm_up_events),
                workdir,
                parallelism=1,
                profile="throughput",
                label=WARM_UP,
            )
            if profile.warm_up_events
            else None
        )
        with timeline.part("fill"):
            fill_topic(spark, spec, main_events, stack.bootstrap_servers, stack.registry_url)
        if warm_up is not None:
            with timeline.part("warm_up_after_fill"):
                warm_up.result()
    runs = [JobRun(spec, spec_file, workdir), JobRun(spec, spec_file, workdir, parallelism=2)]
    key_runs = {draws.main_keys: (profile.events, job_name)}  # keys in state -> (topic events, the run measuring it)
    cost_spec, cost_file, cost_run = spec, spec_file, job_name
    if profile.cost_variants and profile.cost_events is not None:
        cost_keys = profile.cost_keys or _entities(draws.config.entities, profile.cost_events)
        cost_spec, cost_file = own_topic("cost", profile.cost_events, cost_keys)
        runs.append(JobRun(cost_spec, cost_file, workdir, label=COST_TOPIC))
        cost_run = variant_name("throughput", 1, backend, label=COST_TOPIC)
        key_runs.setdefault(cost_keys, (profile.cost_events, cost_run))
    runs.append(JobRun(cost_spec, cost_file, workdir, until="features"))
    other_mode = features_at_variants(cost_spec, cost_file, workdir) if profile.other_variants else []
    runs += other_mode
    other = other_mode[0] if other_mode else None  # its spec and label (the runs differ in parallelism)
    by_size_run: dict[int, str] = {}  # trees -> the run measuring the job with a model of that size
    if profile.cost_variants:
        runs.append(without_drift(cost_spec, cost_file, workdir))
        # A sized model of the champion's shape would measure the champion's cost again (28 s of the standard run).
        sized = {trees: onnx for trees, onnx in models.items() if trees != champion_trees}
        runs += model_size_variants(cost_spec, cost_file, bundle.path, sized, depth, results / "runs" / run_id)
        by_size_run = size_runs(champion_trees, cost_run, job_name)
    if profile.other_variants:
        runs += other_variants(cost_spec, cost_file, workdir)
        runs += [JobRun(cost_spec, cost_file, workdir, until=stage) for stage in JVM_STAGES[:-1]]
    key_topics = {}  # keys -> (topic events, variant)
    for keys in profile.keys:
        if keys not in key_runs:
            events = max(profile.cost_events or profile.events, keys)
            label = f"_{keys}_keys"
            runs.append(JobRun(*own_topic(f"keys-{keys}", events, keys), workdir, label=label))
            key_runs[keys] = (events, variant_name("throughput", 1, backend, label=label))
        key_topics[keys] = key_runs[keys]
    for job in runs:
        measure = partial(
            run_job,
            stack,
            client,
            job.spec,
            job.spec_file,
            job.workdir,
            parallelism=job.parallelism,
            profile="throughput",
            until=job.until,
            label=job.label,
        )
        job_started = time.monotonic()  # the part is named by the measurement's variant, known after it
        measurement = probed(measure)
        timeline.add(measurement.variant, time.monotonic() - job_started)
        record(measurement)
    numeric = [n for n, f in record_fields(spec.event_schema()).items() if f.kind in ("int", "long", "float", "double")]
    model_bytes = (bundle.path / MODEL_FILE).read_bytes()
    batch_rows = max(profile.events // 10, 1)  # Spark's micro-batches: the first and three measured
    spark_args = (spark, spec, stack.bootstrap_servers, (model_bytes, model.n_features), numeric, batch_rows, 4)
    with timeline.part("spark_structured_streaming"):
        record(probed(partial(spark_structured_streaming, *spark_args)))
    topic = (stack.bootstrap_servers, stack.registry_url, spec.topics.events)
    for limit, per_call in ((profile.consumer_events, 1), (profile.batched_consumer_events, 10_000)):
        with timeline.part("consumers"):
            record(probed(partial(consume_and_score, *topic, model, numeric, limit, per_call)))

    by_name = {m.variant: m for m in measured + by_size}
    job = by_name[job_name]
    latency_runs = [(spec, name, job.events_per_s) for name in profile.latency_profiles]
    if other is not None:  # the other features_at, at shares of its maximum on its topic
        maximum = by_name[f"{job_name}{other.label}"].events_per_s
        latency_runs.append((other.spec, "latency", maximum))
    fastest = max(maximum for _, _, maximum in latency_runs)
    shares = sorted(profile.latency_shares)
    durations = step_seconds(
        len(shares), profile.latency_seconds, profile.latency_warm_up_s, profile.latency_step_warm_up_s
    )
    load_s = sum(share * seconds for share, seconds in zip(shares, durations, strict=True))
    with timeline.part("latency_load"):
        needed = int(fastest * load_s) + len(profile.latency_shares)
        # The main topic's first events when it has enough (the standard run's 10M: 1.4M drawn anew took
        # 9 s). The generator's tables are in time order, so these are the ones the step load would pick,
        # and each latency job sorts them instead of all 10M.
        paced_events = (
            main_events.slice(0, needed) if main_events.num_rows >= needed else draws.events(needed, draws.main_keys)
        )
    for target, name, maximum in latency_runs:
        with timeline.part(f"latency_{name}_{target.streaming.features_at}"):
            steps = measure_latency(
                stack,
                client,
                spark,
                target,
                results / "runs" / run_id,
                workdir,
                paced_events,
                profile=name,
                rates=[share * maximum for share in shares],
                seconds=profile.latency_seconds,
                warm_up_s=profile.latency_warm_up_s,
                step_warm_up_s=profile.latency_step_warm_up_s,
            )
        for figures in steps:
            latency.append(figures)
            console.print(
                f"latency {figures['profile']} (features at {figures['features_at']}) at "
                f"{figures['achieved_events_per_s']:,} events/s: p50 {figures['p50']}, p99 {figures['p99']} ms; "
                f"read_committed p50 {figures['committed_p50']}, p99 {figures['committed_p99']} ms; "
                f"cores job {figures['cores']['job']}, bench {figures['cores']['bench']}, "
                f"other {figures['cores']['other']}"
            )
        reports.write_partial(run_id, profile_name, measured, latency, results)
    report = {
        "profile": profile_name,
        "run": run_id,
        "complete": True,
        "model": {"version": manifest["model_version"], "params": manifest.get("params", {})},
        "environment": environment,
        "variants": {m.variant: m.as_dict() for m in measured},
        "ratios": reports.ratios(by_name, backend, other.label if other else None, by_size_run),
        "latency_ms": latency,
        "model_size": [m.as_dict() for m in by_size],
        **reports.cost_curves(by_name, backend, key_topics, by_size_run),
        "capacity": reports.capacity(job, by_name[variant_name("throughput", 2, backend)]),
        "timeline": timeline.as_dict(profile.budget_minutes),
    }
    reports.write_report(report, results)
    reports.print_table(report, console)
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pipeline", type=Path, default=Path("examples/payments/pipeline.yaml"))
    parser.add_argument(
        "--workdir", type=Path, default=Path("data"), help="holds the registry whose champion is measured"
    )
    parser.add_argument("--profile", choices=sorted(PROFILES), default="quick")
    parser.add_argument("--results", type=Path, default=Path("results"))
    args = parser.parse_args(argv)
    run(load_pipeline(args.pipeline), args.workdir, args.profile, args.results, Console())


if __name__ == "__main__":
    main()
