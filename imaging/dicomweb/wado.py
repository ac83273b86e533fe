"""WADO-RS (PS3.18 10.4): instances, metadata with bulk data URIs, bulk data, frames, rendered images and thumbnails.

Everything reads the stored de-identified files of published instances (the caller's scope, ready studies,
instances not quarantined); the views hand in an already scoped queryset. Files are read through imaging/storage.py
(filesystem or S3 alike); a retrieval streams each instance's bytes as the store sends them, one instance at a time.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.utils.translation import gettext
from pydicom.dataset import Dataset
from rest_framework import exceptions, serializers

from imaging import previews, storage
from imaging.dicomweb import metadata_cache
from imaging.models import Instance
from imaging.volume import read_dataset
from registry.errors import ApplicationError

BULK_DATA_THRESHOLD = metadata_cache.BULK_DATA_THRESHOLD
THUMBNAIL_VIEWPORT = (128, 128)
MAX_VIEWPORT = 4096


def instance_url(base: str, inst: Instance) -> str:
    return f"{base}/studies/{inst.series.study.study_uid}/series/{inst.series.series_uid}/instances/{inst.sop_instance_uid}"


def _multipart(parts: Iterable[bytes], media_type: str) -> HttpResponse:
    boundary = uuid.uuid4().hex
    body = b"".join(f"--{boundary}\r\nContent-Type: {media_type}\r\n\r\n".encode() + part + b"\r\n" for part in parts)
    return HttpResponse(body + f"--{boundary}--\r\n".encode(),
                        content_type=f'multipart/related; type="{media_type}"; boundary={boundary}')


def _stream(instances: list[Instance], boundary: str) -> Iterator[bytes]:
    for inst in instances:
        yield f"--{boundary}\r\nContent-Type: application/dicom\r\nContent-Length: {inst.size}\r\n\r\n".encode()
        yield from storage.chunks(inst.storage_key)  # as the store sends it (S3: the object's body, chunk by chunk)
        yield b"\r\n"
    yield f"--{boundary}--\r\n".encode()


def ordered(qs: QuerySet[Instance]) -> list[Instance]:
    instances = list(qs.order_by("series__series_number", "series_id", "instance_number", "pk"))
    if not instances:
        raise exceptions.NotFound()
    return instances


def retrieve(qs: QuerySet[Instance]) -> StreamingHttpResponse:
    """The stored instances as multipart/related; type="application/dicom", streamed from storage."""
    instances = ordered(qs)
    boundary = uuid.uuid4().hex
    return StreamingHttpResponse(_stream(instances, boundary),
                                 content_type=f'multipart/related; type="application/dicom"; boundary={boundary}')


# What a metadata answer needs of the rows (the scoped querysets join the patient and carry JSON columns whose decoding
# was a third of a warm answer's time).
_METADATA_FIELDS = ("id", "sha256", "storage_key", "sop_instance_uid", "instance_number", "series_id", "series__series_uid",
                    "series__series_number", "series__study__study_uid")


def metadata(qs: QuerySet[Instance], base: str) -> list[dict[str, Any]]:
    """The headers of each instance as DICOM JSON, long binary values as BulkDataURIs. The pixel data is not listed
    (it is served by /frames and by the bulk data path 7FE00010). The headers come from the series' metadata cache
    (imaging.dicomweb.metadata_cache): one storage read for a series whose instances are all in it."""
    instances = ordered(qs.select_related(None).select_related("series__study").only(*_METADATA_FIELDS))
    found = metadata_cache.headers(instances)
    return [metadata_cache.with_base(found[inst.sha256], instance_url(base, inst)) if inst.sha256 in found.bulk
            else found[inst.sha256] for inst in instances]


def metadata_from_files(qs: QuerySet[Instance], base: str) -> list[dict[str, Any]]:
    """The same answer built from every stored file, bypassing the cache (the reference the tests and bench/wado.py
    compare the cached answer with)."""
    return [metadata_cache.with_base(metadata_cache.header_of(read_dataset(inst, pixels=False)), instance_url(base, inst))
            for inst in ordered(qs)]


def bulkdata(inst: Instance, path: str) -> HttpResponse:
    """One binary value named by its path (as the metadata's BulkDataURI gives it), as application/octet-stream."""
    ds = read_dataset(inst, pixels=path == "7FE00010")
    steps = path.strip("/").split("/")
    try:
        node: Any = ds
        for n, step in enumerate(steps):
            node = node[int(step, 16)].value if n % 2 == 0 else node[int(step)]
    except (ValueError, KeyError, IndexError) as exc:
        raise exceptions.NotFound() from exc
    if not isinstance(node, bytes):
        raise exceptions.NotFound()
    return _multipart([node], "application/octet-stream")


def _frame_numbers(text: str, count: int) -> list[int]:
    try:
        numbers = [int(v) for v in text.split(",")]
    except ValueError as exc:
        raise ApplicationError(gettext("Frame numbers are whole numbers separated by commas."), code="invalid_frame") from exc
    if not numbers or any(not 1 <= n <= count for n in numbers):
        raise ApplicationError(gettext("This instance has frames 1 to %(count)s.") % {"count": count}, code="invalid_frame")
    return numbers


def _stored_frames(inst: Instance) -> tuple[Dataset, np.ndarray]:
    ds = read_dataset(inst)
    if "PixelData" not in ds:
        raise ApplicationError(gettext("This instance holds no image."), code="no_pixel_data")
    array = ds.pixel_array
    frames = int(ds.get("NumberOfFrames") or 1)
    return ds, array.reshape(frames, *array.shape[-2:]) if int(ds.get("SamplesPerPixel", 1) or 1) == 1 else \
        array.reshape(frames, *array.shape[-3:])


def frames(inst: Instance, text: str) -> HttpResponse:
    """The frames as uncompressed little-endian pixel values (application/octet-stream), in the order asked."""
    _ds, stack = _stored_frames(inst)
    return _multipart([np.ascontiguousarray(stack[n - 1]).astype(stack.dtype.newbyteorder("<")).tobytes()
                       for n in _frame_numbers(text, len(stack))], "application/octet-stream")


class RenderQuery(serializers.Serializer):
    """PS3.18 8.3.5.1 rendering parameters."""

    window = serializers.CharField(required=False, help_text="center,width,function (linear, linear-exact or sigmoid)")
    quality = serializers.IntegerField(required=False, min_value=1, max_value=100, default=90)
    viewport = serializers.CharField(required=False, help_text="vw,vh: the image is scaled to fit")
    accept = serializers.CharField(required=False)

    def validate_window(self, value: str) -> tuple[float, float, str]:
        parts = value.split(",")
        if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] not in previews.WINDOW_FUNCTIONS):
            raise serializers.ValidationError(gettext("window is center,width[,linear|linear-exact|sigmoid]."))
        try:
            center, width = float(parts[0]), float(parts[1])
        except ValueError as exc:
            raise serializers.ValidationError(gettext("window centre and width are numbers.")) from exc
        if not width > 0:
            raise serializers.ValidationError(gettext("window width must be above 0."))
        return center, width, parts[2] if len(parts) == 3 else "linear"

    def validate_viewport(self, value: str) -> tuple[int, int]:
        try:
            vw, vh = (int(v) for v in value.split(","))
        except ValueError as exc:
            raise serializers.ValidationError(gettext("viewport is vw,vh (whole numbers of pixels).")) from exc
        if not (1 <= vw <= MAX_VIEWPORT and 1 <= vh <= MAX_VIEWPORT):
            raise serializers.ValidationError(gettext("viewport sides are 1 to %(max)s pixels.") % {"max": MAX_VIEWPORT})
        return vw, vh


@dataclass(frozen=True)
class Rendering:
    media_type: str
    quality: int
    viewport: tuple[int, int] | None
    window: tuple[float, float, str] | None


def rendering(params: dict[str, Any], accept_header: str, *, thumbnail: bool) -> Rendering:
    """The parameters with the media type chosen from `accept` (or the Accept header): JPEG unless PNG is asked first."""
    wanted = [t.split(";")[0].strip().lower() for t in (params.get("accept") or accept_header or "image/jpeg").split(",")]
    for media_type in wanted:
        if media_type in previews.RENDERED_TYPES:
            break
        if media_type in ("*/*", "image/*"):
            media_type = "image/jpeg"
            break
    else:
        raise exceptions.NotAcceptable(gettext("Rendered images are image/jpeg or image/png."))
    viewport = params.get("viewport") or (THUMBNAIL_VIEWPORT if thumbnail else None)
    return Rendering(media_type, params["quality"], viewport, params.get("window"))


def _first(value: Any) -> float | None:
    if value is None or value == "":
        return None
    return float(value[0] if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue" else value)


def render(inst: Instance, how: Rendering, *, frame: int | None = None) -> HttpResponse:
    """One frame as an image: rescaled, windowed (the request's window, else the instance's, else the modality's
    default), MONOCHROME1 inverted, scaled to the viewport. Without `frame`: the middle frame of a multi-frame image."""
    ds, stack = _stored_frames(inst)
    index = _frame_numbers(str(frame), len(stack))[0] - 1 if frame is not None else len(stack) // 2
    if stack.ndim == 4:  # colour: shown as stored
        pixels = np.asarray(stack[index], dtype=np.uint8)
    else:
        values = stack[index].astype(np.float32) * np.float32(float(ds.get("RescaleSlope", 1) or 1)) \
            + np.float32(float(ds.get("RescaleIntercept", 0) or 0))
        center, width, function = how.window or (
            (_first(ds.get("WindowCenter")), _first(ds.get("WindowWidth")), "linear") if ds.get("WindowWidth") else
            (*previews.default_window(str(ds.get("Modality", "")), values), "linear-exact"))
        pixels = previews.window_grey(values, center=center, width=width, function=function,
                                      inverted=str(ds.get("PhotometricInterpretation", "")) == "MONOCHROME1")
    image = previews.encode_image(pixels, media_type=how.media_type, quality=how.quality, viewport=how.viewport)
    return HttpResponse(image, content_type=how.media_type)


def representative(qs: QuerySet[Instance]) -> Instance:
    """The instance that stands for a study or series in one image: the middle one of its first series."""
    instances = ordered(qs)
    first_series = [i for i in instances if i.series_id == instances[0].series_id]
    return first_series[len(first_series) // 2]
