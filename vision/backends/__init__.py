"""Detector backends, one module per framework: ONNX Runtime (`onnx`) and ultralytics (`ultra`)."""
