"""Run the shared feature definitions on Spark: the training side of the one feature library."""

import uuid

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import TimestampType

from streamscore.shared.features.sql import (
    PERIOD_COLUMN,
    SPARK,
    TS_COLUMN,
    Stage,
    compile_features,
    compile_profile_history,
    compile_profiles,
    profile_features,
)
from streamscore.shared.spec import PipelineSpec


def with_time_columns(events: DataFrame, spec: PipelineSpec) -> DataFrame:
    """The compiled SQL's input contract: event time as BIGINT epoch ms, plus `TS_COLUMN` to order by."""
    time = spec.event.time
    if isinstance(events.schema[time].dataType, TimestampType):
        events = events.withColumn(time, F.unix_millis(F.col(time)))
    return events.withColumn(TS_COLUMN, F.timestamp_millis(F.col(time)))


def run_stages(spark: SparkSession, source: DataFrame, stages: list[Stage]) -> DataFrame:
    """Register `source` under the first stage's input name and each stage's result under its name."""
    source.createOrReplaceTempView(stages[0].source)
    result = source
    for stage in stages:
        result = spark.sql(stage.sql)
        result.createOrReplaceTempView(stage.name)
    return result


def _view_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def compute_features(
    spark: SparkSession, events: DataFrame, spec: PipelineSpec, profiles: DataFrame | None = None
) -> DataFrame:
    """id, key, event time (ms) and the float32 feature vector for every event.

    `profiles` has the entity key, one column per profile feature and, for point-in-time
    training data, `PERIOD_COLUMN` (see `point_in_time_profiles`); entities without a row (or
    no `profiles` at all) get each profile feature's default.
    """
    frame = with_time_columns(events, spec)
    names = [f.name for f in profile_features(spec)]
    if profiles is not None and names:
        on = [spec.event.key]
        if PERIOD_COLUMN in profiles.columns:
            frame = frame.withColumn(PERIOD_COLUMN, F.floor(F.col(spec.event.time) / spec.profiles.refresh))
            on.append(PERIOD_COLUMN)
        frame = frame.join(profiles.select(*on, *names), on=on, how="left")
    else:
        for name in names:
            frame = frame.withColumn(name, F.lit(None).cast("double"))
    return run_stages(spark, frame, compile_features(spec, SPARK, _view_name("events")))


def point_in_time_profiles(spark: SparkSession, events: DataFrame, spec: PipelineSpec) -> DataFrame:
    """Per entity and period, the profiles as they were published at the period's start."""
    return run_stages(spark, with_time_columns(events, spec), compile_profile_history(spec, _view_name("history")))


def profiles_as_of(spark: SparkSession, events: DataFrame, spec: PipelineSpec, as_of_ms: int) -> DataFrame:
    """Per entity, the profiles as of `as_of_ms` (a period boundary): what the stream looks up."""
    return run_stages(spark, with_time_columns(events, spec), compile_profiles(spec, _view_name("history"), as_of_ms))


def training_features(spark: SparkSession, events: DataFrame, spec: PipelineSpec) -> DataFrame:
    """Features for labelled history, each event seeing only what the stream would have seen then."""
    return compute_features(spark, events, spec, point_in_time_profiles(spark, events, spec))
