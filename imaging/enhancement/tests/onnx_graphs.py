"""The tests' tiny ONNX graph is the demo model's builder (imaging.enhancement.demo_model), kept importable from here."""
from imaging.enhancement.demo_model import mean_filter_onnx, sha256

__all__ = ["mean_filter_onnx", "sha256"]
