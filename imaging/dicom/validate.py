"""Reading and validating one uploaded DICOM file, before anything is stored.

- ``read_dataset(path_or_file)``: parse, or raise ``DicomRejected(code, reason)``.
- ``check(ds, size_bytes=..., max_bytes=...)``: accept (with the identifying UIDs, and a quarantine
  reason when the pixels may carry burned-in text) or reject with a stable code and a human reason.
- ``inspect(path_or_file, max_bytes=...)``: size limit, read and check in one call; never raises for bad input.
- ``patient_characteristics(ds)``: sex, birth date, age, weight, size, study date, for the wrong-patient
  guard; call it before de-identification (which empties the birth date).

Reasons name attributes, modalities and SOP classes, never a value that could identify a patient (no
names, IDs, dates or instance UIDs), so they can be shown to any user and logged. pydicom's warnings
while reading (which can quote element values) are swallowed for the same reason.
"""
from __future__ import annotations

import io
import math
import os
import re
import struct
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import IO, Any

from pydicom import dcmread
from pydicom.datadict import DicomDictionary, tag_for_keyword
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian, UID_dictionary

from imaging import modalities

__all__ = [
    "CheckResult", "DicomRejected", "REJECTION_CODES", "QUARANTINE_CODES",
    "INVALID_VALUE", "check", "inspect", "patient_characteristics", "plain_numbers", "plain_text", "plain_us", "read_dataset",
]

# Rejection codes (stable: the API and the UI key on them).
EMPTY = "empty"
NOT_DICOM = "not_dicom"
TRUNCATED = "truncated"
CORRUPT = "corrupt"
TOO_LARGE = "too_large"
UNSUPPORTED_TRANSFER_SYNTAX = "unsupported_transfer_syntax"
MISSING_UID = "missing_uid"
INVALID_UID = "invalid_uid"
MISSING_MODALITY = "missing_modality"
MODALITY_NOT_ALLOWED = "modality_not_allowed"
MISSING_PIXEL_DATA = "missing_pixel_data"
MISSING_CONTENT = "missing_content"
INVALID_VALUE = "invalid_value"
REJECTION_CODES = (EMPTY, NOT_DICOM, TRUNCATED, CORRUPT, TOO_LARGE, UNSUPPORTED_TRANSFER_SYNTAX, MISSING_UID,
                   INVALID_UID, MISSING_MODALITY, MODALITY_NOT_ALLOWED, MISSING_PIXEL_DATA, MISSING_CONTENT, INVALID_VALUE)
# Quarantine codes (accepted, held for review before publication).
BURNED_IN_ANNOTATION = "burned_in_annotation"
SECONDARY_CAPTURE = "secondary_capture"
QUARANTINE_CODES = (BURNED_IN_ANNOTATION, SECONDARY_CAPTURE)

RADIATION_DOSE_SR_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.88.67": "X-Ray Radiation Dose SR",
    "1.2.840.10008.5.1.4.1.1.88.68": "Radiopharmaceutical Radiation Dose SR",
    "1.2.840.10008.5.1.4.1.1.88.73": "Patient Radiation Dose SR",
    "1.2.840.10008.5.1.4.1.1.88.76": "Enhanced X-Ray Radiation Dose SR",
}
SECONDARY_CAPTURE_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.7": "Secondary Capture Image Storage",
    "1.2.840.10008.5.1.4.1.1.7.1": "Multi-frame Single Bit Secondary Capture Image Storage",
    "1.2.840.10008.5.1.4.1.1.7.2": "Multi-frame Grayscale Byte Secondary Capture Image Storage",
    "1.2.840.10008.5.1.4.1.1.7.3": "Multi-frame Grayscale Word Secondary Capture Image Storage",
    "1.2.840.10008.5.1.4.1.1.7.4": "Multi-frame True Color Secondary Capture Image Storage",
}
REQUIRED_UIDS = (("SOPClassUID", "(0008,0016)"), ("SOPInstanceUID", "(0008,0018)"),
                 ("StudyInstanceUID", "(0020,000D)"), ("SeriesInstanceUID", "(0020,000E)"))
PIXEL_TAGS = (0x7FE00010, 0x7FE00008, 0x7FE00009)  # Pixel Data, Float Pixel Data, Double Float Pixel Data
DEFAULT_MAX_INFLATED_BYTES = 1024 ** 3  # a deflated dataset may not expand beyond this
_DEFLATED = "1.2.840.10008.1.2.1.99"
_SAFE_CODE = re.compile(r"^[A-Z0-9_ ]{1,16}$")
_AGE = re.compile(r"^(\d{3})([DWMY])$")
# The numbers the ingest reads from a header and stores or computes with: keyword, tag, how many values, integer?
# A value that is not a number of that kind (or an integer outside DICOM's IS range, which is also the database's
# integer column) rejects the file rather than failing the whole upload later (issue 14, reproducer 4).
NUMERIC_ATTRIBUTES = (("InstanceNumber", "(0020,0013)", 1, True), ("SeriesNumber", "(0020,0011)", 1, True),
                      ("NumberOfFrames", "(0028,0008)", 1, True), ("PixelSpacing", "(0028,0030)", 2, False),
                      ("SliceThickness", "(0018,0050)", 1, False), ("ImagePositionPatient", "(0020,0032)", 3, False))
RADIOPHARMACEUTICAL_NUMBERS = (("RadionuclideHalfLife", "(0018,1075)"), ("RadionuclideTotalDose", "(0018,1074)"))
IS_RANGE = (-(2 ** 31), 2 ** 31 - 1)
_VRS = frozenset(b"AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV".split())


class DicomRejected(Exception):
    """A file that cannot be accepted; ``code`` is stable, ``reason`` is for people (no identifiers)."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class CheckResult:
    accepted: bool
    code: str  # "ok" when accepted, else one of REJECTION_CODES
    reason: str  # empty when accepted without quarantine
    modality: str = ""
    sop_class_uid: str = ""
    sop_instance_uid: str = ""
    study_uid: str = ""
    series_uid: str = ""
    transfer_syntax_uid: str = ""
    quarantine: str | None = None  # why the file is held for review, None when it may be published
    quarantine_code: str | None = None  # one of QUARANTINE_CODES (the first, when several apply)

    @property
    def quarantined(self) -> bool:
        return self.quarantine is not None


def _reject(code: str, reason: str, **known: str) -> CheckResult:
    return CheckResult(accepted=False, code=code, reason=reason, **known)


def _size_text(n: int) -> str:
    for unit, scale in (("GB", 1024 ** 3), ("MB", 1024 ** 2), ("KB", 1024)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


# ---------------------------------------------------------------------------------------------- reading
@contextmanager
def _quiet() -> Iterator[None]:
    """Swallow pydicom's warnings: they can quote element values (identifiers) into logs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _raw_layout(head: bytes) -> str | None:
    """For a file without the 128-byte preamble and 'DICM': does it start like a dataset?

    'meta': File Meta Information (group 0002, explicit VR). 'dataset': a group 0008 element in explicit
    or implicit VR Little Endian whose VR or length is plausible. None: anything else (random bytes).
    """
    if len(head) < 8:
        return None
    group, element = struct.unpack("<HH", head[:4])
    vr = head[4:6]
    if group == 0x0002:
        return "meta" if element <= 0x0002 and vr in (b"UL", b"OB") else None
    if group != 0x0008 or not (element == 0 or (0x0008 << 16 | element) in DicomDictionary):
        return None
    if vr in _VRS:
        expected = DicomDictionary.get(0x0008 << 16 | element, ("UL",))[0]
        return "dataset" if vr.decode() in expected or vr == b"UN" else None
    length = struct.unpack("<I", head[4:8])[0]
    return "dataset" if 0 < length <= 1024 else None


def _inflated_size_exceeds(fp: IO[bytes], offset: int, limit: int) -> bool:
    """Inflate a deflated dataset without keeping it, to refuse a decompression bomb before pydicom does."""
    fp.seek(offset)
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    total = 0
    while chunk := fp.read(1 << 20):
        data = inflater.decompress(chunk, limit + 1 - total)
        total += len(data)
        while inflater.unconsumed_tail and total <= limit:
            data = inflater.decompress(inflater.unconsumed_tail, limit + 1 - total)
            total += len(data)
        if total > limit:
            return True
    return False


_READ_WHOLE_BELOW = 256 * 1024 ** 2  # files up to this size are parsed from memory (pydicom reads in small pieces)


def _open(path_or_file: Any) -> tuple[IO[bytes], bool]:
    if isinstance(path_or_file, str | os.PathLike):
        fp = open(path_or_file, "rb")
        if os.fstat(fp.fileno()).st_size <= _READ_WHOLE_BELOW:
            with fp:
                return io.BytesIO(fp.read()), True
        return fp, True
    if isinstance(path_or_file, bytes | bytearray | memoryview):
        return io.BytesIO(bytes(path_or_file)), True
    if hasattr(path_or_file, "read") and hasattr(path_or_file, "seek"):
        return path_or_file, False
    raise TypeError("read_dataset takes a path, bytes or a binary file object")


def _ends_early(ds: Dataset, fp: IO[bytes], end_of_file: int, positions_known: bool) -> bool:
    """Is the last element read cut off by the end of the file?

    pydicom stops quietly at the end of the data, so a cut file parses into a shorter dataset. Only the
    last element read can be cut: its value is shorter than its declared length, or it ends after the
    end of the file, or a partial element header follows it (1 to 7 bytes, not all zero padding).
    """
    keys = list(ds.keys())
    if not keys:
        return True
    elem = ds.get_item(keys[-1])
    length = getattr(elem, "length", None)
    if length is None or length == 0xFFFFFFFF:
        return False
    value = elem.value
    if isinstance(value, bytes) and len(value) < length:
        return True
    tell = getattr(elem, "value_tell", None)
    if not positions_known or tell is None:
        return False
    end = tell + length
    if end > end_of_file:
        return True
    if 0 < end_of_file - end < 8:
        fp.seek(end)
        return bool(fp.read(end_of_file - end).strip(b"\x00"))
    return False


def read_dataset(path_or_file: Any, *, max_inflated_bytes: int = DEFAULT_MAX_INFLATED_BYTES) -> Dataset:
    """Parse a DICOM Part 10 file (or, failing that, a bare dataset that looks like one).

    Accepts a path, bytes, or a binary file object (read from its current position to the end; the
    object is not closed). A bare dataset without preamble and File Meta Information is read only when
    its first element is a plausible File Meta or group 0008 element and it has SOP Class and SOP
    Instance UIDs; its File Meta Information is then filled in (transfer syntax as detected). Deflated
    datasets are inflated, but refused (too_large) beyond ``max_inflated_bytes``.
    Raises DicomRejected with code empty, not_dicom, truncated, corrupt, too_large or
    unsupported_transfer_syntax.
    """
    fp, owned = _open(path_or_file)
    try:
        start = fp.tell()
        fp.seek(0, io.SEEK_END)
        size = fp.tell() - start
        fp.seek(start)
        if size <= 0:
            raise DicomRejected(EMPTY, "The file is empty.")
        head = fp.read(138)
        fp.seek(start)
        part10 = len(head) >= 132 and head[128:132] == b"DICM"
        layout = None if part10 else _raw_layout(head)
        if not part10 and layout is None:
            raise DicomRejected(NOT_DICOM, "This is not a DICOM file (no DICM prefix and no recognisable DICOM data).")
        if part10 and (len(head) < 138 or head[132:134] != b"\x02\x00" or head[136:138] not in _VRS):
            raise DicomRejected(NOT_DICOM if len(head) >= 138 else TRUNCATED,
                                "The file has a DICM prefix but no valid File Meta Information.")
        if part10:
            _check_deflate_bomb(fp, start, max_inflated_bytes)
            fp.seek(start)
        try:
            with _quiet():
                ds = dcmread(fp, force=not part10)
        except DicomRejected:
            raise
        except zlib.error:
            raise DicomRejected(TRUNCATED, "The compressed (deflated) data ends early: the file is truncated or damaged.") from None
        except InvalidDicomError:
            raise DicomRejected(NOT_DICOM, "This is not a DICOM file.") from None
        except Exception as exc:  # pydicom raises many types on damaged input; never echo its message
            if not part10:
                raise DicomRejected(NOT_DICOM, "This is not a DICOM file (no DICM prefix; the data is not DICOM).") from None
            if isinstance(exc, EOFError) or fp.tell() >= start + size - 8:
                raise DicomRejected(TRUNCATED, "The file ends in the middle of a DICOM element: it is truncated.") from None
            raise DicomRejected(CORRUPT, f"The file could not be parsed as DICOM ({type(exc).__name__}).") from None
        deflated = str(getattr(ds, "file_meta", {}).get("TransferSyntaxUID", "")) == _DEFLATED
        if _ends_early(ds, fp, start + size, positions_known=not deflated):
            if not part10:
                raise DicomRejected(NOT_DICOM, "This is not a DICOM file (no DICM prefix; the data is not DICOM).")
            raise DicomRejected(TRUNCATED, "The file ends in the middle of a DICOM element: it is truncated.")
        if owned:  # our own buffer: do not keep it (memory) or let deepcopy trip over it once closed
            ds.buffer = None
            if isinstance(path_or_file, str | os.PathLike):
                ds.filename = os.fspath(path_or_file)
        if not part10:
            _accept_bare_dataset(ds, layout)
        ts = str(ds.file_meta.get("TransferSyntaxUID", "") or "")
        if not ts:
            raise DicomRejected(UNSUPPORTED_TRANSFER_SYNTAX, "The File Meta Information has no Transfer Syntax UID.")
        if UID_dictionary.get(ts, ("", ""))[1] != "Transfer Syntax":
            raise DicomRejected(UNSUPPORTED_TRANSFER_SYNTAX,
                                "The transfer syntax is not a DICOM standard transfer syntax.")
        return ds
    finally:
        if owned:
            fp.close()


def _check_deflate_bomb(fp: IO[bytes], start: int, limit: int) -> None:
    """Deflated transfer syntax: measure the inflated size (streaming) before pydicom inflates it all."""
    fp.seek(start + 132)
    head = fp.read(12)
    if len(head) < 12 or head[:4] != b"\x02\x00\x00\x00" or head[4:6] != b"UL":
        return
    meta_length = struct.unpack("<I", head[8:12])[0]
    if meta_length > 1 << 20 or _DEFLATED.encode() not in fp.read(meta_length):
        return
    try:
        too_big = _inflated_size_exceeds(fp, start + 144 + meta_length, limit)
    except zlib.error:
        raise DicomRejected(TRUNCATED, "The compressed (deflated) data is damaged or truncated.") from None
    if too_big:
        raise DicomRejected(TOO_LARGE, f"The deflated dataset expands beyond {_size_text(limit)}.")


def _accept_bare_dataset(ds: Dataset, layout: str | None) -> None:
    if layout == "dataset" and not ("SOPClassUID" in ds and "SOPInstanceUID" in ds):
        raise DicomRejected(NOT_DICOM, "This is not a DICOM file (no File Meta Information and no SOP Class/Instance UID).")
    meta = getattr(ds, "file_meta", None)
    if meta is None:
        meta = ds.file_meta = FileMetaDataset()
    if "TransferSyntaxUID" not in meta:
        implicit, little = getattr(ds, "original_encoding", (None, None))
        if little is False:
            raise DicomRejected(UNSUPPORTED_TRANSFER_SYNTAX, "Big endian data without File Meta Information is not accepted.")
        meta.TransferSyntaxUID = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
    if "SOPClassUID" in ds and "MediaStorageSOPClassUID" not in meta:
        meta.MediaStorageSOPClassUID = ds.SOPClassUID
    if "SOPInstanceUID" in ds and "MediaStorageSOPInstanceUID" not in meta:
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID


# ---------------------------------------------------------------------------------------------- plain values
# Reading an element through pydicom converts it (dictionary lookups, value validation, a typed value) and replaces the
# raw element in the dataset, which the de-identifier and its writer then re-encode. The values the ingest reads are
# mostly short ASCII strings and numbers: for those, read as the file has them, the text is decoded here the way
# pydicom's converters would decode it (the same string, the same numbers) and the dataset is left as read. Anything
# else (implicit VR, a VR other than the element's usual one, non-ASCII bytes, several values, a number pydicom might
# read differently) answers None: the caller then asks pydicom, as before.
_PLAIN_VRS = frozenset({"AS", "CS", "DA", "DT", "TM", "UI"})  # strings decoded as ASCII, whatever the charset
_DS_ITEM = re.compile(r"[ ]*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[ ]*")
_IS_ITEM = re.compile(r"[ ]*[+-]?[0-9]+[ ]*")


def _tag(keyword_or_tag: str | int) -> int:
    return (tag_for_keyword(keyword_or_tag) or 0) if isinstance(keyword_or_tag, str) else keyword_or_tag


def _plain_bytes(ds: Dataset, tag: int, vrs: frozenset[str] | tuple[str, ...]) -> bytes | None:
    """The element's value bytes as read, stripped of padding, when it is a raw explicit-VR element of one of `vrs` in
    ASCII; b"" when it is absent; None when pydicom must read it."""
    elem = ds._dict.get(tag)
    if elem is None:
        return b""
    if type(elem) is not RawDataElement or elem.VR not in vrs:
        return None
    value = elem.value
    if type(value) is not bytes or not value.isascii():
        return None  # a deferred value (not read yet), or bytes a character set might decode otherwise
    return value.rstrip(b" \x00")


def plain_text(ds: Dataset, keyword_or_tag: str | int) -> str | None:
    """A single-valued ASCII string element (UI, CS, DA, TM, AS, DT) as pydicom's str() of it would read, without
    converting it in the dataset; "" when absent or empty; None when pydicom must read it (see above)."""
    tag = _tag(keyword_or_tag)
    value = _plain_bytes(ds, tag, _PLAIN_VRS)
    if value is None or b"\\" in value:
        return None
    text = value.decode("ascii")
    return text.strip() if text and ds._dict[tag].VR == "UI" else text  # pydicom's UID() strips whitespace on both sides


def plain_numbers(ds: Dataset, keyword_or_tag: str | int, *, integer: bool) -> list[float] | None:
    """The values of a DS (or, `integer`, IS) element as floats, as `float(str(v))` of pydicom's values would give,
    without converting it in the dataset; [] when absent; None when pydicom must read it (empty, or a value that is not
    a plain decimal or integer string)."""
    tag = _tag(keyword_or_tag)
    if tag not in ds._dict:
        return []
    value = _plain_bytes(ds, tag, ("IS",) if integer else ("DS",))
    if not value:
        return None
    pattern = _IS_ITEM if integer else _DS_ITEM
    items = value.decode("ascii").split("\\")
    if not all(pattern.fullmatch(item) for item in items):
        return None
    return [float(item) for item in items]


def plain_us(ds: Dataset, tag: int) -> int | None:
    """A single US value as read (explicit VR little endian), or None when pydicom must read it."""
    elem = ds._dict.get(tag)
    if type(elem) is not RawDataElement or elem.VR != "US" or not elem.is_little_endian or type(elem.value) is not bytes \
            or len(elem.value) != 2:
        return None
    return int(struct.unpack("<H", elem.value)[0])


# ---------------------------------------------------------------------------------------------- checking
def _text(ds: Dataset, keyword: str) -> str:
    plain = plain_text(ds, keyword)
    if plain is not None:
        return plain.strip(" \x00")
    value = ds.get(keyword)
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return str(value).strip(" \x00")


def _safe_code(value: str) -> str:
    """A CS value fit to quote in a reason (letters, digits, space, underscore; 16 at most)."""
    return value if _SAFE_CODE.match(value) else "an unrecognised value"


def _class_name(uid: str) -> str:
    name = UID_dictionary.get(uid, ("",))[0]
    if name:
        return name
    return uid if UID(uid).is_valid and len(uid) <= 64 else "an unknown SOP class"


def _int(ds: Dataset, keyword: str, default: int | None = None) -> int | None:
    tag = _tag(keyword)
    if tag not in ds._dict:
        return default
    us = plain_us(ds, tag)
    if us is not None:
        return us
    numbers = plain_numbers(ds, tag, integer=True)
    if numbers is not None and len(numbers) == 1 and numbers[0] == int(numbers[0]) and abs(numbers[0]) < 2 ** 53:
        return int(numbers[0])
    try:
        value = ds.get(keyword)
        return int(value) if value not in (None, "") else default
    except (TypeError, ValueError):
        return default


def _pixel_problem(ds: Dataset, ts: str) -> tuple[str, str] | None:
    present = [tag for tag in PIXEL_TAGS if tag in ds]
    if not present:
        return MISSING_PIXEL_DATA, "The image has no Pixel Data (7FE0,0010); the file may be truncated."
    elem = ds.get_item(present[0])
    value = elem.value
    if not isinstance(value, bytes):
        return None
    declared = getattr(elem, "length", None)
    if declared not in (None, 0xFFFFFFFF) and len(value) < declared:
        return TRUNCATED, "The pixel data is shorter than its declared length: the file is truncated."
    native = UID_dictionary.get(ts, ("", "", "", "", ""))[4] in (
        "ImplicitVRLittleEndian", "ExplicitVRLittleEndian", "ExplicitVRBigEndian", "DeflatedExplicitVRLittleEndian")
    if present[0] == 0x7FE00010 and native:
        rows, cols = _int(ds, "Rows", 0) or 0, _int(ds, "Columns", 0) or 0
        samples, bits = _int(ds, "SamplesPerPixel", 1) or 1, _int(ds, "BitsAllocated", 0) or 0
        frames = _int(ds, "NumberOfFrames", 1) or 1
        pixels = rows * cols * samples * frames
        expected = (pixels + 7) // 8 if bits == 1 else pixels * (bits // 8)
        if expected and len(value) < expected:
            return TRUNCATED, (f"The pixel data holds {len(value)} bytes but {rows} x {cols} x {frames} frame(s) "
                               f"need {expected}: the file is truncated.")
    return None


def _numbers(ds: Dataset, keyword: str) -> list[float] | None:
    """The element's values as numbers; [] when absent or empty, None when any value is not a finite number."""
    plain = plain_numbers(ds, keyword, integer=DicomDictionary.get(_tag(keyword), ("",))[0] == "IS")
    if plain is not None:
        return plain if all(math.isfinite(n) for n in plain) else None
    try:
        value = ds.get(keyword)
    except Exception:  # noqa: BLE001 - pydicom may refuse to convert a malformed value on access
        return None
    if value is None or value == "":
        return []
    values = list(value) if isinstance(value, MultiValue | list | tuple) else [value]
    try:
        numbers = [float(str(v).strip()) for v in values]
    except ValueError:
        return None
    return numbers if all(math.isfinite(n) for n in numbers) else None


def _value_problem(ds: Dataset) -> str | None:
    """Why the first malformed numeric attribute the ingest reads is refused (naming it, never quoting it); None when sound."""
    for keyword, tag, count, integer in NUMERIC_ATTRIBUTES:
        numbers = _numbers(ds, keyword)
        kind = f"{count} {'integer' if integer else 'decimal number'}{'s' if count > 1 else ''}"
        if numbers is None or (numbers and len(numbers) != count):
            return f"{keyword} {tag} must hold {kind}."
        if integer and any(n != int(n) or not IS_RANGE[0] <= n <= IS_RANGE[1] for n in numbers):
            return f"{keyword} {tag} must be an integer between {IS_RANGE[0]} and {IS_RANGE[1]}."
    for item in ds.get("RadiopharmaceuticalInformationSequence") or []:
        for keyword, tag in RADIOPHARMACEUTICAL_NUMBERS:
            numbers = _numbers(item, keyword)
            if numbers is None or len(numbers) > 1:
                return f"{keyword} {tag} must hold 1 decimal number."
    return None


def check(ds: Dataset, *, size_bytes: int, max_bytes: int) -> CheckResult:
    """Decide whether a parsed dataset may enter the platform (see the module docstring)."""
    with _quiet():
        return _check(ds, size_bytes=size_bytes, max_bytes=max_bytes)


def _check(ds: Dataset, *, size_bytes: int, max_bytes: int) -> CheckResult:
    if size_bytes > max_bytes:
        return _reject(TOO_LARGE, f"The file is {_size_text(size_bytes)}; the limit is {_size_text(max_bytes)}.")
    meta = getattr(ds, "file_meta", None)
    ts = ((plain if (plain := plain_text(meta, 0x00020010)) is not None else str(meta.get("TransferSyntaxUID", "") or ""))
          if meta is not None else "")
    uids = {kw: _text(ds, kw) for kw, _ in REQUIRED_UIDS}
    missing = [f"{kw} {tag}" for kw, tag in REQUIRED_UIDS if not uids[kw]]
    if missing:
        return _reject(MISSING_UID, f"Required UID missing: {', '.join(missing)}.", transfer_syntax_uid=ts)
    invalid = [f"{kw} {tag}" for kw, tag in REQUIRED_UIDS if not UID(uids[kw]).is_valid or len(uids[kw]) > 64]
    if invalid:
        return _reject(INVALID_UID, f"Not a valid UID (digits and dots, at most 64 characters): {', '.join(invalid)}.",
                       transfer_syntax_uid=ts)
    known = {"sop_class_uid": uids["SOPClassUID"], "sop_instance_uid": uids["SOPInstanceUID"],
             "study_uid": uids["StudyInstanceUID"], "series_uid": uids["SeriesInstanceUID"], "transfer_syntax_uid": ts}
    modality = _text(ds, "Modality").upper()
    sop_class = uids["SOPClassUID"]
    secondary_capture = sop_class in SECONDARY_CAPTURE_CLASSES
    accepted_as = modalities.of(modality).upload
    if secondary_capture:
        # A secondary capture is accepted (and quarantined) with a modality of the table's images, "other", or none.
        if modality and modality not in modalities.SECONDARY_CAPTURE_MODALITIES:
            return _reject(MODALITY_NOT_ALLOWED, f"{_safe_code(modality)} is not a nuclear-medicine modality; "
                           f"{modalities.ALLOWED_TEXT}.", modality=modality, **known)
    elif not modality:
        return _reject(MISSING_MODALITY, "Modality (0008,0060) is missing.", **known)
    elif accepted_as is modalities.Upload.DOSE_REPORT:
        if sop_class not in RADIATION_DOSE_SR_CLASSES:
            return _reject(MODALITY_NOT_ALLOWED, f"SR is accepted only as a radiation dose report (X-Ray, Enhanced "
                           f"X-Ray, Radiopharmaceutical or Patient Radiation Dose SR); this one is "
                           f"{_class_name(sop_class)}.", modality=modality, **known)
    elif accepted_as is not modalities.Upload.IMAGES:
        return _reject(MODALITY_NOT_ALLOWED, f"{_safe_code(modality)} is not a nuclear-medicine modality; {modalities.ALLOWED_TEXT}.",
                       modality=modality, **known)
    if accepted_as is not modalities.Upload.DOSE_REPORT:
        problem = _pixel_problem(ds, ts)
        if problem:
            return _reject(problem[0], problem[1], modality=modality, **known)
    elif not ds.get("ContentSequence"):
        return _reject(MISSING_CONTENT, "The dose report has no Content Sequence (0040,A730); the file may be truncated.",
                       modality=modality, **known)
    malformed = _value_problem(ds)
    if malformed:
        return _reject(INVALID_VALUE, f"Malformed value: {malformed}", modality=modality, **known)
    reasons: list[tuple[str, str]] = []
    if _text(ds, "BurnedInAnnotation").upper() == "YES":
        reasons.append((BURNED_IN_ANNOTATION, "Burned In Annotation is YES: the pixels may show patient text; "
                        "review before publishing."))
    if secondary_capture:
        reasons.append((SECONDARY_CAPTURE, f"{SECONDARY_CAPTURE_CLASSES[sop_class]}: a screen capture may carry "
                        "burned-in patient text; review before publishing."))
    quarantine = " ".join(r for _, r in reasons) or None
    return CheckResult(accepted=True, code="ok", reason=quarantine or "", modality=modality, quarantine=quarantine,
                       quarantine_code=reasons[0][0] if reasons else None, **known)


def inspect(path_or_file: Any, *, max_bytes: int,
            max_inflated_bytes: int = DEFAULT_MAX_INFLATED_BYTES) -> tuple[CheckResult, Dataset | None]:
    """Size limit (before reading), read, check. Returns (result, dataset or None when rejected)."""
    if isinstance(path_or_file, str | os.PathLike):
        size = os.path.getsize(path_or_file)
    elif isinstance(path_or_file, bytes | bytearray | memoryview):
        size = len(path_or_file)
    else:
        here = path_or_file.tell()
        size = path_or_file.seek(0, io.SEEK_END) - here
        path_or_file.seek(here)
    if size > max_bytes:
        return _reject(TOO_LARGE, f"The file is {_size_text(size)}; the limit is {_size_text(max_bytes)}."), None
    try:
        ds = read_dataset(path_or_file, max_inflated_bytes=max_inflated_bytes)
    except DicomRejected as exc:
        return _reject(exc.code, exc.reason), None
    result = check(ds, size_bytes=size, max_bytes=max_bytes)
    return result, (ds if result.accepted else None)


# ---------------------------------------------------------------------------------------------- patient
def _date(value: Any) -> date | None:
    text = str(value or "").strip()
    if not re.fullmatch(r"\d{8}", text):
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


def _positive(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 and number == number and number != float("inf") else None


def _positive_number(ds: Dataset, keyword: str) -> float | None:
    """A DS attribute as a positive finite number, or None; read as the file has it when it is one plain number."""
    plain = plain_numbers(ds, keyword, integer=False)
    return _positive(plain[0]) if plain is not None and len(plain) == 1 else _positive(_text(ds, keyword))


def patient_characteristics(ds: Dataset) -> dict[str, Any]:
    """What the header says about the patient; a missing or malformed value is None (never raises).

    sex: "M", "F" or "O"; birth_date: date; age: the Patient's Age string as in DICOM ("004Y", "018M");
    age_years: age as a float; weight_kg; size_m (Patient's Size is in metres; a value above 3 is taken
    as centimetres and converted, with size_assumed_cm True); study_date: the date the age refers to.
    """
    with _quiet():
        sex = _text(ds, "PatientSex").upper()
        age = _text(ds, "PatientAge").upper()
        match = _AGE.match(age)
        age_years = None
        if match:
            n, unit = int(match.group(1)), match.group(2)
            age_years = {"D": n / 365.25, "W": n * 7 / 365.25, "M": n / 12, "Y": float(n)}[unit]
        size = _positive_number(ds, "PatientSize")
        assumed_cm = size is not None and size > 3
        return {
            "sex": sex if sex in ("M", "F", "O") else None,
            "birth_date": _date(_text(ds, "PatientBirthDate")),
            "age": age if match else None,
            "age_years": age_years,
            "weight_kg": _positive_number(ds, "PatientWeight"),
            "size_m": (size / 100 if assumed_cm else size) if size is not None else None,
            "size_assumed_cm": assumed_cm,
            "study_date": _date(_text(ds, "StudyDate")) or _date(_text(ds, "SeriesDate")),
        }
