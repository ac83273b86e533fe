"""The pixel data of a series as one float32 volume, read once and shared by the analysis steps.

The SUV, preview and VOI code all need the same thing: every published instance's pixels with its
own RescaleSlope/Intercept applied (the slope differs per slice on GE and Siemens PET), stacked in
patient order, plus the geometry that maps a voxel to patient millimetres. Reading 300 DICOM files is
the expensive part, so a PET volume is cached in storage as a .npy (plus its geometry as JSON) under a
key derived from the SHA-256 of the instances it was built from: a series that gains instances gets a
new key, an unchanged one is read back with one np.load.

Axes: data[k, j, i] with k the slice (ascending along the slice normal, i.e. inferior -> superior for
axial images), j the row and i the column. `affine` maps (i, j, k, 1) to LPS millimetres.
"""
from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import numpy as np
import pydicom
from django.core.files.storage import default_storage
from pydicom.dataset import Dataset

from imaging import modalities, storage
from imaging.models import Instance, Series

# Uncompressed transfer syntaxes whose PixelData numpy can view directly (little endian).
_NATIVE = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.1.99"}
CACHE_VERSION = 1
Progress = Callable[[int, int], None]


class VolumeError(Exception):
    """The series' images do not form a volume (no pixel data, mixed sizes, ...): the reason, for the step's result."""


@dataclass
class Volume:
    data: np.ndarray  # float32 (slices, rows, columns), rescaled values (Bq/ml, counts, HU, ...)
    affine: np.ndarray  # 4x4, (i, j, k, 1) -> LPS mm
    positions_mm: list[float]  # z of each slice (patient z of its first voxel), in k order
    pixel_spacing: tuple[float, float]  # (row spacing, column spacing)
    slice_spacing: float
    instance_ids: list[int]  # the Instance of each slice (for a multi-frame instance: the same id repeated)

    @property
    def voxel_ml(self) -> float:
        return abs(float(np.linalg.det(self.affine[:3, :3]))) / 1000.0

    def to_patient(self, i: float, j: float, k: float) -> list[float]:
        return [float(v) for v in (self.affine @ np.array([i, j, k, 1.0]))[:3]]


class _RunCache:
    """What one pipeline run has read: stored files' bytes (up to RUN_CACHE_BYTES) and the volumes built from them."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.size = 0
        self.volumes: dict[tuple[int, str], Volume] = {}
        self.instances: dict[int, list[Instance]] = {}


# A pipeline run keeps the bytes it read, so the SUV, dose and preview steps open each stored file once (a 300-slice
# PET series is 23 MB; a CT series ten times that, still under the bound).
RUN_CACHE_BYTES = 768 * 1024 * 1024
_run_cache: ContextVar[_RunCache | None] = ContextVar("imaging_volume_run_cache", default=None)


@contextmanager
def run_cache() -> Iterator[None]:
    """Within this block (a pipeline run), each stored file is read from storage once and each volume built once."""
    token = _run_cache.set(_RunCache())
    try:
        yield
    finally:
        _run_cache.reset(token)


def open_bytes(key: str) -> bytes:
    """A stored file's bytes; within a pipeline run (run_cache), read from storage at most once."""
    cache = _run_cache.get()
    if cache is None:
        return _open_bytes(key)
    data = cache.files.get(key)
    if data is None:
        data = _open_bytes(key)
        if cache.size + len(data) <= RUN_CACHE_BYTES:
            cache.files[key] = data
            cache.size += len(data)
    return data


def _open_bytes(key: str) -> bytes:
    return storage.read(key)  # the local fast path stays inside imaging/storage.py


def read_dataset(instance: Instance, *, pixels: bool = True, tags: list[str] | None = None) -> Dataset:
    """One stored instance; `tags` limits parsing to those keywords (a little faster when a few values are needed)."""
    return pydicom.dcmread(io.BytesIO(open_bytes(instance.storage_key)), stop_before_pixels=not pixels, specific_tags=tags)


def published_instances(series: Series) -> list[Instance]:
    """The series' published instances in order; within a pipeline run, queried once (each step asks)."""
    run = _run_cache.get()
    if run is not None and series.pk in run.instances:
        return run.instances[series.pk]
    instances = list(series.instances.filter(quarantine_reason="").order_by("instance_number", "id"))
    if run is not None:
        run.instances[series.pk] = instances
    return instances


def _digest(instances: list[Instance]) -> str:
    """The cache's key for this set of instance rows. The row ids are part of it, not only the contents: the cached
    volume names its slices by instance id, and the same files filed again as new rows (a study deleted and
    re-uploaded; tests on PostgreSQL, whose ids are not reused) must not meet a volume naming the old rows."""
    h = hashlib.sha256(f"v{CACHE_VERSION}".encode())
    for inst in sorted(instances, key=lambda i: (i.sha256, i.pk)):
        h.update(f"{inst.pk}:{inst.sha256}".encode())
    return h.hexdigest()[:24]


def _cache_keys(series: Series, digest: str) -> tuple[str, str]:
    base = f"analysis/volumes/{series.series_uid}/{digest}"
    return f"{base}.npy", f"{base}.json"


def _pixels(ds: Dataset) -> np.ndarray:
    """Stored values of one instance as (frames, rows, columns); numpy views native pixel data without copying."""
    rows, cols, frames = int(ds.Rows), int(ds.Columns), int(ds.get("NumberOfFrames") or 1)
    if int(ds.get("SamplesPerPixel", 1) or 1) != 1:
        raise VolumeError("Colour images are not quantitative.")
    if ds.file_meta.TransferSyntaxUID in _NATIVE and "PixelData" in ds:
        bits = int(ds.BitsAllocated)
        signed = int(ds.get("PixelRepresentation", 0) or 0) == 1
        dtype = {8: "i1" if signed else "u1", 16: "<i2" if signed else "<u2", 32: "<i4" if signed else "<u4"}.get(bits)
        if dtype is None:
            raise VolumeError(f"BitsAllocated {bits} is not supported.")
        flat = np.frombuffer(ds.PixelData, dtype=dtype, count=rows * cols * frames)
        return flat.reshape(frames, rows, cols)
    array = ds.pixel_array  # compressed: pydicom's decoders
    return array.reshape(frames, rows, cols)


def _vector(value: Any, n: int) -> np.ndarray | None:
    if value is None or len(value) != n:
        return None
    return np.array([float(v) for v in value], dtype=np.float64)


def _geometry(ds: Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray, float | None]:
    """(position of the first voxel, row direction, column direction, frame spacing) of one instance."""
    source = ds
    if "ImagePositionPatient" not in ds and ds.get("DetectorInformationSequence"):
        source = ds.DetectorInformationSequence[0]  # NM RECON TOMO keeps its geometry in the detector module
    position = _vector(source.get("ImagePositionPatient"), 3)
    orientation = _vector(source.get("ImageOrientationPatient"), 6)
    if position is None or orientation is None:
        raise VolumeError("The images have no position/orientation (ImagePositionPatient, ImageOrientationPatient).")
    spacing = ds.get("SpacingBetweenSlices")
    return position, orientation[:3], orientation[3:], (float(spacing) if spacing not in (None, "") else None)


def build_volume(instances: list[Instance], progress: Progress | None = None) -> Volume:
    """Read every instance once and stack the rescaled slices in patient order along the slice normal."""
    if not instances:
        raise VolumeError("The series has no published images.")
    slices: list[tuple[float, int, np.ndarray]] = []
    first: tuple[np.ndarray, np.ndarray, np.ndarray, float | None] | None = None
    spacing_rc: tuple[float, float] | None = None
    for n, inst in enumerate(instances, 1):
        if progress is not None:
            progress(n, len(instances))
        ds = read_dataset(inst)
        if "PixelData" not in ds:
            raise VolumeError("The series holds no images (no pixel data).")
        position, row_dir, col_dir, frame_spacing = _geometry(ds)
        if first is None:
            first = (position, row_dir, col_dir, frame_spacing)
            ps = ds.get("PixelSpacing")
            spacing_rc = (float(ps[0]), float(ps[1])) if ps else (1.0, 1.0)
        normal = np.cross(first[1], first[2])
        stored = _pixels(ds)
        if slices and stored.shape[1:] != slices[0][2].shape:
            raise VolumeError("The images of the series differ in size.")
        slope = float(ds.get("RescaleSlope", 1) or 1)
        intercept = float(ds.get("RescaleIntercept", 0) or 0)
        rescaled = stored.astype(np.float32)
        if slope != 1.0:
            rescaled *= np.float32(slope)
        if intercept != 0.0:
            rescaled += np.float32(intercept)
        along = float(position @ normal)
        if stored.shape[0] == 1:
            slices.append((along, inst.pk, rescaled[0]))
        else:  # multi-frame: frames stacked along the normal by SpacingBetweenSlices
            step = frame_spacing or float(ds.get("SliceThickness") or 1.0)
            for f in range(stored.shape[0]):
                slices.append((along + f * step, inst.pk, rescaled[f]))
    assert first is not None and spacing_rc is not None
    slices.sort(key=lambda s: s[0])
    data = np.stack([s[2] for s in slices]).astype(np.float32, copy=False)
    along_values = [s[0] for s in slices]
    slice_spacing = float(np.median(np.diff(along_values))) if len(slices) > 1 else float(first[3] or 1.0)
    if slice_spacing <= 0:
        raise VolumeError("Several images share one position: not a volume.")
    position0, row_dir, col_dir, _ = first
    normal = np.cross(row_dir, col_dir)
    origin = position0 + (along_values[0] - float(position0 @ normal)) * normal
    affine = np.eye(4)
    affine[:3, 0] = row_dir * spacing_rc[1]  # i (column index) moves along the row direction
    affine[:3, 1] = col_dir * spacing_rc[0]  # j (row index) moves along the column direction
    affine[:3, 2] = normal * slice_spacing
    affine[:3, 3] = origin
    positions = [float((origin + (a - along_values[0]) * normal)[2]) for a in along_values]
    return Volume(data=data, affine=affine, positions_mm=positions, pixel_spacing=spacing_rc, slice_spacing=slice_spacing,
                  instance_ids=[s[1] for s in slices])


def _save(series: Series, digest: str, volume: Volume) -> None:
    npy_key, meta_key = _cache_keys(series, digest)
    buffer = io.BytesIO()
    np.save(buffer, volume.data, allow_pickle=False)
    meta = {"affine": volume.affine.tolist(), "positions_mm": volume.positions_mm, "pixel_spacing": list(volume.pixel_spacing),
            "slice_spacing": volume.slice_spacing, "instance_ids": volume.instance_ids}
    storage.overwrite(npy_key, buffer.getvalue())
    storage.overwrite(meta_key, json.dumps(meta).encode())
    # Volumes of an earlier set of instances of this series are stale now.
    folder = f"analysis/volumes/{series.series_uid}"
    try:
        _, names = default_storage.listdir(folder)
    except (FileNotFoundError, NotImplementedError):
        names = []
    for name in names:
        if not name.startswith(digest):
            default_storage.delete(f"{folder}/{name}")


def _load(series: Series, digest: str) -> Volume | None:
    npy_key, meta_key = _cache_keys(series, digest)
    if not (default_storage.exists(meta_key) and default_storage.exists(npy_key)):
        return None
    meta = json.loads(open_bytes(meta_key))
    data = np.load(io.BytesIO(open_bytes(npy_key)), allow_pickle=False)
    return Volume(data=data, affine=np.array(meta["affine"]), positions_mm=meta["positions_mm"],
                  pixel_spacing=tuple(meta["pixel_spacing"]), slice_spacing=meta["slice_spacing"],  # type: ignore[arg-type]
                  instance_ids=meta["instance_ids"])


def series_volume(series: Series, instances: list[Instance] | None = None, *, progress: Progress | None = None) -> Volume:
    """The series' volume: from the cache when its instances have not changed, else read (and cached for PET).

    Only PET volumes are cached: SUV, previews and every later VOI request read them. A CT (512x512 slices:
    hundreds of MB as float32) or SPECT volume is needed once, by the preview step, and is not kept.
    """
    instances = published_instances(series) if instances is None else instances
    cache = modalities.of(series.modality).quantified
    digest = _digest(instances)
    run = _run_cache.get()
    volume = run.volumes.get((series.pk, digest)) if run is not None else None
    if volume is not None:
        return volume
    volume = _load(series, digest) if cache else None
    if volume is None:
        volume = build_volume(instances, progress)
        if cache:
            _save(series, digest, volume)
    if run is not None:
        run.volumes[(series.pk, digest)] = volume
    return volume
