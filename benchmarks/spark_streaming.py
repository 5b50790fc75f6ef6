"""The Spark Structured Streaming alternative: the same topic through spark-sql-kafka, the Confluent
header stripped and Avro decoded by spark-avro in the JVM, scored by the same ONNX model in a
vectorized (pandas) UDF, in micro-batches from the earliest offset. Its rate is steady from the
second batch on, so the bench stops it after a few (reading all 10M events of the standard profile
took a minute of its budget).

Structured Streaming has no event-time OVER windows, so, like the Python consumers, it scores the
event's own numeric fields padded to the model's width: less work than the job does.
"""

import json
import os
import time
import uuid
from typing import Any

import numpy as np
import pandas as pd

from streamscore.benchmarks.cpu import TreeCpu
from streamscore.benchmarks.measurement import Measurement
from streamscore.deploy.kafka_security import KafkaSecurity
from streamscore.scoring.onnx_model import OnnxModel
from streamscore.shared.errors import StreamscoreError
from streamscore.shared.spec import PipelineSpec


def spark_structured_streaming(
    spark: Any,
    spec: PipelineSpec,
    bootstrap: str,
    model: tuple[bytes, int],
    numeric: list[str],
    batch_rows: int,
    batches: int,
) -> Measurement:
    """Consume the events topic in micro-batches of `batch_rows` (maxOffsetsPerTrigger), `batches` of
    them or to its end; measured from the end of the first."""
    from pyspark.sql import functions as F
    from pyspark.sql.avro.functions import from_avro
    from pyspark.sql.functions import pandas_udf

    model_bytes, n_features = model
    models: dict[str, OnnxModel] = {}

    @pandas_udf("float")  # type: ignore[call-overload]
    def score(vectors: pd.Series) -> pd.Series:
        model = models.get("m") or models.setdefault("m", OnnxModel(model_bytes, n_features))
        features = np.zeros((len(vectors), n_features), dtype=np.float32)
        width = min(len(numeric), n_features)
        features[:, :width] = np.stack(vectors.to_numpy())[:, :width]
        return pd.Series(model.score(features))

    source = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", bootstrap)
        .option("subscribe", spec.topics.events)
        .option("startingOffsets", "earliest")
        .option("maxOffsetsPerTrigger", batch_rows)
        .options(**{f"kafka.{k}": v for k, v in KafkaSecurity.from_env().java_properties().items()})
        .load()
    )
    body = F.expr("substring(value, 6, length(value) - 5)")  # the Confluent wire format's 5-byte header
    event = from_avro(body, json.dumps(spec.event_schema()), {"mode": "PERMISSIVE"}).alias("e")
    vector = F.array(*[F.coalesce(F.col(f"e.{n}").cast("double"), F.lit(0.0)) for n in numeric])
    scored = source.select(event).select(score(vector).alias("score"))
    cpu = TreeCpu(os.getpid())  # this driver, its Spark JVM and that JVM's Python workers
    query = (
        scored.writeStream.format("noop")
        .trigger(availableNow=True)
        .option("checkpointLocation", f"/tmp/streamscore-bench-{uuid.uuid4().hex[:8]}")
        .start()
    )
    marks: list[tuple[float, float]] = []  # wall and CPU seconds seen after each finished batch
    while query.isActive:
        finished = len(query.recentProgress)
        if finished > len(marks):
            marks.extend([(time.monotonic(), cpu.sample())] * (finished - len(marks)))
        if len(marks) >= batches:
            query.stop()  # the batch under way is dropped, not measured
        time.sleep(0.2)
    query.awaitTermination()
    progress = query.recentProgress
    if len(marks) < batches:  # the topic's end came first: the batches since the last look
        marks.extend([(time.monotonic(), cpu.sample())] * (len(progress) - len(marks)))
    rows = [int(p["numInputRows"]) for p in progress[: len(marks)]]
    if len(marks) < 2 or sum(rows[1:]) == 0:
        raise StreamscoreError(f"Spark read {sum(rows)} rows in {len(rows)} batches; too few to measure")
    # The first batch carries start-up (Python workers, codegen); measure from its end to the last one.
    counted = sum(rows[1 : len(marks)])
    return Measurement("spark_structured_streaming", counted, marks[-1][0] - marks[0][0], marks[-1][1] - marks[0][1])
