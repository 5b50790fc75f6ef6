"""Run the shared feature definitions on Spark: the training side of the one feature library."""

import uuid

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import TimestampType

from streamscore.shared.features.sql import SPARK, TS_COLUMN, compile_features
from streamscore.shared.spec import PipelineSpec, ProfileFeature


def with_time_columns(events: DataFrame, spec: PipelineSpec) -> DataFrame:
    """The compiled SQL's input contract: event time as BIGINT epoch ms, plus `TS_COLUMN` to order by."""
    time = spec.event.time
    if isinstance(events.schema[time].dataType, TimestampType):
        events = events.withColumn(time, F.unix_millis(F.col(time)))
    return events.withColumn(TS_COLUMN, F.timestamp_millis(F.col(time)))


def compute_features(
    spark: SparkSession, events: DataFrame, spec: PipelineSpec, profiles: DataFrame | None = None
) -> DataFrame:
    """id, key, event time (ms) and the float32 feature vector for every event.

    `profiles` has the entity key and one column per profile feature; entities without a row
    (or no `profiles` at all) get each profile feature's default.
    """
    frame = with_time_columns(events, spec)
    profile_names = [f.name for f in spec.features if isinstance(f, ProfileFeature)]
    if profiles is not None:
        frame = frame.join(profiles.select(spec.event.key, *profile_names), on=spec.event.key, how="left")
    else:
        for name in profile_names:
            frame = frame.withColumn(name, F.lit(None).cast("double"))
    source = f"events_{uuid.uuid4().hex[:8]}"
    frame.createOrReplaceTempView(source)
    result = frame
    for stage in compile_features(spec, SPARK, source):
        result = spark.sql(stage.sql)
        result.createOrReplaceTempView(stage.name)
    return result
