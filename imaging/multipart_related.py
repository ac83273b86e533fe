"""Streaming a multipart/related request body (DICOMweb STOW-RS) into temporary files, part by part.

python-multipart does the boundary parsing; nothing of the body is held whole in memory: each part is
written to its own temporary file as its bytes arrive.
"""
import re
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from python_multipart.multipart import MultipartParser

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


def split_parts(stream: BinaryIO | Callable[[int], bytes], content_type: str, folder: Path, *,
                chunk_size: int = 1 << 20) -> list[Path]:
    """Write each part's body to folder/part-NNNNN.dcm and return the paths in order."""
    read = stream if callable(stream) else stream.read
    paths: list[Path] = []
    current: list[BinaryIO] = []

    def on_part_begin() -> None:
        path = folder / f"part-{len(paths):05d}.dcm"
        paths.append(path)
        current.append(open(path, "wb"))  # noqa: SIM115 - closed in on_part_end

    def on_part_data(data: bytes, start: int, end: int) -> None:
        current[-1].write(data[start:end])

    def on_part_end() -> None:
        current.pop().close()

    parser = MultipartParser(boundary_of(content_type), {
        "on_part_begin": on_part_begin, "on_part_data": on_part_data, "on_part_end": on_part_end})
    try:
        while chunk := read(chunk_size):
            parser.write(chunk)
        parser.finalize()
    finally:
        for handle in current:
            handle.close()
    return paths
