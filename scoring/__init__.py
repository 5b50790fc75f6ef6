"""ONNX Runtime scoring shared by the batch jobs (parity gate, promotion) and the stream."""
