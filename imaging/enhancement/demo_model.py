"""The demonstration model: a 3x3x3 mean filter as an ONNX graph, built where it is used (the demo seed and the tests),
never downloaded. It is a smoothing, not a clinical model: it lowers noise and blurs lesions alike.

Building it needs the `onnx` package (the dev extra); running it needs ONNX Runtime (the `enhance` extra).
"""
import hashlib

import numpy as np

DEMO_NAME = "DEMO smoothing (not a clinical model)"
DEMO_VERSION = "3x3x3-mean-1"
DEMO_DESCRIPTION = ("A demonstration only, not a clinical model: a 3x3x3 mean filter (zero padding) built at seed time, so "
                    "the low-dose evaluation, reading session and report have an enhanced series to show.")


def mean_filter_onnx(*, name: str = "mean3") -> bytes:
    """A Conv of a 1x1x3x3x3 kernel of 1/27, pads 1 on every side: scipy.ndimage.uniform_filter(size=3, mode="constant")."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.full((1, 1, 3, 3, 3), 1.0 / 27.0, dtype=np.float32), name="w")
    node = helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3, 3], pads=[1, 1, 1, 1, 1, 1], name=name)
    shape = [1, 1, "slices", "rows", "columns"]
    graph = helper.make_graph([node], name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)], initializer=[weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="nbnm-demo")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
