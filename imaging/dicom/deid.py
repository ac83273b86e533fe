"""De-identification of one DICOM dataset, in place (PS3.15 Annex E).

Profile: the Basic Application Level Confidentiality Profile with the options Retain Longitudinal
Temporal Information with Full Dates, Retain Patient Characteristics and Retain Device Identity
(profile.py holds the attribute table and how its compound actions resolve). On top of the table:

- Patient's Name, Patient ID (and Clinical Trial Subject ID, a "D" row) become the platform's study id.
- Every instance UID is replaced by ``remap_uid``: 2.25.<128-bit integer from HMAC-SHA256(uid_key, UID)>,
  so the same original UID always maps to the same new UID (re-uploads and cross-references such as
  Referenced SOP Instance UID, Frame of Reference UID and the UIDREF items of an SR stay consistent).
  UIDs with a U row are replaced, and so is any other UI attribute except the "class-like" ones (SOP
  Class, Transfer Syntax, coding scheme, context group, implementation class UIDs). A value that is a
  well-known UID (in pydicom's UID dictionary, or under the DICOM root 1.2.840.10008.) is never replaced.
- Private attributes are removed except profile.PRIVATE_KEEP (Philips SUV and activity scale factors,
  GE scan DateTime) together with their Private Creator; the whole repeating groups 50xx (curves) and
  60xx (overlays) are removed, as are the icon image sequence (a table row) and group lengths.
- Safety nets beyond the table: a person-name (PN) attribute that has no row is emptied; a text
  attribute that is kept (LO, SH, ST, LT, UT, UC) but contains the original patient name, one of its
  components or the original patient ID (3 characters or more, case-insensitive) is emptied.
- Patient Identity Removed = YES; De-identification Method and its Code Sequence (CID 7050: 113100,
  113106, 113108, 113109) replace whatever a previous de-identifier wrote; Longitudinal Temporal
  Information Modified becomes UNMODIFIED unless the file already says MODIFIED or REMOVED (dates
  shifted by an earlier de-identifier stay declared as such).
- The File Meta Information is rebuilt (PS3.15 E.1.1 item 7): SOP class and instance (the new UID),
  transfer syntax, and this application's implementation class/version; source/sending AE titles and
  private meta information go. The preamble is zeroed.

Deviation from the pure Basic Profile, on purpose: Content Sequence (D) and Verifying Observer
Sequence (D) are cleaned item by item (the table applied inside) instead of being replaced, because a
radiation dose SR is useless without its content tree. Free text inside (TEXT items) is kept unless it
contains the patient's name or ID (safety net above); the Clean Structured Content option is not claimed.

Performance: one pass over the tags of each dataset level, decisions by a precomputed tag -> operation
dict; elements that are kept stay as pydicom raw elements (never decoded), values written here are put
in already encoded, and ``to_bytes(ds)`` writes the file (the same bytes as pydicom's
``save_as(..., enforce_file_format=True)``, about twice as fast) copying unchanged elements as read.
"""
from __future__ import annotations

import copy
import hashlib
import hmac
import io
import re
import struct
import zlib
from dataclasses import dataclass, field
from functools import lru_cache

from pydicom.datadict import DicomDictionary
from pydicom.dataelem import DataElement, RawDataElement, empty_value_for_VR
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element, write_dataset, write_file_meta_info
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian, UID_dictionary

from imaging.dicom import profile

__all__ = ["DeidReport", "deidentify", "remap_uid", "to_bytes", "IMPLEMENTATION_VERSION_NAME"]

IMPLEMENTATION_VERSION_NAME = f"NBNM_DEID_{profile.PROFILE_VERSION}"[:16]
MIN_KEY_BYTES = 16
_STUDY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$")
_MAX_DEPTH = 64

# Operations (small ints: compared on every element).
_KEEP, _REMOVE, _EMPTY, _DUMMY, _UID, _RECURSE, _STUDY, _TEXT = range(8)

_TEXT_VRS = frozenset({"LO", "SH", "ST", "LT", "UT", "UC"})
_DUMMY_BY_VR: dict[str, object] = {
    "PN": "ANONYMIZED", "LO": "ANONYMIZED", "SH": "ANONYMIZED", "ST": "ANONYMIZED", "LT": "ANONYMIZED",
    "UT": "ANONYMIZED", "UC": "ANONYMIZED", "CS": "ANONYMIZED", "AE": "ANONYMIZED", "UR": "",
    "DA": "19000101", "TM": "000000", "DT": "19000101000000", "AS": "000D",
    "IS": "0", "DS": "0", "US": 0, "SS": 0, "UL": 0, "SL": 0, "UV": 0, "SV": 0, "FL": 0.0, "FD": 0.0,
    "OB": b"\x00\x00", "OW": b"\x00\x00", "OD": b"", "OF": b"", "OL": b"", "OV": b"", "UN": b"",
}
# UI attributes that name classes, syntaxes, coding schemes, context groups or implementations rather
# than instances: never replaced, whatever their value.
_CLASS_LIKE_UID_KEYWORDS = frozenset({
    "ImplementationClassUID", "SOPClassesInStudy", "SOPClassesSupported", "PertinentSOPClassesInStudy",
    "PertinentSOPClassesInSeries", "CodingSchemeUID", "ContextGroupExtensionCreatorUID", "ContextUID",
    "MappingResourceUID", "PrivateInformationCreatorUID", "CreatorVersionUID", "ManufacturerDeviceClassUID",
})
_STUDY_ID_TAGS = frozenset({0x00100010, 0x00100020, 0x00120040})  # Patient's Name, Patient ID, Clinical Trial Subject ID
_SEQUENCE_DUMMY_OPS = {True: _RECURSE, False: _EMPTY}


def _class_like(keyword: str) -> bool:
    return (keyword.endswith(("ClassUID", "ClassUIDInFile", "SyntaxUID", "SyntaxUIDInFile"))
            or keyword in _CLASS_LIKE_UID_KEYWORDS)


def _op_for_vr(vr: str | None, keyword: str = "") -> int:
    if vr == "UI":
        return _KEEP if _class_like(keyword) else _UID
    if vr == "SQ":
        return _RECURSE
    if vr == "PN":
        return _EMPTY
    if vr in _TEXT_VRS:
        return _TEXT
    return _KEEP


def _build_ops(options: profile.Options) -> dict[int, int]:
    ops: dict[int, int] = {}
    for tag, entry in DicomDictionary.items():
        op = _op_for_vr(entry[0], entry[4])
        if op != _KEEP:
            ops[tag] = op
    for tag, action in profile.actions(options).items():
        vr = DicomDictionary[tag][0] if tag in DicomDictionary else ""
        if action == profile.REMOVE:
            ops[tag] = _REMOVE
        elif action == profile.EMPTY:
            ops[tag] = _EMPTY
        elif action == profile.DUMMY:
            ops[tag] = _SEQUENCE_DUMMY_OPS[tag in profile.CLEAN_INSIDE_SEQUENCES] if vr == "SQ" else (_UID if vr == "UI" else _DUMMY)
        elif action == profile.NEW_UID:
            ops[tag] = _UID
        elif action == profile.KEEP_SEQUENCE_NEW_UIDS:
            ops[tag] = _RECURSE
        elif action == profile.KEEP:
            ops[tag] = _RECURSE if vr == "SQ" else (_TEXT if vr in _TEXT_VRS else _KEEP)
        else:  # pragma: no cover - profile.resolve only returns the actions above
            raise ValueError(f"unhandled action {action!r}")
    for tag in _STUDY_ID_TAGS:
        ops[tag] = _STUDY
    return ops


_OPS = _build_ops(profile.DEFAULT_OPTIONS)
_KEEP_RULES: dict[int, list[profile.PrivateKeep]] = {}
for _rule in profile.PRIVATE_KEEP:
    _KEEP_RULES.setdefault(_rule.group, []).append(_rule)


def remap_uid(uid: str, key: bytes) -> str:
    """The platform's replacement for an instance UID: 2.25.<first 128 bits of HMAC-SHA256(key, uid)>.

    Deterministic (same key and UID -> same result), at most 44 characters, valid UID syntax. Call this
    (never a re-implementation) to predict the new UID of an original one.
    """
    digest = hmac.new(key, uid.encode("ascii", "replace"), hashlib.sha256).hexdigest()
    return f"2.25.{int(digest[:32], 16)}"


def _well_known(uid: str) -> bool:
    return uid in UID_dictionary or uid.startswith("1.2.840.10008.")


@dataclass(frozen=True)
class DeidReport:
    """What de-identification did to one dataset. Carries no identifier except the three UID pairs."""

    profile_version: str
    standard_edition: str
    removed: int
    replaced: int  # emptied + dummy values + study id + scrubbed
    emptied: int
    dummy_values: int
    scrubbed: int  # kept text attributes emptied because they contained the patient's name or ID
    uids_remapped: int
    uids_well_known: int  # UI values left alone because they are standard UIDs
    private_removed: int
    private_kept: int
    study_uid: tuple[str, str] | None  # (original, new)
    series_uid: tuple[str, str] | None
    sop_instance_uid: tuple[str, str] | None

    @property
    def uid_map(self) -> dict[str, str]:
        """original -> new for StudyInstanceUID, SeriesInstanceUID and SOPInstanceUID."""
        return dict(p for p in (self.study_uid, self.series_uid, self.sop_instance_uid) if p)


@dataclass
class _Context:
    key: bytes
    study_id: str
    needles: tuple[bytes, ...]
    ops: dict[int, int]
    uid_cache: dict[str, str] = field(default_factory=dict)
    needle_re: re.Pattern[bytes] | None = None
    removed: int = 0
    emptied: int = 0
    dummy: int = 0
    study: int = 0
    scrubbed: int = 0
    uids_remapped: int = 0
    uids_well_known: int = 0
    private_removed: int = 0
    private_kept: int = 0

    def new_uid(self, value: str) -> str:
        uid = value.strip(" \x00")
        if not uid:
            return uid
        if _well_known(uid):
            self.uids_well_known += 1
            return uid
        new = self.uid_cache.get(uid)
        if new is None:
            new = self.uid_cache[uid] = remap_uid(uid, self.key)
        self.uids_remapped += 1
        return new


def _as_text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return "" if value is None else str(value)


def _needles(ds: Dataset) -> tuple[bytes, ...]:
    """Lower-cased byte strings of the original patient name, its components and the patient ID."""
    words: set[str] = set()
    for tag, keyword in ((0x00100010, "PatientName"), (0x00100020, "PatientID"), (0x00101000, "OtherPatientIDs"),
                         (0x00101005, "PatientBirthName")):
        elem = ds.get_item(tag) if tag in ds else None
        if elem is None:
            continue
        text = _as_text(elem.value).strip(" \x00")
        for value in text.split("\\"):
            value = value.strip()
            words.add(value)
            if keyword in ("PatientName", "PatientBirthName"):
                for group in value.split("="):
                    words.update(part.strip() for part in group.split("^"))
    out: set[bytes] = set()
    for word in words:
        if len(word) >= 3:
            low = word.lower()
            out.add(low.encode("utf-8", "ignore"))
            out.add(low.encode("latin-1", "ignore"))
    out.discard(b"")
    return tuple(sorted(out))


def _creator(value: object) -> str:
    return _as_text(value).strip(" \x00").lower()


def _kept_private_tags(ds: Dataset, elements: list[tuple[int, DataElement | RawDataElement]]) -> set[int]:
    present = {tag for tag, _ in elements}
    kept: set[int] = set()
    for tag, elem in elements:
        group, element = tag >> 16, tag & 0xFFFF
        rules = _KEEP_RULES.get(group)
        if not rules or not 0x10 <= element <= 0xFF:
            continue
        name = _creator(elem.value)
        for rule in rules:
            if rule.creator.lower() == name:
                data_tag = (group << 16) | (element << 8) | rule.element
                if data_tag in present:
                    kept.update((tag, data_tag))
    return kept


# Values this module writes are put in as raw (already encoded) elements when the dataset level was
# read from a little-endian file: pydicom then neither validates nor re-encodes them, and writes them
# as they are. Everything written is ASCII, so any Specific Character Set reads it back unchanged.
def _encoding(ds: Dataset) -> tuple[bool, bool] | None:
    implicit, little = ds.original_encoding
    return (implicit, little) if implicit is not None and little else None


def _pad(value: bytes, vr: str) -> bytes:
    return value + (b"\x00" if vr == "UI" else b" ") if len(value) % 2 else value


def _put(ds: Dataset, tag: int, vr: str, value: str | list[str]) -> None:
    """Set an element to an ASCII string value (or several: list), as a raw element when possible."""
    encoding = _encoding(ds)
    if encoding is None:
        ds[tag] = DataElement(tag, vr, value)
        return
    text = value if isinstance(value, str) else "\\".join(value)
    data = _pad(text.encode("ascii"), vr)
    ds[tag] = RawDataElement(BaseTag(tag), vr, len(data), data, 0, encoding[0], True, True, False)


def _vr_of(ds: Dataset, tag: int, elem: DataElement | RawDataElement) -> str:
    vr = elem.VR
    if vr and len(vr) == 2:
        return vr
    return ds[tag].VR  # implicit VR file: let pydicom resolve it (dictionary, ambiguous-VR rules)


def _set_empty(ds: Dataset, tag: int, elem: DataElement | RawDataElement) -> None:
    vr = _vr_of(ds, tag, elem)
    encoding = _encoding(ds)
    if encoding is None:
        ds[tag] = DataElement(tag, vr, empty_value_for_VR(vr))
    else:
        ds[tag] = RawDataElement(BaseTag(tag), vr, 0, b"", 0, encoding[0], True, True, False)


def _remap_element(ds: Dataset, tag: int, elem: DataElement | RawDataElement, ctx: _Context) -> None:
    value = elem.value
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace").strip(" \x00").split("\\")
    if value is None:
        return
    if isinstance(value, str):
        value = [value]
    new = [ctx.new_uid(str(v)) for v in value]
    _put(ds, tag, "UI", new[0] if len(new) == 1 else new)


def _elements(ds: Dataset) -> list[tuple[int, DataElement | RawDataElement]]:
    """(tag as int, element as stored: raw or converted) for one dataset level, in stored order.

    Reads pydicom's ``Dataset._dict`` directly: one pass with no per-tag lookups (a lookup by
    pydicom's BaseTag costs a Python-level __eq__). A deferred raw element (value not read) is read.
    """
    out = []
    for tag, elem in list(ds._dict.items()):
        if isinstance(elem, RawDataElement) and elem.value is None and elem.length:
            elem = ds[tag]
        out.append((int(tag), elem))
    return out


def _clean(ds: Dataset, ctx: _Context, depth: int) -> None:
    elements = _elements(ds)
    kept_private: set[int] | None = None
    ops = ctx.ops
    for tag, elem in elements:
        group = tag >> 16
        if group & 1:
            if kept_private is None:
                kept_private = _kept_private_tags(ds, elements)
            if tag in kept_private:
                ctx.private_kept += 1
            else:
                del ds[tag]
                ctx.private_removed += 1
            continue
        if not tag & 0xFFFF or (group >> 8) in (0x50, 0x60):  # group length, curves, overlays
            del ds[tag]
            ctx.removed += 1
            continue
        op = ops.get(tag)
        if op is None:
            if tag in DicomDictionary:
                continue
            vr = elem.VR  # not in the dictionary: decide by the VR in the file
            op = _REMOVE if vr in (None, "UN") else _op_for_vr(vr)
        if op == _KEEP:
            continue
        if op == _TEXT:
            if ctx.needle_re is not None:
                value = elem.value
                hay = value if isinstance(value, bytes) else _as_text(value).encode("utf-8", "ignore")
                if ctx.needle_re.search(hay):
                    _set_empty(ds, tag, elem)
                    ctx.scrubbed += 1
        elif op == _REMOVE:
            del ds[tag]
            ctx.removed += 1
        elif op == _UID:
            _remap_element(ds, tag, elem, ctx)
        elif op == _RECURSE:
            if isinstance(elem, RawDataElement) and _kept_as_read(elem, ctx, depth):
                continue  # nothing inside to change: stays raw, copied as read by to_bytes (the same bytes)
            seq = ds[tag]
            if seq.VR != "SQ" or depth >= _MAX_DEPTH:
                del ds[tag]  # a sequence we cannot look into is not kept
                ctx.removed += 1
                continue
            for item in seq.value:
                _clean(item, ctx, depth + 1)
        elif op == _EMPTY:
            _set_empty(ds, tag, elem)
            ctx.emptied += 1
        elif op == _STUDY:
            _put(ds, tag, DicomDictionary[tag][0], ctx.study_id)
            ctx.study += 1
        elif op == _DUMMY:
            converted = ds[tag]
            converted.value = _DUMMY_BY_VR.get(converted.VR, empty_value_for_VR(converted.VR))
            ctx.dummy += 1


# A sequence read raw (explicit VR little endian, defined length) whose items hold nothing to change is left raw:
# parsing it into pydicom datasets, walking them and re-encoding them cost about half of the de-identification of a
# PET slice (its code sequences: docs/performance.md, "Filing, sixth pass"). _walk_items reads the items' elements
# from the bytes and decides each as _clean would; at the first element _clean would change, or anything it does not
# follow exactly (a private or group length tag, an odd header, tags out of order, a length that does not add up), the
# sequence goes through pydicom and _clean as before. Left raw only when re-encoding it would give its bytes as read.
_ITEM_TAG, _ITEM_END_TAG, _SEQUENCE_END_TAG = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_UNDEFINED = 0xFFFFFFFF
_HEAD = struct.Struct("<HHI")
_EXPLICIT = struct.Struct("<HH2sH")


def _kept_as_read(elem: RawDataElement, ctx: _Context, depth: int) -> bool:
    value = elem.value
    if elem.VR != "SQ" or elem.is_implicit_VR or not elem.is_little_endian or elem.is_buffered \
            or not isinstance(value, bytes) or elem.length == _UNDEFINED or depth >= _MAX_DEPTH:
        return False
    try:
        return _walk_items(value, 0, len(value), ctx, depth + 1) == len(value)
    except struct.error:  # a header cut short
        return False


def _walk_items(data: bytes, at: int, end: int | None, ctx: _Context, depth: int) -> int | None:
    """The offset after a sequence's items from `at` (to `end`, or to its delimiter when None), if nothing in them would
    change; None otherwise."""
    while end is None or at < end:
        group, element, length = _HEAD.unpack_from(data, at)
        tag = group << 16 | element
        at += 8
        if tag == _SEQUENCE_END_TAG:
            return at if end is None and length == 0 else None
        if tag != _ITEM_TAG:
            return None
        if length == _UNDEFINED:
            after = _walk_elements(data, at, None, ctx, depth)
        else:
            after = _walk_elements(data, at, at + length, ctx, depth)
            if after != at + length:
                return None
        if after is None:
            return None
        at = after
    return at if at == end else None


def _walk_elements(data: bytes, at: int, end: int | None, ctx: _Context, depth: int) -> int | None:
    """The offset after an item's elements from `at` (to `end`, or past its delimiter when None), if _clean would change
    none of them; None otherwise."""
    previous = -1
    ops = ctx.ops
    while end is None or at < end:
        group, element, vr_bytes, short = _EXPLICIT.unpack_from(data, at)
        tag = group << 16 | element
        if tag == _ITEM_END_TAG:
            return at + 8 if end is None and vr_bytes == b"\0\0" and short == 0 else None
        if tag <= previous or group & 1 or not element or group == 0xFFFE or (group >> 8) in (0x50, 0x60):
            return None  # out of order, private, group length, delimiter where none belongs, curve or overlay
        previous = tag
        vr = vr_bytes.decode("ascii", "replace")
        if vr in _LONG_LENGTH_VRS:
            if short:
                return None  # reserved bytes not zero: re-encoding would write zeros
            (length,) = struct.unpack_from("<I", data, at + 8)
            at += 12
        else:
            length = short
            at += 8
        op = ops.get(tag)
        if op is None:
            op = _KEEP if tag in DicomDictionary else (_REMOVE if vr == "UN" else _op_for_vr(vr))
        if vr == "SQ":
            if op != _RECURSE or depth >= _MAX_DEPTH:
                return None
            if length == _UNDEFINED:
                after = _walk_items(data, at, None, ctx, depth + 1)
            else:
                after = _walk_items(data, at, at + length, ctx, depth + 1)
            if after is None:
                return None
            at = after
            continue
        if length == _UNDEFINED or op not in (_KEEP, _TEXT):
            return None
        if op == _TEXT and ctx.needle_re is not None and ctx.needle_re.search(data, at, at + length):
            return None
        at += length
    return at if at == end else None


_INDEX_UIDS = (("StudyInstanceUID", 0x0020000D), ("SeriesInstanceUID", 0x0020000E), ("SOPInstanceUID", 0x00080018))


def _uid_pair(original: str, ds: Dataset, keyword: str) -> tuple[str, str] | None:
    new = _text_of(ds, dict(_INDEX_UIDS)[keyword])
    return (original, new) if original and new else None


def _transfer_syntax(ds: Dataset) -> str | None:
    meta = getattr(ds, "file_meta", None)
    ts = meta.get("TransferSyntaxUID") if meta is not None else None
    if ts:
        return str(ts)
    encoding = getattr(ds, "original_encoding", None)
    if encoding and encoding[1]:
        return ImplicitVRLittleEndian if encoding[0] else ExplicitVRLittleEndian
    return None


def _rebuild_file_meta(ds: Dataset) -> None:
    """New File Meta Information: no trace of the sending application (PS3.15 E.1.1 item 7)."""
    ts = _transfer_syntax(ds)
    values = [(0x00020002, "UI", _text_of(ds, 0x00080016)), (0x00020003, "UI", _text_of(ds, 0x00080018)),
              (0x00020010, "UI", ts or ""), (0x00020012, "UI", PYDICOM_IMPLEMENTATION_UID),
              (0x00020013, "SH", IMPLEMENTATION_VERSION_NAME)]
    meta = FileMetaDataset()
    meta[0x00020001] = RawDataElement(BaseTag(0x00020001), "OB", 2, b"\x00\x01", 0, False, True, True, False)
    for tag, vr, text in values:
        if text:
            data = _pad(text.encode("ascii"), vr)
            meta[tag] = RawDataElement(BaseTag(tag), vr, len(data), data, 0, False, True, True, False)
    ds.file_meta = meta
    ds.preamble = b"\x00" * 128


def _encode_elements(elements: list[tuple[int, str, str]], implicit: bool) -> bytes:
    out = bytearray()
    for tag, vr, text in elements:
        data = _pad(text.encode("ascii"), vr)
        out += struct.pack("<HH", tag >> 16, tag & 0xFFFF)
        out += struct.pack("<I", len(data)) if implicit else vr.encode() + struct.pack("<H", len(data))
        out += data
    return bytes(out)


@lru_cache(maxsize=16)
def _code_sequence_bytes(codes: tuple[tuple[str, str], ...], implicit: bool) -> bytes:
    """De-identification Method Code Sequence, encoded once (items of defined length)."""
    out = bytearray()
    for value, meaning in codes:
        item = _encode_elements([(0x00080100, "SH", value), (0x00080102, "SH", "DCM"), (0x00080104, "LO", meaning)], implicit)
        out += struct.pack("<HHI", 0xFFFE, 0xE000, len(item)) + item
    return bytes(out)


def _mark(ds: Dataset, ctx: _Context, options: profile.Options) -> None:
    for tag, vr in ((0x00100010, "PN"), (0x00100020, "LO")):
        if tag not in ds:
            _put(ds, tag, vr, ctx.study_id)
    _put(ds, 0x00120062, "CS", "YES")
    _put(ds, 0x00120063, "LO", options.method())
    codes = tuple(options.codes())
    encoding = _encoding(ds)
    if encoding is None:
        items = []
        for value, meaning in codes:
            item = Dataset()
            item.CodeValue = value
            item.CodingSchemeDesignator = "DCM"
            item.CodeMeaning = meaning
            items.append(item)
        ds.DeidentificationMethodCodeSequence = Sequence(items)
    else:
        data = _code_sequence_bytes(codes, encoding[0])
        ds[0x00120064] = RawDataElement(BaseTag(0x00120064), "SQ", len(data), data, 0, encoding[0], True, True, False)
    if options.retain_full_dates:
        state = _text_of(ds, 0x00280303).upper()
        if state not in ("MODIFIED", "REMOVED"):
            state = "UNMODIFIED"
        _put(ds, 0x00280303, "CS", state)


def _text_of(ds: Dataset, tag: int) -> str:
    elem = ds.get_item(tag) if tag in ds else None
    return _as_text(elem.value).strip(" \x00") if elem is not None else ""


def deidentify(ds: Dataset, *, study_id: str, uid_key: bytes,
               options: profile.Options = profile.DEFAULT_OPTIONS) -> DeidReport:
    """De-identify ``ds`` IN PLACE (the same object is modified; nothing is copied) and report.

    ``study_id`` becomes Patient's Name and Patient ID (letters, digits, space, ``.``, ``_``, ``-``;
    at most 64 characters). ``uid_key`` is the platform's UID HMAC key (at least 16 bytes); the same key
    must be used for the platform's whole life, or re-uploads get new UIDs. Raises ValueError on a bad
    study id or key; never on dataset content. Read anything needed from the original (patient
    characteristics, series description, ...) before calling.
    """
    if not isinstance(study_id, str) or not _STUDY_ID.match(study_id):
        raise ValueError("study_id must be 1-64 characters: letters, digits, space, '.', '_' or '-'")
    if not isinstance(uid_key, bytes | bytearray) or len(uid_key) < MIN_KEY_BYTES:
        raise ValueError(f"uid_key must be at least {MIN_KEY_BYTES} bytes")
    ops = _OPS if options == profile.DEFAULT_OPTIONS else _build_ops(options)
    originals = {kw: _text_of(ds, tag) for kw, tag in _INDEX_UIDS}
    needles = tuple(n for n in _needles(ds) if n != study_id.lower().encode())
    ctx = _Context(key=bytes(uid_key), study_id=study_id, needles=needles, ops=ops,
                   needle_re=re.compile(b"|".join(map(re.escape, needles)), re.IGNORECASE) if needles else None)
    _clean(ds, ctx, 0)
    _mark(ds, ctx, options)
    _rebuild_file_meta(ds)
    return DeidReport(
        profile_version=profile.PROFILE_VERSION,
        standard_edition=profile.STANDARD_EDITION,
        removed=ctx.removed,
        replaced=ctx.emptied + ctx.dummy + ctx.study + ctx.scrubbed,
        emptied=ctx.emptied,
        dummy_values=ctx.dummy,
        scrubbed=ctx.scrubbed,
        uids_remapped=ctx.uids_remapped,
        uids_well_known=ctx.uids_well_known,
        private_removed=ctx.private_removed,
        private_kept=ctx.private_kept,
        study_uid=_uid_pair(originals["StudyInstanceUID"], ds, "StudyInstanceUID"),
        series_uid=_uid_pair(originals["SeriesInstanceUID"], ds, "SeriesInstanceUID"),
        sop_instance_uid=_uid_pair(originals["SOPInstanceUID"], ds, "SOPInstanceUID"),
    )


# ---------------------------------------------------------------------------------------------- writing
_LONG_LENGTH_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"})
_ITEM = struct.pack("<HH", 0xFFFE, 0xE000)
_ITEM_END = struct.pack("<HHI", 0xFFFE, 0xE00D, 0)
_SEQUENCE_END = struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)


def _same_charset(ds: Dataset) -> bool:
    return ds.original_character_set == getattr(ds, "_character_set", ds.original_character_set)


def _delegate_element(elem: DataElement | RawDataElement, implicit: bool, encodings: object) -> bytes:
    fp = DicomBytesIO()
    fp.is_little_endian, fp.is_implicit_VR = True, implicit
    write_data_element(fp, elem, encodings)  # type: ignore[arg-type]
    return fp.getvalue()


def _write_level(ds: Dataset, out: bytearray, implicit: bool, parent_encoding: object) -> None:
    """Encode one dataset level as pydicom's write_dataset would, without its per-element overhead.

    Raw elements read in the target encoding are copied as read; sequences are walked; anything else
    (converted elements) is encoded by pydicom's own write_data_element. A level whose encoding or
    character set differs from the target is handed to pydicom's write_dataset whole.
    """
    if ds.original_encoding != (implicit, True) or not _same_charset(ds):
        fp = DicomBytesIO()
        fp.is_little_endian, fp.is_implicit_VR = True, implicit
        write_dataset(fp, ds, parent_encoding)  # type: ignore[arg-type]
        out += fp.getvalue()
        return
    encodings = ds.get("SpecificCharacterSet", parent_encoding) if 0x00080005 in ds else parent_encoding
    for tag, elem in sorted((int(t), e) for t, e in ds._dict.items()):
        if not tag & 0xFFFF and tag >> 16 > 6:
            continue  # retired group lengths are not written (PS3.5 7.2), as pydicom does
        if isinstance(elem, RawDataElement) and elem.value is None:
            elem = ds[tag]  # as pydicom's get_item does: an empty or deferred raw value is converted
        vr = elem.VR
        value = elem.value
        if isinstance(elem, RawDataElement) and isinstance(value, bytes) and elem.is_little_endian \
                and elem.is_implicit_VR == implicit and not elem.is_buffered and (implicit or (vr and len(vr) == 2)):
            undefined = elem.length == 0xFFFFFFFF
            if implicit:
                out += struct.pack("<HHI", tag >> 16, tag & 0xFFFF, 0xFFFFFFFF if undefined else len(value))
            elif vr in _LONG_LENGTH_VRS:
                out += struct.pack("<HH", tag >> 16, tag & 0xFFFF) + vr.encode() \
                    + struct.pack("<HI", 0, 0xFFFFFFFF if undefined else len(value))
            elif not undefined and len(value) <= 0xFFFF:
                out += struct.pack("<HH", tag >> 16, tag & 0xFFFF) + vr.encode() + struct.pack("<H", len(value))
            else:
                out += _delegate_element(elem, implicit, encodings)
                continue
            out += value
            if undefined:
                out += _SEQUENCE_END
        elif vr == "SQ" and isinstance(elem, DataElement):
            undefined = elem.is_undefined_length
            out += struct.pack("<HH", tag >> 16, tag & 0xFFFF)
            if not implicit:
                out += b"SQ\x00\x00"
            length_at = len(out)
            out += b"\xff\xff\xff\xff"
            start = len(out)
            for item in elem.value:
                out += _ITEM
                item_length_at = len(out)
                out += b"\xff\xff\xff\xff"
                item_start = len(out)
                _write_level(item, out, implicit, encodings)
                if getattr(item, "is_undefined_length_sequence_item", False):
                    out += _ITEM_END
                else:
                    out[item_length_at:item_start] = struct.pack("<I", len(out) - item_start)
            if undefined:
                out += _SEQUENCE_END
            else:
                out[length_at:start] = struct.pack("<I", len(out) - start)
        else:
            out += _delegate_element(elem, implicit, encodings)


_META_REQUIRED = (0x00020001, 0x00020002, 0x00020003, 0x00020010, 0x00020012)


def _meta_bytes(meta: FileMetaDataset) -> bytes | None:
    """File Meta Information as pydicom's write_file_meta_info(enforce_standard=True) writes it, for the usual
    case (what _rebuild_file_meta leaves: raw explicit VR little endian elements, every required one present).

    None when anything is out of the ordinary: the caller then lets pydicom write (and validate) it.
    """
    elements = []
    for tag, elem in meta._dict.items():
        tag = int(tag)
        if tag == 0x00020000:
            continue  # the group length is recomputed, as pydicom does
        if not isinstance(elem, RawDataElement) or elem.is_implicit_VR or not elem.is_little_endian \
                or not isinstance(elem.value, bytes) or not elem.VR or len(elem.VR) != 2 or tag >> 16 != 2:
            return None
        elements.append((tag, elem))
    present = {tag for tag, _ in elements}
    if any(tag not in present for tag in _META_REQUIRED):
        return None
    out = bytearray()
    for tag, elem in sorted(elements, key=lambda te: te[0]):
        value, vr = elem.value, elem.VR
        if not value and tag in _META_REQUIRED:
            return None  # pydicom refuses an empty required element: let it say so
        if len(value) % 2:
            return None
        if vr in _LONG_LENGTH_VRS:
            out += struct.pack("<HH", 2, tag & 0xFFFF) + vr.encode() + struct.pack("<HI", 0, len(value))
        elif len(value) <= 0xFFFF:
            out += struct.pack("<HH", 2, tag & 0xFFFF) + vr.encode() + struct.pack("<H", len(value))
        else:
            return None
        out += value
    return struct.pack("<HH", 2, 0) + b"UL" + struct.pack("<HI", 4, len(out)) + bytes(out)


def to_bytes(ds: Dataset) -> bytes:
    """The dataset as a DICOM Part 10 file: the same bytes as ``ds.save_as(f, enforce_file_format=True)``.

    About twice as fast for a dataset read from a little-endian file and de-identified (elements that
    were not changed are copied as read). Falls back to pydicom's writer for big endian data.
    """
    meta = getattr(ds, "file_meta", None)
    # Read as text, never through meta.get(): pydicom would convert the raw element in place, and a converted element
    # sends the File Meta Information down pydicom's own (validating, slower) writer below.
    ts = UID(_text_of(meta, 0x00020010)) if meta is not None else UID("")
    if not ts or not ts.is_transfer_syntax or not ts.is_little_endian or ts.is_private:
        buffer = io.BytesIO()
        ds.save_as(buffer, enforce_file_format=True)
        return buffer.getvalue()
    implicit = ts.is_implicit_VR
    pixel = ds.get_item(0x7FE00010) if 0x7FE00010 in ds else None
    if pixel is not None and isinstance(pixel, DataElement):
        pixel.is_undefined_length = ts.is_compressed
    file_meta = FileMetaDataset()  # a copy: pydicom's meta writer adds the group length to what it is given
    for elem in meta.elements():
        file_meta[elem.tag] = copy.copy(elem) if isinstance(elem, DataElement) else elem
    for meta_tag, tag in ((0x00020002, 0x00080016), (0x00020003, 0x00080018)):  # as dcmwrite: follow the dataset
        value = _text_of(ds, tag)
        if value and _text_of(file_meta, meta_tag) != value:
            file_meta[meta_tag] = DataElement(meta_tag, "UI", value)
    preamble = getattr(ds, "preamble", None)
    meta_bytes = _meta_bytes(file_meta)
    if meta_bytes is None:
        head = DicomBytesIO()
        head.is_little_endian, head.is_implicit_VR = True, False
        write_file_meta_info(head, file_meta, enforce_standard=True)
        meta_bytes = head.getvalue()
    head_bytes = (preamble if preamble and len(preamble) == 128 else b"\x00" * 128) + b"DICM" + meta_bytes
    body = bytearray()
    _write_level(ds, body, implicit, "iso8859")
    if ts.is_deflated:
        compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        body = bytearray(compressor.compress(bytes(body)) + compressor.flush())
        if len(body) % 2:
            body += b"\x00"
    return head_bytes + bytes(body)
