"""The pixel data of a series as one float32 volume, read once and shared by the analysis steps.

The SUV, preview and VOI code all need the same thing: every published instance's pixels with its
own RescaleSlope/Intercept applied (the slope differs per slice on GE and Siemens PET), stacked in
patient order, plus the geometry that maps a voxel to patient millimetres. Reading 300 DICOM files is
the expensive part: each slice's few elements are read by a walk of the file's explicit VR little endian
elements (pydicom for any other file), and a PET volume is cached in storage as a .npy (plus its geometry
as JSON) under a key derived from the SHA-256 of the instances it was built from, once a request outside
the pipeline asks for it: a series that gains instances gets a new key, an unchanged one is read back
with one np.load.

Axes: data[k, j, i] with k the slice (ascending along the slice normal, i.e. inferior -> superior for
axial images), j the row and i the column. `affine` maps (i, j, k, 1) to LPS millimetres.
"""
from __future__ import annotations

import hashlib
import io
import json
import struct
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


# Explicit VR little endian: the transfer syntax the fast reader walks (others, and anything unusual, go to pydicom).
_EXPLICIT_LE = "1.2.840.10008.1.2.1"
# VRs whose length is 4 bytes after 2 reserved ones (PS3.5 7.1.2); the rest have a 2-byte length.
_LONG_VRS = frozenset({b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"})
_SHORT_VRS = frozenset({b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FD", b"FL", b"IS", b"LO", b"LT", b"PN", b"SH",
                        b"SL", b"SS", b"ST", b"TM", b"UI", b"UL", b"US"})
_TAG_VR_LEN = struct.Struct("<HH2sH")
_TAG_LEN = struct.Struct("<HHI")
_U32 = struct.Struct("<I")
_U16 = struct.Struct("<H")
_PIXEL_DATA = 0x7FE00010
_ITEM, _ITEM_END, _SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_UNDEFINED = 0xFFFFFFFF
# The elements the volume needs from each slice, by tag.
_WANTED = {0x00280002: "SamplesPerPixel", 0x00280008: "NumberOfFrames", 0x00280010: "Rows", 0x00280011: "Columns",
           0x00280030: "PixelSpacing", 0x00280100: "BitsAllocated", 0x00280103: "PixelRepresentation",
           0x00281052: "RescaleIntercept", 0x00281053: "RescaleSlope", 0x00180050: "SliceThickness",
           0x00180088: "SpacingBetweenSlices", 0x00200032: "ImagePositionPatient", 0x00200037: "ImageOrientationPatient"}


class _Unsupported(Exception):
    """The fast reader does not handle this file (another transfer syntax, an unexpected encoding): pydicom reads it."""


@dataclass
class _Slice:
    """What the volume needs from one stored instance: its geometry, rescale and stored values (frames, rows, columns)."""
    position: np.ndarray
    row_dir: np.ndarray
    col_dir: np.ndarray
    frame_spacing: float | None
    pixel_spacing: Any  # as read (two values, or None): only the first slice's is used
    stored: np.ndarray
    slope: float
    intercept: float
    slice_thickness: float | None


def _element(data: bytes, pos: int) -> tuple[int, bytes, int, int]:
    """(tag, VR, position of the value, length) of the explicit VR little endian element at `pos`."""
    group, elem, vr, short = _TAG_VR_LEN.unpack_from(data, pos)
    tag = (group << 16) | elem
    if group == 0xFFFE:  # item and delimiter tags carry no VR
        return tag, b"", pos + 8, _U32.unpack_from(data, pos + 4)[0]
    if vr in _LONG_VRS:
        return tag, vr, pos + 12, _U32.unpack_from(data, pos + 8)[0]
    if vr not in _SHORT_VRS:
        raise _Unsupported("not explicit VR")
    return tag, vr, pos + 8, short


def _skip_sequence(data: bytes, pos: int) -> int:
    """Past an undefined-length sequence whose first item starts at `pos` (items of defined or undefined length)."""
    while True:
        tag, _, value, length = _element(data, pos)
        if tag == _SEQUENCE_END:
            return value
        if tag != _ITEM:
            raise _Unsupported("unexpected element in a sequence")
        pos = value + length if length != _UNDEFINED else _skip_item(data, value)


def _skip_item(data: bytes, pos: int) -> int:
    """Past an undefined-length item whose first element starts at `pos`."""
    while True:
        tag, vr, value, length = _element(data, pos)
        if tag == _ITEM_END:
            return value
        if length == _UNDEFINED:
            if vr != b"SQ":
                raise _Unsupported("undefined length outside a sequence")
            pos = _skip_sequence(data, value)
        else:
            pos = value + length


def _strings(raw: bytes) -> list[str] | None:
    """The values of a DS/IS element as pydicom splits them (None when empty)."""
    text = raw.decode("ascii").strip(" \x00")
    if not text:
        return None
    return [part.strip(" \x00") for part in text.split("\\")]


def _ds(raw: bytes | None, count: int | None = 1) -> list[float] | None:
    """Decimal strings as floats (pydicom's DSfloat is float(text)); `count`, when given, must match."""
    if raw is None:
        return None
    try:  # the usual value, ASCII numbers padded with spaces: float() reads bytes and strips the same whitespace
        values = [float(part) for part in raw.split(b"\\")]
    except ValueError:  # empty, NUL-padded or not ASCII: split as pydicom does (raises again when not a number)
        parts = _strings(raw)
        if parts is None:
            return None
        values = [float(part) for part in parts]
    if count is not None and len(values) != count:
        raise _Unsupported("unexpected number of values")
    return values


def _us(found: dict[int, tuple[bytes, bytes]], tag: int) -> int | None:
    item = found.get(tag)
    if item is None:
        return None
    vr, raw = item
    if vr != b"US" or len(raw) != 2:
        raise _Unsupported("unexpected encoding of an unsigned short")
    return int(_U16.unpack(raw)[0])


def _fast_slice(data: bytes) -> _Slice | None:
    """The slice from a walk of the file's elements, without pydicom: only an explicit VR little endian file whose
    wanted elements are all plainly encoded; None otherwise (pydicom then reads it, with its own errors).

    Parsing every header with pydicom was most of a PET series' analysis (74 elements built per slice to use 13). The
    values are those pydicom gives: DS is float(text), US the little endian short, IS int(text)."""
    try:
        return _walk(data)
    except (_Unsupported, struct.error, UnicodeDecodeError, ValueError, IndexError):
        return None


def file_meta_syntax(data: bytes) -> tuple[str, int] | None:
    """(the transfer syntax UID of a Part 10 file's meta group, where its data set starts), or None without the DICM
    prefix. The meta group is always explicit VR little endian; the UID's padding (NUL or space) is dropped."""
    if data[128:132] != b"DICM":
        return None
    pos, end = 132, len(data)
    syntax = ""
    while pos < end and _U16.unpack_from(data, pos)[0] == 0x0002:
        tag, _, value, length = _element(data, pos)
        if tag == 0x00020010:
            syntax = data[value:value + length].decode("latin-1").rstrip("\x00 ")
        pos = value + length
    return syntax, pos


def _walk(data: bytes) -> _Slice | None:
    meta = file_meta_syntax(data)
    if meta is None or meta[0] != _EXPLICIT_LE:
        return None
    pos, end = meta[1], len(data)
    found: dict[int, tuple[bytes, bytes]] = {}
    pixels: tuple[int, int] | None = None
    unpack, u32 = _TAG_VR_LEN.unpack_from, _U32.unpack_from  # the loop below runs ~80 times per slice: kept inline
    while pos < end:
        group, elem, vr, length = unpack(data, pos)
        if vr in _LONG_VRS:
            value, length = pos + 12, u32(data, pos + 8)[0]
        elif vr in _SHORT_VRS:
            value = pos + 8
        else:
            return None  # not explicit VR after all
        tag = (group << 16) | elem
        if tag == _PIXEL_DATA:
            if length == _UNDEFINED or vr not in (b"OW", b"OB"):
                return None  # encapsulated (compressed) pixel data
            pixels = (value, length)
            break
        if length == _UNDEFINED:
            if vr != b"SQ":
                return None
            pos = _skip_sequence(data, value)
            continue
        if tag in _WANTED:
            found[tag] = (vr, data[value:value + length])
        pos = value + length
    if pixels is None or 0x00200032 not in found:  # no pixel data or the geometry elsewhere (NM): pydicom's path says why
        return None
    return _slice_from(found, data, pixels)


def _slice_from(found: dict[int, tuple[bytes, bytes]], data: bytes, pixels: tuple[int, int]) -> _Slice | None:
    def ds(tag: int, count: int | None = 1) -> list[float] | None:
        item = found.get(tag)
        if item is not None and item[0] != b"DS":
            raise _Unsupported("not a decimal string")
        return _ds(item[1] if item else None, count)

    rows, cols, bits = _us(found, 0x00280010), _us(found, 0x00280011), _us(found, 0x00280100)
    samples, representation = _us(found, 0x00280002), _us(found, 0x00280103)
    if rows is None or cols is None or bits not in (8, 16, 32) or (samples or 1) != 1:
        return None
    frames_item = found.get(0x00280008)
    frames = 1
    if frames_item is not None:
        if frames_item[0] != b"IS":
            return None
        parts = _strings(frames_item[1])
        if parts is not None:
            if len(parts) != 1:
                return None
            frames = int(parts[0]) or 1
    position, orientation = ds(0x00200032, 3), ds(0x00200037, 6)
    if position is None or orientation is None:
        return None
    spacing = ds(0x00280030, 2)
    signed = (representation or 0) == 1
    dtype = {8: "i1" if signed else "u1", 16: "<i2" if signed else "<u2", 32: "<i4" if signed else "<u4"}[bits]
    count = rows * cols * frames
    offset, length = pixels
    if length < count * np.dtype(dtype).itemsize:
        return None
    stored = np.frombuffer(data, dtype=dtype, count=count, offset=offset).reshape(frames, rows, cols)
    slope, intercept = ds(0x00281053), ds(0x00281052)
    between, thickness = ds(0x00180088), ds(0x00180050)
    orient = np.array(orientation, dtype=np.float64)
    return _Slice(position=np.array(position, dtype=np.float64), row_dir=orient[:3], col_dir=orient[3:],
                  frame_spacing=between[0] if between else None,
                  pixel_spacing=(spacing[0], spacing[1]) if spacing else (1.0, 1.0), stored=stored,
                  slope=float((slope[0] if slope else None) or 1), intercept=float((intercept[0] if intercept else None) or 0),
                  slice_thickness=thickness[0] if thickness else None)


def _dataset_slice(data: bytes) -> _Slice:
    """The slice through pydicom: any transfer syntax (compressed pixel data decoded), NM geometry, and the errors."""
    ds = pydicom.dcmread(io.BytesIO(data))
    if "PixelData" not in ds:
        raise VolumeError("The series holds no images (no pixel data).")
    position, row_dir, col_dir, frame_spacing = _geometry(ds)
    stored = _pixels(ds)
    thickness = ds.get("SliceThickness")
    return _Slice(position=position, row_dir=row_dir, col_dir=col_dir, frame_spacing=frame_spacing,
                  pixel_spacing=ds.get("PixelSpacing"), stored=stored, slope=float(ds.get("RescaleSlope", 1) or 1),
                  intercept=float(ds.get("RescaleIntercept", 0) or 0), slice_thickness=thickness)


def read_slice(instance: Instance) -> _Slice:
    """One stored instance's slice data: the fast walk when the file allows it, else pydicom (one storage read)."""
    data = open_bytes(instance.storage_key)
    return _fast_slice(data) or _dataset_slice(data)


def _rescaled(entries: list[tuple[float, int, np.ndarray, float, float]]) -> np.ndarray:
    """Every slice's stored values times its own RescaleSlope plus its RescaleIntercept, as one float32 volume.

    One cast of the whole stack and one multiply by the slopes' column, instead of a cast, a multiply and an add per
    slice. Bit for bit what the per-slice code gave: a slope of 1 multiplies exactly, and the intercept is added only
    to the slices whose intercept is not 0 (adding 0.0 would turn a -0.0 into 0.0)."""
    n = len(entries)
    data = np.empty((n, *entries[0][2].shape), dtype=np.float32)
    for k, entry in enumerate(entries):
        data[k] = entry[2]
    slopes = np.array([e[3] for e in entries], dtype=np.float32)
    if any(e[3] != 1.0 for e in entries):
        data *= slopes[:, None, None]
    shifted = [k for k, e in enumerate(entries) if e[4] != 0.0]
    if len(shifted) == n:
        data += np.array([e[4] for e in entries], dtype=np.float32)[:, None, None]
    else:
        for k in shifted:
            data[k] += np.float32(entries[k][4])
    return data


def build_volume(instances: list[Instance], progress: Progress | None = None) -> Volume:
    """Read every instance once and stack the rescaled slices in patient order along the slice normal."""
    if not instances:
        raise VolumeError("The series has no published images.")
    entries: list[tuple[float, int, np.ndarray, float, float]] = []  # (along the normal, instance, stored, slope, intercept)
    first: _Slice | None = None
    normal = np.zeros(3)
    for n, inst in enumerate(instances, 1):
        if progress is not None:
            progress(n, len(instances))
        piece = read_slice(inst)
        if first is None:
            first = piece
            normal = np.cross(piece.row_dir, piece.col_dir)
        elif piece.stored.shape[1:] != first.stored.shape[1:]:
            raise VolumeError("The images of the series differ in size.")
        along = float(piece.position @ normal)
        if piece.stored.shape[0] == 1:
            entries.append((along, inst.pk, piece.stored[0], piece.slope, piece.intercept))
        else:  # multi-frame: frames stacked along the normal by SpacingBetweenSlices
            step = piece.frame_spacing or float(piece.slice_thickness or 1.0)
            for f in range(piece.stored.shape[0]):
                entries.append((along + f * step, inst.pk, piece.stored[f], piece.slope, piece.intercept))
    assert first is not None
    ps = first.pixel_spacing
    spacing_rc = (float(ps[0]), float(ps[1])) if ps else (1.0, 1.0)
    entries.sort(key=lambda s: s[0])
    data = _rescaled(entries)
    along_values = [s[0] for s in entries]
    slice_spacing = float(np.median(np.diff(along_values))) if len(entries) > 1 else float(first.frame_spacing or 1.0)
    if slice_spacing <= 0:
        raise VolumeError("Several images share one position: not a volume.")
    row_dir, col_dir = first.row_dir, first.col_dir
    origin = first.position + (along_values[0] - float(first.position @ normal)) * normal
    affine = np.eye(4)
    affine[:3, 0] = row_dir * spacing_rc[1]  # i (column index) moves along the row direction
    affine[:3, 1] = col_dir * spacing_rc[0]  # j (row index) moves along the column direction
    affine[:3, 2] = normal * slice_spacing
    affine[:3, 3] = origin
    positions = [float((origin + (a - along_values[0]) * normal)[2]) for a in along_values]
    return Volume(data=data, affine=affine, positions_mm=positions, pixel_spacing=spacing_rc, slice_spacing=slice_spacing,
                  instance_ids=[s[1] for s in entries])


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
    """The series' volume: from the cache when its instances have not changed, else read from the files.

    Only PET volumes are cached (SUV, previews and VOI requests read them; a CT volume, 512x512 slices, is hundreds
    of MB as float32 and needed once, by the preview step). The cache is written when a request outside a pipeline
    run (a VOI, an evaluation) asks for the volume, not by the run itself: the run has the volume in memory for all
    its steps, and writing 44 MB for a 300-slice series was a third of its analysis time, spent even for the series
    nobody draws a VOI on.
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
        if cache and run is None:
            _save(series, digest, volume)
    if run is not None:
        run.volumes[(series.pk, digest)] = volume
    return volume
