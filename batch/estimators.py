"""The trainable models the spec can name, each fitted distributed by Spark and exportable to ONNX.

`xgboost` trains with `xgboost.spark` (one XGBoost worker per Spark task, the training set
never collected to the driver); `gbt` and `logistic_regression` are Spark ML. All three read
the same float32 feature columns, and all three export to an ONNX graph with one input
`features` [n, k] and one output `score` [n], whatever their converters produce natively.
"""

import contextlib
import io
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx
import pandas as pd
from onnx import TensorProto, helper, numpy_helper
from onnxmltools import convert_sparkml, convert_xgboost
from onnxmltools.convert.common.data_types import FloatTensorType
from pyspark.ml import Transformer
from pyspark.ml.classification import GBTClassifier, LogisticRegression
from pyspark.ml.feature import VectorAssembler
from pyspark.ml.functions import vector_to_array
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from streamscore.shared.bundle import INPUT_NAME, OUTPUT_NAME

ONNX_OPSET = 15
SCORE_COLUMN = "__score"
_VECTOR = "__features"
# The spec may use XGBoost's names for every tree model; Spark ML's GBT calls them differently.
_GBT_ALIASES = {"n_estimators": "maxIter", "max_depth": "maxDepth", "learning_rate": "stepSize"}


@dataclass
class FittedModel:
    algorithm: str
    params: dict[str, Any]
    names: list[str]
    model: Transformer
    assembler: VectorAssembler | None

    def score(self, frame: DataFrame, keep: list[str]) -> pd.DataFrame:
        """`keep` columns, the features and the native model's positive-class probability (`SCORE_COLUMN`)."""
        source = self.assembler.transform(frame) if self.assembler else frame
        scored = self.model.transform(source)
        columns = [*keep, *self.names, vector_to_array("probability").getItem(1).alias(SCORE_COLUMN)]
        return scored.select(*columns).toPandas()

    def to_onnx(self, spark: SparkSession) -> onnx.ModelProto:
        if self.algorithm == "xgboost":
            return booster_to_onnx(self.model.get_booster(), len(self.names))  # type: ignore[attr-defined]
        inputs = [(INPUT_NAME, FloatTensorType([None, len(self.names)]))]
        with contextlib.redirect_stdout(io.StringIO()):  # the Spark ML converter prints its attributes
            converted = convert_sparkml(
                self.model, self.algorithm, inputs, spark_session=spark, target_opset=ONNX_OPSET
            )
        return with_score_output(converted, "probability")


def booster_to_onnx(booster: Any, n_features: int) -> onnx.ModelProto:
    """An XGBoost booster as a bundle's graph: input `features` float32 [n, k], output `score` [n]."""
    booster = booster.copy()
    booster.feature_names = None  # the converter requires f0..fn names
    booster.feature_types = None
    inputs = [(INPUT_NAME, FloatTensorType([None, n_features]))]
    return with_score_output(convert_xgboost(booster, initial_types=inputs, target_opset=ONNX_OPSET), "probabilities")


def with_score_output(model: onnx.ModelProto, probabilities: str) -> onnx.ModelProto:
    """Replace the graph's outputs by `score` = probabilities[:, 1], the one output every bundle has."""
    graph = model.graph
    if not any(o.domain in ("", "ai.onnx") for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("", ONNX_OPSET))
    graph.initializer.append(numpy_helper.from_array(np.array(1, dtype=np.int64), "__positive_class"))
    graph.node.append(helper.make_node("Gather", [probabilities, "__positive_class"], [OUTPUT_NAME], axis=1))
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, [None]))
    onnx.checker.check_model(model)
    return model


def fit(
    algorithm: str, params: dict[str, Any], seed: int, train: DataFrame, names: list[str], label: str, workers: int
) -> FittedModel:
    """Fit one model on `train`; `workers` is the number of parallel XGBoost workers (Spark tasks)."""
    if algorithm == "xgboost":
        from xgboost.spark import SparkXGBClassifier

        logging.getLogger("XGBoost-PySpark").setLevel(logging.WARNING)  # it logs every parameter at INFO

        estimator = SparkXGBClassifier(
            features_col=names, label_col=label, num_workers=workers, random_state=seed, verbose=False, **params
        )
        return FittedModel(algorithm, params, names, estimator.fit(train), None)
    assembler = VectorAssembler(inputCols=names, outputCol=_VECTOR)
    frame = assembler.transform(train).withColumn(label, F.col(label).cast("double"))
    spark_params = {_GBT_ALIASES.get(k, k): v for k, v in params.items()} if algorithm == "gbt" else dict(params)
    if algorithm == "gbt":
        classifier: Any = GBTClassifier(featuresCol=_VECTOR, labelCol=label, seed=seed, **spark_params)
    elif algorithm == "logistic_regression":
        classifier = LogisticRegression(featuresCol=_VECTOR, labelCol=label, **spark_params)
    else:
        raise ValueError(f"unknown algorithm {algorithm!r}")
    return FittedModel(algorithm, params, names, classifier.fit(frame), assembler)
