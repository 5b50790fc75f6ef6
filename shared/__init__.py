"""The feature library both engines run: the pipeline spec, feature definitions compiled to
Spark SQL and Flink SQL, and synthetic events.

Pure Python on purpose (no pyspark, pyflink, Kafka or ONNX imports; a test keeps it so):
whatever is defined here means the same thing in training and in the stream.
"""
