"""Splitting a multipart/related request body (DICOMweb STOW-RS) into its parts, as the ingest takes files.

python-multipart does the boundary parsing. A body of up to FILE_UPLOAD_MAX_MEMORY_SIZE (2.5 MB, one or a few
instances) is split in memory, each part handed over as bytes: a temporary file's create costs more here than a small
instance's parse. A larger body is never held whole: each part is written to its own temporary file as its bytes
arrive.
"""
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from python_multipart.multipart import MultipartParser

from imaging.services.prepare import IncomingFile
from registry.errors import ApplicationError

_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_TYPE = re.compile(r'type="?([^";]+)"?', re.IGNORECASE)


def boundary_of(content_type: str) -> str:
    if not content_type.lower().startswith("multipart/related"):
        raise ApplicationError("STOW-RS needs Content-Type multipart/related; type=\"application/dicom\".",
                               code="unsupported_media_type")
    kind = _TYPE.search(content_type)
    if kind and kind.group(1).lower() != "application/dicom":
        raise ApplicationError("Only application/dicom parts are accepted (not metadata + bulk data).",
                               code="unsupported_media_type")
    match = _BOUNDARY.search(content_type)
    if not match:
        raise ApplicationError("The multipart/related Content-Type has no boundary.", code="bad_request")
    return match.group(1)


def split_parts(stream: BinaryIO | Callable[[int], bytes], content_type: str, folder: Callable[[], Path], *,
                length: int | None = None, chunk_size: int = 1 << 20) -> list[IncomingFile]:
    """The parts in order, named part-NNNNN.dcm: in memory when the body's `length` is known and small, else each
    written to folder()/part-NNNNN.dcm (`folder` is asked only then: a small body makes no folder)."""
    read = stream if callable(stream) else stream.read
    in_memory = length is not None and length <= settings.FILE_UPLOAD_MAX_MEMORY_SIZE
    parts: list[IncomingFile] = []
    current: list[BinaryIO] = []

    def on_part_begin() -> None:
        current.append(io.BytesIO() if in_memory else open(folder() / _name(len(parts)), "wb"))  # noqa: SIM115 - closed at its end

    def on_part_data(data: bytes, start: int, end: int) -> None:
        current[-1].write(data[start:end])

    def on_part_end() -> None:
        handle, name = current.pop(), _name(len(parts))
        parts.append(IncomingFile(name, data=handle.getvalue()) if isinstance(handle, io.BytesIO) else IncomingFile(name, folder() / name))
        handle.close()

    parser = MultipartParser(boundary_of(content_type), {
        "on_part_begin": on_part_begin, "on_part_data": on_part_data, "on_part_end": on_part_end})
    try:
        while chunk := read(chunk_size):
            parser.write(chunk)
        parser.finalize()
    finally:
        for handle in current:
            handle.close()
    return parts


def _name(index: int) -> str:
    return f"part-{index:05d}.dcm"
