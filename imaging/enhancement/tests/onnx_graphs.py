"""Tiny ONNX graphs built in the tests (the onnx package, dev extra): a 3x3x3 mean filter with zero padding."""
import hashlib

import numpy as np


def mean_filter_onnx(*, name: str = "mean3") -> bytes:
    """A Conv of a 1x1x3x3x3 kernel of 1/27, pads 1 on every side: scipy.ndimage.uniform_filter(size=3, mode="constant")."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.full((1, 1, 3, 3, 3), 1.0 / 27.0, dtype=np.float32), name="w")
    node = helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3, 3], pads=[1, 1, 1, 1, 1, 1], name=name)
    shape = [1, 1, "slices", "rows", "columns"]
    graph = helper.make_graph([node], name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)], initializer=[weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="nbnm-tests")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
