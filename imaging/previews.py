"""Preview images of a series: a coronal maximum-intensity projection and a few axial slices, as PNG.

PET is shown in SUVbw with a fixed window (the same grey means the same SUV in every study, so two
previews can be compared by eye), inverted like a film (white background, uptake dark). SPECT is shown
in counts (not quantitative) windowed to its own 99.5th percentile, CT in a soft-tissue window.
Pixels are resampled so that a millimetre is as long across as down (slices are often thicker than
the in-plane pixels).
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

from imaging import modalities
from imaging.volume import Volume

PET_SUV_WINDOW = (0.0, 6.0)
CT_HU_WINDOW = (-160.0, 240.0)  # level 40, width 400
AXIAL_SLICES = 5
MAX_SIDE = 512  # previews are thumbnails for review pages, not diagnostic images


@dataclass(frozen=True)
class Rendered:
    kind: str  # "coronal_mip" | "axial"
    index: int
    png: bytes
    width: int
    height: int
    slice_position_mm: float | None


@dataclass(frozen=True)
class Display:
    units: str
    window: tuple[float, float]
    inverted: bool


def display_for(modality: str, values: np.ndarray, *, quantified: bool) -> Display:
    """How a series is shown: its units from the modality table (imaging/modalities.py), SUV once quantified."""
    row = modalities.of(modality)
    if row.preview_units == "HU":
        return Display("HU", CT_HU_WINDOW, inverted=False)
    if row.quantified and quantified:
        return Display("SUV", PET_SUV_WINDOW, inverted=True)
    # Counts (SPECT) or an unquantifiable PET: the series' own scale, robust to a few hot voxels.
    high = float(np.percentile(values[values > 0], 99.5)) if np.any(values > 0) else 1.0
    return Display(row.preview_units, (0.0, round(high, 3) or 1.0), inverted=True)


def _grey(image: np.ndarray, display: Display) -> np.ndarray:
    low, high = display.window
    scaled = (image - np.float32(low)) * np.float32(255.0 / max(high - low, 1e-6))
    grey = np.clip(scaled, 0, 255).astype(np.uint8)
    return 255 - grey if display.inverted else grey


def _png(grey: np.ndarray, height_mm: float, width_mm: float) -> tuple[bytes, int, int]:
    rows, cols = grey.shape
    # Square millimetres, at most MAX_SIDE pixels on the longer side, at least the original pixel count.
    scale = max(rows / height_mm, cols / width_mm)
    width, height = max(1, round(width_mm * scale)), max(1, round(height_mm * scale))
    shrink = min(1.0, MAX_SIDE / max(width, height))
    width, height = max(1, round(width * shrink)), max(1, round(height * shrink))
    image = Image.fromarray(grey)
    if (width, height) != (cols, rows):
        image = image.resize((width, height), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False, compress_level=6)
    return buffer.getvalue(), width, height


def render(volume: Volume, values: np.ndarray, display: Display, *, axial: int = AXIAL_SLICES, scale: float = 1.0) -> list[Rendered]:
    """The coronal MIP and `axial` evenly spaced axial slices of `values` times `scale` (the volume in display units).

    The scale (SUVbw per Bq/ml, positive) is applied to the images drawn, not to the whole volume: the maximum of
    scaled values is the scaled maximum, and a 300-slice volume is not copied to draw six images.
    """
    n, rows, cols = values.shape
    row_mm, col_mm = volume.pixel_spacing
    out: list[Rendered] = []
    if n > 1:
        # Max over the rows (anterior -> posterior); slices ascend inferior -> superior, so flip: head on top.
        mip = values.max(axis=1)[::-1]
        if scale != 1.0:
            mip = mip * np.float32(scale)
        png, w, h = _png(_grey(mip, display), n * volume.slice_spacing, cols * col_mm)
        out.append(Rendered("coronal_mip", 0, png, w, h, None))
    picks = sorted({round((n - 1) * (q + 1) / (axial + 1)) for q in range(axial)}) if n > 1 else [0]
    for index, k in enumerate(reversed(picks)):  # superior first, like a reading order
        image = values[k] * np.float32(scale) if scale != 1.0 else values[k]
        png, w, h = _png(_grey(image, display), rows * row_mm, cols * col_mm)
        out.append(Rendered("axial", index, png, w, h, round(volume.positions_mm[k], 2)))
    return out


# Rendering for DICOMweb (WADO-RS /rendered and /thumbnail, PS3.18 8.3.5.1): a window (VOI LUT) on the rescaled
# values, then an 8-bit image scaled to fit a viewport. The functions are those of PS3.3 C.11.2.1.2.
WINDOW_FUNCTIONS = ("linear", "linear-exact", "sigmoid")
RENDERED_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG"}


def window_grey(values: np.ndarray, *, center: float, width: float, function: str = "linear",
                inverted: bool = False) -> np.ndarray:
    """8-bit grey of `values` through a VOI window (MONOCHROME1 images are shown inverted)."""
    x = values.astype(np.float32, copy=False)
    if function == "sigmoid":
        grey = 255.0 / (1.0 + np.exp(np.clip(-4.0 * (x - center) / max(width, 1e-6), -60, 60)))
    elif function == "linear-exact":
        grey = (x - (center - width / 2)) / max(width, 1e-6) * 255.0
    else:  # linear: centre and width are offset by half a step so that integer windows land on pixel values
        grey = ((x - (center - 0.5)) / max(width - 1, 1e-6) + 0.5) * 255.0
    out = np.clip(grey, 0, 255).astype(np.uint8)
    return 255 - out if inverted else out


def default_window(modality: str, values: np.ndarray) -> tuple[float, float]:
    """(centre, width) when neither the request nor the instance names one: the preview's window for the modality,
    in the instance's own units (activity concentration or counts for emission images, HU for CT)."""
    low, high = display_for(modality, values, quantified=False).window
    return (low + high) / 2, max(high - low, 1e-6)


def encode_image(pixels: np.ndarray, *, media_type: str, quality: int = 90, viewport: tuple[int, int] | None = None) -> bytes:
    """An 8-bit grey or RGB image as JPEG or PNG, scaled (aspect kept) to fit `viewport` (columns, rows)."""
    image = Image.fromarray(pixels)
    if viewport is not None:
        scale = min(viewport[0] / image.width, viewport[1] / image.height)
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        if size != image.size:
            image = image.resize(size, Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    if RENDERED_TYPES[media_type] == "JPEG":
        image.save(buffer, format="JPEG", quality=quality)
    else:
        image.save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()
