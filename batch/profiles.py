"""Job: compute entity profiles as of a period boundary and publish them for the stream to look up.

    spark-submit --jars "$(ls .stack/jars/spark/*.jar | paste -sd,)" batch/profiles.py \
        --pipeline examples/payments/pipeline.yaml --history data/payments/history --publish

Writes Parquet (one folder per as-of time) and, with `--publish`, Avro in the Confluent wire
format to the spec's compacted profiles topic keyed by entity, encoded by Spark in the JVM.
The latest value per key is the profile the stream joins; compaction keeps exactly that.
"""

import argparse
import struct
from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from streamscore.batch.features import profiles_as_of, with_time_columns
from streamscore.batch.job_args import job_parser
from streamscore.batch.training_set import history_files
from streamscore.shared.avro import profile_schema
from streamscore.shared.errors import StreamscoreError
from streamscore.shared.features.sql import profile_features
from streamscore.shared.spec import PipelineSpec, load_pipeline


@dataclass(frozen=True)
class ProfileRun:
    path: Path
    entities: int
    as_of_ms: int
    published_to: str | None


def default_as_of(spec: PipelineSpec, last_event_ms: int) -> int:
    """The period boundary after the newest event: profiles then cover every event in the history."""
    return (last_event_ms // spec.profiles.refresh + 1) * spec.profiles.refresh


def publish(frame: DataFrame, spec: PipelineSpec, bootstrap: str, registry_url: str) -> str:
    """Write `frame` to the profiles topic: key = entity id (UTF-8), value = Confluent-framed Avro."""
    import json

    from pyspark.sql.avro.functions import to_avro

    from streamscore.deploy.kafka_io import RegistryClient, ensure_topics
    from streamscore.deploy.kafka_security import KafkaSecurity

    names = [f.name for f in profile_features(spec)]
    schema = profile_schema(spec.name, spec.event.key, names)
    schema_id = RegistryClient(registry_url).register(f"{spec.topics.profiles}-value", schema)
    ensure_topics(bootstrap, [spec.topics.profiles], spec.topics.partitions, compacted=[spec.topics.profiles])
    header = F.lit(bytearray(struct.pack(">bI", 0, schema_id)))
    record = F.struct(F.col(spec.event.key).cast("string").alias(spec.event.key), "as_of_ms", *names)
    secured = {f"kafka.{k}": v for k, v in KafkaSecurity.from_env().java_properties().items()}
    (
        frame.select(
            F.col(spec.event.key).cast("string").alias("key"),
            F.concat(header, to_avro(record, json.dumps(schema))).alias("value"),
        )
        .write.format("kafka")
        .option("kafka.bootstrap.servers", bootstrap)
        .option("topic", spec.topics.profiles)
        .option("kafka.enable.idempotence", "true")
        .option("kafka.acks", "all")
        .options(**secured)
        .save()
    )
    return spec.topics.profiles


def build_profiles(
    spark: SparkSession,
    spec: PipelineSpec,
    history: Path,
    workdir: Path,
    as_of_ms: int | None = None,
    kafka: tuple[str, str] | None = None,
) -> ProfileRun:
    """Profiles as of `as_of_ms` (default: after the newest event) to Parquet, and to Kafka if `kafka`
    = (bootstrap servers, registry URL) is given."""
    if not profile_features(spec):
        raise StreamscoreError(f"pipeline {spec.name!r} defines no profile features")
    events = spark.read.parquet(*[str(f) for f in history_files(history)])
    if as_of_ms is None:
        last = with_time_columns(events, spec).agg(F.max(spec.event.time)).first()
        if last is None or last[0] is None:
            raise StreamscoreError(f"no events in {history}")
        as_of_ms = default_as_of(spec, int(last[0]))
    frame = profiles_as_of(spark, events, spec, as_of_ms).withColumn("as_of_ms", F.lit(as_of_ms)).cache()
    path = workdir / spec.name / "profiles" / f"as_of_ms={as_of_ms}"
    frame.write.mode("overwrite").parquet(str(path))
    published = publish(frame, spec, *kafka) if kafka else None
    entities = frame.count()
    frame.unpersist()
    return ProfileRun(path, entities, as_of_ms, published)


def build_parser() -> argparse.ArgumentParser:
    parser = job_parser(__doc__)
    parser.add_argument("--as-of-ms", type=int, help="a multiple of profiles.refresh; default: after the last event")
    parser.add_argument("--publish", action="store_true", help="also write to the profiles topic")
    return parser


def main(argv: list[str] | None = None) -> None:
    from streamscore.batch.session import local_session
    from streamscore.deploy.stack import StackConfig

    args = build_parser().parse_args(argv)
    spec = load_pipeline(args.pipeline)
    stack = StackConfig.from_env()
    kafka = (stack.bootstrap_servers, stack.registry_url) if args.publish else None
    run = build_profiles(local_session("streamscore-profiles"), spec, args.history, args.workdir, args.as_of_ms, kafka)
    print(f"{run.entities:,} profiles as of {run.as_of_ms} -> {run.path}" + (f", {run.published_to}" if kafka else ""))


if __name__ == "__main__":
    main()
