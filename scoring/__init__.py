"""Models as both engines use them: the MLflow registry of bundles and ONNX Runtime scoring of a verified bundle."""
