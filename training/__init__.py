"""Training jobs, evaluation, ONNX export and the model registry."""
