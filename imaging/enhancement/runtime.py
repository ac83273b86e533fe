"""ONNX Runtime, imported only when a model is checked or run (the API and URL configuration load without it).

A model takes one float32 input shaped (1, 1, slices, rows, columns) and returns one output of the same shape. The
normalisation is applied before and undone after, so the output is in the input's units:
- body_mean: divided by the mean inside the body mask (voxels above `mask_fraction` of the maximum), multiplied back;
- suv_bw: multiplied by the series' SUV(bw) factor (Bq/ml -> g/ml), divided back;
- none: values as stored.
The CPU provider runs by default; the CUDA provider is put first when onnxruntime-gpu reports it available.
"""
from __future__ import annotations

from typing import Any

import numpy as np

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"


class ModelRefused(Exception):
    """The model cannot run on this input (its reason is for people to read)."""


def _ort() -> Any:
    try:
        import onnxruntime
    except ImportError:  # the "enhance" extra is not installed: the model refuses, the series' analysis stands
        raise ModelRefused("ONNX Runtime is not installed (pip install '.[enhance]').") from None
    return onnxruntime


def providers() -> list[str]:
    ort = _ort()

    return [CUDA, CPU] if CUDA in ort.get_available_providers() else [CPU]


def _session(data: bytes) -> Any:
    ort = _ort()

    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(data, sess_options=options, providers=providers())


def check_loadable(data: bytes) -> str:
    """"" when ONNX Runtime loads the model and it has one input and one output of rank 5; else what is wrong."""
    try:
        session = _session(data)
    except Exception as exc:  # any parse/load failure is a refusal of the upload, in words
        return f"{type(exc).__name__}: {str(exc)[:300]}"
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1 or len(outputs) != 1:
        return f"{len(inputs)} inputs and {len(outputs)} outputs (one of each expected)"
    if len(inputs[0].shape) != 5:
        return f"the input has rank {len(inputs[0].shape)} (5 expected: 1 x 1 x slices x rows x columns)"
    return ""


def normalise(volume: np.ndarray, *, normalisation: str, mask_fraction: float, suv_factor: float | None) -> float:
    """The factor the volume is multiplied by before the model (and divided by after)."""
    if normalisation == "body_mean":
        peak = float(volume.max())
        mask = volume > mask_fraction * peak
        mean = float(volume[mask].mean()) if peak > 0 and mask.any() else 0.0
        if mean <= 0:
            raise ModelRefused("The body mask is empty: nothing to normalise by.")
        return 1.0 / mean
    if normalisation == "suv_bw":
        if not suv_factor:
            raise ModelRefused("The series has no SUV(bw) factor (see its SUV step).")
        return float(suv_factor)
    return 1.0


def run(data: bytes, volume: np.ndarray, *, normalisation: str, mask_fraction: float,
        suv_factor: float | None) -> tuple[np.ndarray, str]:
    """The model's output for `volume` (slices, rows, columns), in the volume's units, and the provider used."""
    factor = normalise(volume, normalisation=normalisation, mask_fraction=mask_fraction, suv_factor=suv_factor)
    session = _session(data)
    x = (volume.astype(np.float32) * np.float32(factor))[np.newaxis, np.newaxis]
    (y,) = session.run(None, {session.get_inputs()[0].name: x})
    y = np.asarray(y, dtype=np.float32)
    if y.shape != x.shape:
        raise ModelRefused(f"The model returned shape {y.shape} for an input of {x.shape}.")
    return y[0, 0] / np.float32(factor), session.get_providers()[0]
