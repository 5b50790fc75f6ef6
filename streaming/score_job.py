"""Job: score the event stream with the registry's champion, exactly once.

    flink run -py streaming/score_job.py --pipeline examples/payments/pipeline.yaml --workdir data

Raw Kafka records -> DECODE_CONFLUENT_AVRO (JVM) -> validation (dead letters with bytes and
reason) -> profiles and the shared feature SQL (keyed windows in RocksDB: once the watermark passes
each event, after an event-time temporal join on the compacted profiles topic; or, with
`streaming.features_at: arrival`, at once, profile versions passing through the same operator) ->
pandas UDF scoring over Arrow batches (ONNX Runtime, one thread per slot) -> scored, review and
dead-letter topics through transactional Kafka sinks, and sliding-window drift statistics -> drift
and alert topics (streaming/drift.py).
"""

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from pyflink.table import EnvironmentSettings, StatementSet, TableEnvironment, TableResult
from pyflink.table.expressions import col

from streamscore.scoring.registry import default_tracking_uri
from streamscore.shared.features.sql import (
    OCCURRENCE_COLUMN,
    TS_COLUMN,
    deduplicated_in_windows,
    profile_features,
    quote,
)
from streamscore.shared.features.vector import FeatureVector
from streamscore.shared.spec import PipelineSpec, load_pipeline, without_deduplication
from streamscore.streaming.drift import add_drift, watched
from streamscore.streaming.features import compute_features, dialect_for, with_profiles
from streamscore.streaming.java_functions import register_java_functions
from streamscore.streaming.kafka_tables import (
    DEAD_LETTER_COLUMNS,
    SCORED_COLUMNS,
    KafkaSettings,
    event_source,
    kafka_sink,
    profile_table,
)
from streamscore.streaming.scorer import champion_scorer, pin_models
from streamscore.streaming.tables import ddl
from streamscore.streaming.validation import RECORD_COLUMNS, duplicates, validate


@dataclass(frozen=True)
class JobSettings:
    kafka: KafkaSettings
    workdir: Path
    jars: list[Path]
    profile: str | None = None
    parallelism: int | None = None
    until: str | None = None
    """Stop after this stage of the JVM path (`JVM_STAGES`; no Python, no model): what the job costs
    before scoring, stage by stage (benchmarks/)."""


JVM_STAGES = ("read", "validation", "deduplication", "features")
"""Where `JobSettings.until` can stop the job, in the order it runs them. `read`: the raw records
written back as they came (the Kafka source and transactional sink, and the event time the
watermark needs); `validation`: decoded and judged, the valid events' ids and the dead letters
written (no deduplication); `deduplication`: the same after it (where the windows' operator
deduplicates, `deduplicated_in_windows`, the same as `validation`); `features`: the feature rows, the
repeats' dead letters written."""


def configure(t_env: TableEnvironment, spec: PipelineSpec, settings: JobSettings) -> None:
    """Checkpoints, state, Python bundle sizes (the spec's runtime profile) and the JVM jars; the spec's
    `streaming.flink_options` last, over any of them."""
    streaming = spec.streaming
    runtime = streaming.runtime(settings.profile)
    config = t_env.get_config()
    for key, value in {
        "pipeline.name": f"streamscore-{spec.name}",
        "pipeline.jars": ";".join(p.resolve().as_uri() for p in settings.jars),
        "parallelism.default": str(settings.parallelism or streaming.parallelism),
        "table.local-time-zone": "UTC",
        "execution.checkpointing.interval": f"{streaming.checkpoint_interval_of(settings.profile)} ms",
        "execution.checkpointing.mode": "EXACTLY_ONCE",
        "state.backend.type": streaming.state_backend,
        "state.backend.rocksdb.timer-service.factory": streaming.timers.upper(),
        # Most gets miss (a new event id, an entity without a profile): bloom filters answer them without
        # reading SST blocks. Incremental checkpoints upload new SST files instead of the whole state.
        # Together 1.14x the job's events per core-second (bench, 500k events).
        "state.backend.rocksdb.use-bloom-filter": "true",
        "execution.checkpointing.incremental": "true",
        # The state is small values read and rewritten per event: Snappy-compressing every flushed and
        # compacted block (and decompressing every block read) cost more CPU than the disk it saved:
        # without it 1.20x the job's events per core-second on 3M events over 300k keys, 2.5x on 10M
        # over 1M (bench, p1), where more of the state is read back from SST files.
        "state.backend.rocksdb.compression.per.level": "NO_COMPRESSION",
        "pipeline.object-reuse": "true",  # chained SQL operators do not keep the rows they are handed
        "table.exec.state.ttl": f"{streaming.state_ttl} ms",
        "python.fn-execution.arrow.batch.size": str(runtime.arrow_batch_size),
        "python.fn-execution.bundle.size": str(runtime.bundle_size),
        "python.fn-execution.bundle.time": str(runtime.bundle_time),
        "execution.buffer-timeout.interval": f"{runtime.buffer_timeout} ms",
        "state.changelog.enabled": str(runtime.state_changelog).lower(),
        "python.executable": sys.executable,  # the TaskManagers' Python workers run this environment
        **streaming.flink_options,
    }.items():
        config.set(key, value)


def build_score_job(t_env: TableEnvironment, spec: PipelineSpec, settings: JobSettings) -> StatementSet:
    """Register every table and view; returns the inserts: scored, review and dead letters, or what
    the JVM path writes up to `settings.until`."""
    kafka, topics = settings.kafka, spec.topics
    register_java_functions(t_env)
    t_env.execute_sql(event_source("events_raw", spec, kafka))
    statements = t_env.create_statement_set()
    if settings.until == "read":
        t_env.execute_sql(ddl("records_sink", ["`value` BYTES"], kafka.sink_options(topics.scored, "raw")))
        statements.add_insert_sql("INSERT INTO `records_sink` SELECT `value` FROM `events_raw`")
        return statements
    if settings.until == "validation":
        spec = without_deduplication(spec)
    in_windows = deduplicated_in_windows(spec, dialect_for(spec))
    valid, dead = validate(t_env, spec, "events_raw", kafka.registry_url, in_windows)
    t_env.execute_sql(
        kafka_sink("dead_letter_sink", topics.dead_letters, DEAD_LETTER_COLUMNS, "dead_letter.avsc", None, kafka)
    )
    dead_letters = f"INSERT INTO `dead_letter_sink` SELECT * FROM {quote(dead)}"
    if settings.until in ("validation", "deduplication"):
        statements.add_insert_sql(dead_letters)
        t_env.execute_sql(ddl("ids_sink", ["`event_id` STRING"], kafka.sink_options(topics.scored, "json")))
        statements.add_insert_sql(f"INSERT INTO `ids_sink` SELECT {quote(spec.event.id)} FROM {quote(valid)}")
        return statements

    profiles = None
    if profile_features(spec):
        profiles = "profiles"
        t_env.execute_sql(profile_table(profiles, spec, kafka))
    carried = RECORD_COLUMNS if in_windows else {}  # what `validate` kept for the repeats' dead letters
    enriched = with_profiles(t_env, spec, valid, profiles, carried)
    features = compute_features(t_env, enriched, spec, (*carried, OCCURRENCE_COLUMN) if in_windows else ())
    if in_windows:
        t_env.create_temporary_view("counted", features)
        # One insert into the dead-letter topic: each insert is a sink of its own, with the same
        # transactional id prefix as the other.
        dead_letters += " UNION ALL " + duplicates(spec, "counted")
        features = features.where(col(OCCURRENCE_COLUMN) == 1)
    t_env.create_temporary_view("features", features)
    statements.add_insert_sql(dead_letters)
    vector = FeatureVector.of(spec)
    if settings.until == "features":
        columns = ["`event_id` STRING", *[f"{quote(n)} DOUBLE" for n in vector.names]]
        t_env.execute_sql(ddl("features_sink", columns, kafka.sink_options(topics.scored, "json")))
        selected = ", ".join(f"CAST({quote(n)} AS DOUBLE)" for n in vector.names)
        statements.add_insert_sql(
            f"INSERT INTO `features_sink` SELECT {quote(spec.event.id)}, {selected} FROM `features`"
        )
        return statements

    workdir = str(settings.workdir.resolve())
    tracking_uri = default_tracking_uri(settings.workdir)
    watching = watched(spec)
    t_env.create_temporary_function(
        "SCORE",
        champion_scorer(
            pipeline=spec.name,
            workdir=workdir,
            tracking_uri=tracking_uri,
            feature_version=vector.version,
            poll_interval_ms=spec.streaming.model_poll_interval,
            review_band=tuple(spec.decision.review_band) if spec.decision.review_band else None,
            shadow=spec.streaming.shadow,
            watched=watching,
            drift_slide_ms=spec.drift.slide,
            pinned=pin_models(spec.name, settings.workdir, spec.streaming.shadow),
        ),
    )
    # Watching drift, the event time too: the scorer sums the watched values per window slice.
    arguments = ", ".join(quote(n) for n in [*vector.names, *([spec.event.time] if watching else [])])
    # Only what the scored records and the drift windows read: with `*`, the planner kept every
    # feature column of this view, which two branches share, and computed them all a second time
    # after the scoring call, for nothing.
    kept = ", ".join(quote(c) for c in dict.fromkeys([spec.event.id, spec.event.key, spec.event.time, TS_COLUMN]))
    t_env.create_temporary_view(
        "scored_rows", t_env.sql_query(f"SELECT {kept}, SCORE({arguments}) AS s FROM `features`")
    )
    t_env.create_temporary_view(
        "scored",
        t_env.sql_query(
            f"SELECT {quote(spec.event.id)} AS `event_id`, CAST({quote(spec.event.key)} AS STRING) AS `entity_key`, "
            f"CAST(TO_TIMESTAMP_LTZ({quote(spec.event.time)}, 3) AS TIMESTAMP(3)) AS `event_time`, "
            "s.`score`, s.`decision`, s.`model_version`, "
            f"'{vector.version}' AS `feature_vector_version`, s.`feature_hash`, s.`challenger_score`, "
            f"s.`challenger_version`, s.`review` FROM `scored_rows`"
        ),
    )
    t_env.execute_sql(
        kafka_sink("scored_sink", topics.scored, SCORED_COLUMNS, "scored_event.avsc", "entity_key", kafka)
    )
    t_env.execute_sql(
        kafka_sink("review_sink", topics.review, SCORED_COLUMNS, "scored_event.avsc", "entity_key", kafka)
    )
    scored_columns = ", ".join(c.split()[0] for c in SCORED_COLUMNS)
    statements.add_insert_sql(f"INSERT INTO `scored_sink` SELECT {scored_columns} FROM `scored`")
    statements.add_insert_sql(f"INSERT INTO `review_sink` SELECT {scored_columns} FROM `scored` WHERE `review`")
    if spec.drift.enabled:
        registry = {"pipeline": spec.name, "workdir": workdir, "tracking_uri": tracking_uri}
        add_drift(t_env, statements, spec, "scored_rows", kafka, registry)
    return statements


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pipeline", required=True, type=Path, help="pipeline spec (YAML)")
    parser.add_argument("--workdir", type=Path, default=Path("data"), help="where the local model registry lives")
    parser.add_argument("--bootstrap", help="Kafka bootstrap servers (default: the local stack)")
    parser.add_argument("--registry-url", help="schema registry (Confluent API; default: the local stack)")
    parser.add_argument("--group-id", help="consumer group and transactional id prefix (default: streamscore-<name>)")
    parser.add_argument("--bounded", action="store_true", help="stop at the offsets that were latest at start")
    parser.add_argument("--profile", help="runtime profile from the spec (throughput, latency)")
    parser.add_argument("--parallelism", type=int, help="override streaming.parallelism")
    parser.add_argument(
        "--until", choices=JVM_STAGES, help="stop after this stage of the JVM path, writing to the scored topic (bench)"
    )
    return parser


def settings_from(args: argparse.Namespace, spec: PipelineSpec) -> JobSettings:
    from streamscore.deploy.kafka_security import KafkaSecurity
    from streamscore.deploy.stack import StackConfig

    stack = StackConfig.from_env()
    kafka = KafkaSettings(
        bootstrap=args.bootstrap or stack.bootstrap_servers,
        registry_url=args.registry_url or stack.registry_url,
        group_id=args.group_id or f"streamscore-{spec.name}",
        bounded=args.bounded,
        security=KafkaSecurity.from_env(),
    )
    jars = stack.flink_jars()
    return JobSettings(kafka, args.workdir, jars, args.profile, args.parallelism, args.until)


def start(args: argparse.Namespace, environment: EnvironmentSettings) -> TableResult:
    """Plan the job and submit it to the cluster `environment` names (under `flink run`, the client's);
    streaming/warm_client.py calls this too."""
    spec = load_pipeline(args.pipeline)
    t_env = TableEnvironment.create(environment)
    settings = settings_from(args, spec)
    configure(t_env, spec, settings)
    return build_score_job(t_env, spec, settings).execute()


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    result = start(args, EnvironmentSettings.in_streaming_mode())
    client = result.get_job_client()
    print(f"submitted job {client.get_job_id() if client else '?'}", flush=True)
    if args.bounded:
        result.wait()


if __name__ == "__main__":
    main()
