"""The WADO-RS metadata of a series from one storage read: each instance's DICOM JSON, kept per series.

Building a series' metadata means parsing every stored file (300 for a PET series), which is most of the time the
viewer waits for its first image. Instances are content-addressed and immutable, so an instance's DICOM JSON depends
on its SHA-256 alone, except for its BulkDataURIs (they name the request's base URL): those are kept relative
(``bulkdata/<path>``) and made absolute per request.

A series' headers live in one JSON blob beside the instances, through the storage API (filesystem or S3 alike):
``dicomweb/metadata/<series id>.json`` = ``{"v": VERSION, "headers": {sha256: DICOM JSON}, "bulk": [sha256 of the
headers with a BulkDataURI]}`` (only those are copied to make their URIs absolute; the others are served as loaded). A request reads the
blob once; an instance whose SHA-256 is not in it (new in the series, or the blob not written yet) is read from its
file, and the blob is written again with it. Nothing is ever stale: an entry is the header of exactly those bytes,
so a new instance in a series invalidates nothing but costs one file read, and a concurrent rewrite that loses an
entry costs a file read later. The pipeline run writes the blob at its end from the bytes the run already read.

Converting every header with pydicom cost a 300-slice PET series over a CPU-second, 40-60 times the numpy load of its
pixels, though the slices share almost every element: only a few (SOPInstanceUID, InstanceNumber, the position...)
differ from one to the next. So a series' files are walked as bytes (explicit VR little endian, the usual stored
file) and each distinct element, its tag, VR and value bytes under the file's character set, is converted once, by
pydicom as before, and its JSON text encoded once; a header is put together from its elements' conversions. The
answer is the one `header_of` gives for the whole dataset (the tests hold them equal, and the blob byte-equal); any
file the walk does not handle (another transfer syntax, a VR of UN, whose meaning depends on other elements) is read
whole by pydicom.
"""
from __future__ import annotations

import io
import json
import logging
import re
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pydicom
from pydicom.dataset import Dataset
from pydicom.filereader import read_dataset as read_elements

from imaging import storage
from imaging.models import Instance, Series
from imaging.volume import (
    _LONG_VRS,
    _SHORT_VRS,
    _TAG_VR_LEN,
    _U32,
    _UNDEFINED,
    _skip_sequence,
    _Unsupported,
    file_meta_syntax,
    open_bytes,
)

logger = logging.getLogger(__name__)

VERSION = 2
PREFIX = "dicomweb/metadata"
BULK_DATA_THRESHOLD = 1024  # bytes: binary values longer than this are sent as a BulkDataURI, not inline
RELATIVE = "bulkdata/"
SEPARATORS = (",", ":")  # the blob's JSON, compact

Header = dict[str, Any]


def blob_key(series_id: int) -> str:
    return f"{PREFIX}/{series_id}.json"


def _paths(ds: Dataset, prefix: str = "") -> dict[int, str]:
    """Every element's bulk data path (`TAG` or `TAG/item/TAG`) by the element's identity. Iterating converts the
    raw elements in place, so the later to_json_dict sees these same objects."""
    found: dict[int, str] = {}
    for element in ds:
        path = f"{prefix}{element.tag:08X}"
        if element.VR == "SQ":
            for index, item in enumerate(element.value):
                found.update(_paths(item, f"{path}/{index}/"))
        else:
            found[id(element)] = path
    return found


def header_of(ds: Dataset) -> Header:
    """One instance's headers (read without pixel data) as DICOM JSON, its BulkDataURIs relative (bulkdata/<path>)."""
    paths = _paths(ds)
    return ds.to_json_dict(bulk_data_threshold=BULK_DATA_THRESHOLD,
                           bulk_data_element_handler=lambda element: f"{RELATIVE}{paths[id(element)]}")


def with_base(header: Header, url: str) -> Header:
    """The header with its BulkDataURIs made absolute under the instance's URL (a copy where they are; the cached
    header is not changed)."""
    out: Header = {}
    for tag, element in header.items():
        if "BulkDataURI" in element:
            element = {**element, "BulkDataURI": f"{url}/{element['BulkDataURI']}"}
        elif element.get("vr") == "SQ" and element.get("Value"):
            element = {**element, "Value": [with_base(item, url) for item in element["Value"]]}
        out[tag] = element
    return out


class Found(dict[str, Header]):
    """Headers by SHA-256, and which of them hold a BulkDataURI (`bulk`)."""

    def __init__(self) -> None:
        super().__init__()
        self.bulk: set[str] = set()


def _has_bulk(header: Header) -> bool:
    return any("BulkDataURI" in element or (element.get("vr") == "SQ" and any(_has_bulk(i) for i in element.get("Value", [])))
               for element in header.values())


# Transfer syntaxes whose data set pydicom does not read as explicit VR little endian (it reads every other one so).
_NOT_EXPLICIT_LE = {pydicom.uid.ImplicitVRLittleEndian, pydicom.uid.ExplicitVRBigEndian,
                    pydicom.uid.DeflatedExplicitVRLittleEndian, *pydicom.uid.PrivateTransferSyntaxes}
_STOP = {0x7FE00008, 0x7FE00009, 0x7FE00010}  # where pydicom's stop_before_pixels stops: (float) pixel data
_CHARSET = 0x00080005
_UN = b"UN"


def _elements(data: bytes) -> tuple[bytes, dict[int, bytes]] | None:
    """(the Specific Character Set element, every top-level element before the pixel data) of a stored file, each
    element as its bytes (tag, VR, length, value), by tag as pydicom keeps them (a repeated tag: the last). None when
    the file is not one the walk handles, and pydicom reads it."""
    meta = file_meta_syntax(data)
    if meta is None or meta[0] not in pydicom.uid.AllTransferSyntaxes or meta[0] in _NOT_EXPLICIT_LE:
        return None
    pos, end = meta[1], len(data)
    found: dict[int, bytes] = {}
    unpack, u32 = _TAG_VR_LEN.unpack_from, _U32.unpack_from  # the loop below runs ~75 times per slice: kept inline
    while pos < end:
        group, elem, vr, length = unpack(data, pos)
        if vr in _LONG_VRS:
            value, length = pos + 12, u32(data, pos + 8)[0]
        elif vr in _SHORT_VRS:
            value = pos + 8
        else:  # not explicit VR after all
            return None
        tag = (group << 16) | elem
        if tag in _STOP:
            break
        if group in (0x0000, 0xFFFE) or vr == _UN:  # a command set, an item out of place, or a VR read by context
            return None
        if length == _UNDEFINED:
            if vr != b"SQ":
                return None
            stop = _skip_sequence(data, value)
        else:
            stop = value + length
        if stop > end:
            return None
        raw = data[pos:stop]
        if vr == b"SQ" and _UN + b"\x00\x00" in raw:  # an item's UN element (or bytes like one): pydicom reads the file
            return None
        found[tag] = raw
        pos = stop
    return found.get(_CHARSET, b""), found


# Plain encodings of the values that differ from slice to slice (the SOP instance UID, the instance number, the
# position, the slice location, the rescale slope): a UID's digits, an integer, a decimal, each value padded with spaces
# at most, converted as pydicom converts them (IS is int(text), DS float(text)). Anything else goes to pydicom.
_PLAIN: dict[bytes, tuple[re.Pattern[bytes], Callable[[bytes], Any]]] = {
    b"UI": (re.compile(rb"[0-9.]+"), lambda part: part.decode("ascii")),
    b"IS": (re.compile(rb" *[-+]?[0-9]{1,9} *"), int),
    b"DS": (re.compile(rb" *[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)? *"), float),
}


def _plain(vr: bytes, value: bytes) -> list[Any] | None:
    """The JSON "Value" of a plainly encoded UI, IS, DS or US value; None when it is not one (empty, an odd length,
    padding other than trailing spaces and NULs, ...), and pydicom converts it."""
    if vr == b"US":
        return list(struct.unpack(f"<{len(value) // 2}H", value)) if value and len(value) % 2 == 0 else None
    plain = _PLAIN.get(vr)
    if plain is None:
        return None
    pattern, number = plain
    parts = value.rstrip(b" \x00").split(b"\\")
    if not all(pattern.fullmatch(part) for part in parts):
        return None
    return [number(part) for part in parts]


@dataclass(frozen=True)
class _Converted:
    """An element's (or a header's) DICOM JSON, its JSON text as the blob holds it, and whether a BulkDataURI is in it."""
    value: Any
    text: str
    bulk: bool


class _Converter:
    """Headers of stored instances, each distinct element converted once (see the module's docstring). Within one
    call of `headers`: the headers it returns share the JSON of their common elements (they are not to be changed)."""

    def __init__(self) -> None:
        self._memo: dict[bytes, dict[bytes, tuple[str, _Converted]]] = {}  # by character set, then element bytes

    def header(self, data: bytes) -> _Converted:
        """One stored file's header (its bytes)."""
        try:
            walked = _elements(data)
        except (_Unsupported, struct.error):
            walked = None
        if walked is None:
            header = header_of(pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True))
            return _Converted(header, json.dumps(header, separators=SEPARATORS), _has_bulk(header))
        charset, found = walked
        memo = self._memo.setdefault(charset, {})
        missing = {tag: raw for tag, raw in found.items() if raw not in memo}
        if missing:
            self._convert(charset, missing, memo)
        values: Header = {}
        texts: list[str] = []
        bulk = False
        for raw in found.values():  # ~75 elements per file, all but a few met in the files before
            key, element = memo[raw]
            values[key] = element.value
            texts.append(element.text)
            bulk = bulk or element.bulk
        return _Converted(values, "{" + ",".join(texts) + "}", bulk)

    @staticmethod
    def _convert(charset: bytes, missing: dict[int, bytes], memo: dict[bytes, tuple[str, _Converted]]) -> None:
        """Convert the elements not met before: plain values directly, the others with pydicom, read as one data set
        with the file's character set (the only other element a value's conversion depends on, once UN is ruled out)."""
        rest: dict[int, bytes] = {}
        for tag, raw in missing.items():
            value = _plain(raw[4:6], raw[8:]) if len(raw) >= 8 else None
            if value is None:
                rest[tag] = raw
                continue
            key, vr = f"{tag:08X}", raw[4:6].decode()
            # json.dumps' text for these values: UIDs need no escaping, numbers are their repr
            listed = ",".join(f'"{v}"' if isinstance(v, str) else repr(v) for v in value)
            memo[raw] = (key, _Converted({"vr": vr, "Value": value}, f'"{key}":{{"vr":"{vr}","Value":[{listed}]}}', False))
        if not rest:
            return
        context = [charset] if charset and _CHARSET not in missing else []
        ds = read_elements(io.BytesIO(b"".join([*context, *rest.values()])), is_implicit_VR=False, is_little_endian=True)
        converted = header_of(ds)
        for tag, raw in rest.items():
            key = f"{tag:08X}"
            value = converted[key]
            memo[raw] = (key, _Converted(value, f'"{key}":{json.dumps(value, separators=SEPARATORS)}',
                                         _has_bulk({key: value})))


def _load(series_id: int) -> tuple[dict[str, Header], set[str]]:
    data = storage.read_if_present(blob_key(series_id))
    if data is None:
        return {}, set()
    try:
        blob = json.loads(data)
    except ValueError:  # a damaged blob is rebuilt, never served
        logger.warning("metadata cache of series %s is unreadable; rebuilding it", series_id)
        return {}, set()
    if not isinstance(blob, dict) or blob.get("v") != VERSION or not isinstance(blob.get("headers"), dict):
        return {}, set()
    return blob["headers"], set(blob.get("bulk", []))


def _save(series_id: int, headers: dict[str, Header], texts: dict[str, str], bulk: set[str]) -> None:
    """The blob, as json.dumps(separators=SEPARATORS) writes it; the headers converted now are joined from their
    elements' texts (`texts`), the others encoded again."""
    body = ",".join(f"{json.dumps(sha)}:{texts[sha] if sha in texts else json.dumps(header, separators=SEPARATORS)}"
                    for sha, header in headers.items())
    text = f'{{"v":{VERSION},"headers":{{{body}}},"bulk":{json.dumps(sorted(bulk), separators=SEPARATORS)}}}'
    storage.overwrite(blob_key(series_id), text.encode())


def headers(instances: Iterable[Instance]) -> Found:
    """The DICOM JSON of each instance by its SHA-256 (BulkDataURIs relative): one blob read per series, plus one
    file read per instance not cached yet (after which the series' blob is written again)."""
    by_series: dict[int, list[Instance]] = {}
    for inst in instances:
        by_series.setdefault(inst.series_id, []).append(inst)
    out = Found()
    converter = _Converter()
    for series_id, members in by_series.items():
        cached, bulk = _load(series_id)
        missing = {inst.sha256: inst for inst in members if inst.sha256 not in cached}
        texts: dict[str, str] = {}
        for sha, inst in missing.items():
            converted = converter.header(open_bytes(inst.storage_key))
            cached[sha], texts[sha] = converted.value, converted.text
            if converted.bulk:
                bulk.add(sha)
        if missing:
            _save(series_id, cached, texts, bulk)
        out.update({inst.sha256: cached[inst.sha256] for inst in members})
        out.bulk |= bulk
    return out


def warm(series: Series) -> None:
    """Write the series' blob (the pipeline's last act: the run has the files' bytes already). Never fails the run."""
    from imaging.volume import published_instances

    try:
        headers(published_instances(series))
    except Exception:  # the cache is an optimisation: a request builds what is missing
        logger.exception("metadata cache of series %s was not written", series.pk)
