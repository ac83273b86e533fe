"""Per-file work of the ingest: parse, validate, de-identify, store. No database, so it can run in parallel.

Large uploads are spread over a pool of worker processes (INGEST_WORKERS, default: the CPU count):
the work is CPU-bound pure Python, which threads would not speed up. The pool uses the "spawn" start
method so no worker inherits the parent's database connections; each worker sets Django up once.
"""
import hashlib
import logging
import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pydicom
from django.conf import settings
from pydicom.dataelem import RawDataElement

from imaging import storage
from imaging.dicom import deid, validate
from nucmed.radiopharmaceuticals import identify

logger = logging.getLogger(__name__)
# Below this many files the pool's hand-over costs more than it saves.
POOL_THRESHOLD = 16
# The de-identified bytes an upload may keep in memory until it publishes them, in all (storage.stages_in_memory):
# each file up to this divided by the upload's number of files, so a large upload still stages on disk.
IN_MEMORY_BYTES = 64 * 2**20


@dataclass(frozen=True)
class IncomingFile:
    """A file to ingest: on disk at `path`, or its bytes in memory (`data`, and no path) when the caller holds them
    already, so that it need not write a temporary file for the ingest to read back (a file create costs more than
    the parse of a small instance)."""

    name: str
    path: Path | None = None
    data: bytes | None = None

    def size(self) -> int:
        return len(self.data) if self.data is not None else _on_disk(self).stat().st_size

    def read(self) -> bytes:
        return self.data if self.data is not None else _on_disk(self).read_bytes()


@dataclass
class Prepared:
    """A validated, de-identified file waiting for its rows; its bytes are staged (or held in `data`), `storage_key` is
    where they will be published."""

    item: dict[str, Any]
    study_uid: str
    series_uid: str
    sop_uid: str
    sop_class_uid: str
    modality: str
    instance_number: int | None
    series_number: int | None
    series_description: str
    study_date: date | None
    frame_of_reference_uid: str
    storage_key: str
    size: int
    sha256: str
    quarantine: str
    tracer: str
    weight_kg: float | None
    size_m: float | None
    slice_position: float | None
    acquisition: str
    geometry: dict[str, Any]
    characteristics: dict[str, Any] = field(default_factory=dict)
    data: bytes | None = None  # the bytes, when kept in memory instead of staged: storage.promote writes them


def _date(value: str | None) -> date | None:
    try:
        return datetime.strptime(value, "%Y%m%d").date() if value else None
    except ValueError:
        return None


def _tracer(ds: pydicom.Dataset) -> str:
    seq = ds.get("RadiopharmaceuticalInformationSequence")
    if not seq:
        return ""
    item = seq[0]
    half_life = validate.plain_numbers(item, 0x00181075, integer=False)  # validated: one number at most
    half_life_s = ((half_life[0] if half_life else 0) if half_life is not None and len(half_life) < 2
                   else float(item.get("RadionuclideHalfLife", 0) or 0))
    agent = identify(str(item.get("Radiopharmaceutical", "") or ""), half_life_s or None)
    return agent.code if agent else ""


def _number(value: Any, kind: type = float) -> Any:
    try:
        return kind(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _numbers(ds: pydicom.Dataset, keyword: str, *, integer: bool = False) -> list[float] | None:
    """A numeric attribute's values as read from the file (validate.plain_numbers: the dataset is not converted);
    None when they must be read through pydicom."""
    return validate.plain_numbers(ds, keyword, integer=integer)


def _text(ds: pydicom.Dataset, keyword: str) -> str:
    """An ASCII string attribute as str() of pydicom's value would give it ("" when absent or empty), read as the
    file has it when it can be (validate.plain_text), else through pydicom."""
    plain = validate.plain_text(ds, keyword)
    return plain if plain is not None else str(ds.get(keyword, "") or "")


def _header(ds: pydicom.Dataset) -> dict[str, Any]:
    """What the index needs from one instance, read once while the dataset is in memory.

    validate.check has made sure of the numbers read here (each absent or of the right count and kind), so the values
    as read from the file are the values pydicom would give; any other file is read through pydicom, as before.
    """
    position = _numbers(ds, "ImagePositionPatient")
    if position is None:
        position = ds.get("ImagePositionPatient")
    spacing = _numbers(ds, "PixelSpacing")
    rows, columns = validate.plain_us(ds, 0x00280010), validate.plain_us(ds, 0x00280011)
    return {
        "slice_position": _number(position[2]) if position and len(position) == 3 else None,
        "acquisition": f"{_text(ds, 'AcquisitionDate')}{_text(ds, 'AcquisitionTime')}"[:26],
        "geometry": {"rows": rows if rows is not None else _number(ds.get("Rows"), int),
                     "columns": columns if columns is not None else _number(ds.get("Columns"), int),
                     "frames": _single(_numbers(ds, "NumberOfFrames", integer=True), lambda: _number(ds.get("NumberOfFrames"), int),
                                       int) or 1,
                     "pixel_spacing": (spacing if spacing is not None and len(spacing) != 1
                                       else [float(v) for v in ds.get("PixelSpacing") or []]) or None,
                     "slice_thickness": _single(_numbers(ds, "SliceThickness"), lambda: _number(ds.get("SliceThickness")), float)},
    }


def _single(plain: list[float] | None, through_pydicom: Callable[[], Any], kind: type) -> Any:
    """An attribute of one value: `kind` of the value as read (None when absent), or `through_pydicom()` when it was
    not plain (several values, or one pydicom must read)."""
    if plain is None or len(plain) > 1:
        return through_pydicom()
    return kind(plain[0]) if plain else None


def _restore_raw(ds: pydicom.Dataset, as_read: dict[Any, Any]) -> None:
    """Put back the elements as read that the checks above converted by reading them (they only read).

    pydicom replaces a raw element by its decoded value on first access; the de-identifier and its writer
    copy raw elements as read but must re-encode decoded ones, so handing them the dataset as read saves
    that work for every attribute the validation looked at. The bytes written are the same.
    """
    current = ds._dict
    for tag, elem in as_read.items():
        # A sequence stays as parsed: the de-identifier walks every sequence item by item, so putting its raw bytes
        # back would only make it parse the sequence a second time (the writer writes a parsed one the same).
        if current.get(tag) is not elem and isinstance(elem, RawDataElement) and elem.VR != "SQ":
            current[tag] = elem


def _integer(ds: pydicom.Dataset, keyword: str) -> int | None:
    """An IS value already checked by validate.check (an integer in range), as int; None when absent."""
    plain = _numbers(ds, keyword, integer=True)
    if plain is not None and len(plain) < 2:
        return int(plain[0]) if plain else None
    value = ds.get(keyword)
    return int(float(str(value))) if value not in (None, "") else None


def prepare(incoming: IncomingFile, *, study_id: str, max_bytes: int, uid_key: bytes, batch: str,
            derived: bool = False, in_memory_up_to: int = 0) -> Prepared | dict[str, Any]:
    """Validate and de-identify one file and stage its de-identified bytes; return the record or the rejection.

    No database access: this runs in worker processes for large uploads. The bytes go to the upload's
    staging area (storage.stage), or, when there are at most `in_memory_up_to` of them, stay in the record (`data`);
    the ingest publishes them when it writes their rows.

    `derived`: a file the platform made itself from this patient's de-identified instances (the ENHANCE source, only
    ever set by the ingest for that source, never from a request). It is filed as it is, without a second
    de-identification, which would remap its UIDs (its study UID too: the series would land in a study of its own)
    and its Frame of Reference; it must still carry the platform's own de-identification (`platform_derived_refusal`).
    """
    source: Path | bytes = incoming.data if incoming.data is not None else _on_disk(incoming)
    size = incoming.size()
    if size > max_bytes:
        return {"file": incoming.name, "outcome": "rejected", "code": "too_large",
                "reason": f"The file is {size} bytes; the limit is {max_bytes}."}
    try:
        ds = validate.read_dataset(source)
    except validate.DicomRejected as exc:
        return {"file": incoming.name, "outcome": "rejected", "code": exc.code, "reason": exc.reason}
    as_read = dict(ds._dict)
    result = validate.check(ds, size_bytes=size, max_bytes=max_bytes)
    if not result.accepted:
        return {"file": incoming.name, "outcome": "rejected", "code": result.code, "reason": result.reason}
    if derived and (refusal := platform_derived_refusal(ds, study_id=study_id)):
        return {"file": incoming.name, "outcome": "rejected", "code": "not_deidentified", "reason": refusal}
    try:
        return _prepare_checked(incoming, ds, as_read, result, study_id=study_id, uid_key=uid_key, batch=batch,
                                derived=derived, in_memory_up_to=in_memory_up_to)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError) as exc:
        # validate.check covers the values read here; a malformed value it does not know of must still cost
        # this file only, never the upload. The exception's text may quote header values, and a file's name may
        # be a patient's: log the exception's type alone.
        logger.warning("a file of an upload could not be prepared (%s)", type(exc).__name__)
        return {"file": incoming.name, "outcome": "rejected", "code": "unprocessable",
                "reason": f"The file could not be processed ({type(exc).__name__})."}


def _on_disk(incoming: IncomingFile) -> Path:
    if incoming.path is None:
        raise ValueError("an incoming file needs a path or its bytes")
    return incoming.path


# The root every UID the platform writes is under: deid.remap_uid and pydicom's generate_uid(prefix=None) (2.25.<integer>).
PLATFORM_UID_ROOT = "2.25."
_DERIVED_UIDS = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")


def platform_derived_refusal(ds: pydicom.Dataset, *, study_id: str) -> str | None:
    """Why a file said to be derived by the platform is not what the platform writes, or None.

    Only the platform's own output skips de-identification, so its marks are checked rather than trusted: the patient
    named by the study id alone, Patient Identity Removed YES, and study, series and instance UIDs under the platform's
    root. A file that fails is refused, never de-identified here: the caller made it wrongly.
    """
    if str(ds.get("PatientID", "") or "") != study_id or str(ds.get("PatientName", "") or "") != study_id:
        return "A derived file must name the patient by the platform's study id only."
    if str(ds.get("PatientIdentityRemoved", "") or "").upper() != "YES":
        return "A derived file must come from de-identified instances (Patient Identity Removed YES)."
    if not all(str(ds.get(keyword, "") or "").startswith(PLATFORM_UID_ROOT) for keyword in _DERIVED_UIDS):
        return "A derived file's study, series and instance UIDs must be the platform's own."
    return None


def _uid(ds: pydicom.Dataset, keyword: str) -> str:
    """A UID the file must have (validate.check required it), as read; AttributeError as before when it has none."""
    return _text(ds, keyword) or str(getattr(ds, keyword))


def _prepare_checked(incoming: IncomingFile, ds: pydicom.Dataset, as_read: dict[Any, Any], result: validate.CheckResult, *,
                     study_id: str, uid_key: bytes, batch: str, derived: bool = False, in_memory_up_to: int = 0) -> Prepared:
    characteristics = validate.patient_characteristics(ds)
    tracer = _tracer(ds)
    header = _header(ds)
    instance_number, series_number = _integer(ds, "InstanceNumber"), _integer(ds, "SeriesNumber")
    _restore_raw(ds, as_read)
    if not derived:  # the platform's own derived files are de-identified already (prepare's docstring)
        deid.deidentify(ds, study_id=study_id, uid_key=uid_key)
    data = deid.to_bytes(ds)
    sha = hashlib.sha256(data).hexdigest()
    kept = len(data) <= in_memory_up_to
    if not kept:
        storage.stage(data, sha, batch)
    return Prepared(
        item={"file": incoming.name, "outcome": "accepted", "code": "", "reason": ""},
        study_uid=_uid(ds, "StudyInstanceUID"), series_uid=_uid(ds, "SeriesInstanceUID"), sop_uid=_uid(ds, "SOPInstanceUID"),
        sop_class_uid=_uid(ds, "SOPClassUID"), modality=result.modality,
        instance_number=instance_number, series_number=series_number,
        series_description=str(ds.get("SeriesDescription", "") or "")[:64],
        study_date=_date(plain if (plain := validate.plain_text(ds, "StudyDate")) is not None else ds.get("StudyDate")),
        frame_of_reference_uid=_text(ds, "FrameOfReferenceUID")[:64],
        storage_key=storage.key_for(sha), size=len(data), sha256=sha, quarantine=result.quarantine or "",
        tracer=tracer, weight_kg=characteristics.get("weight_kg"), size_m=characteristics.get("size_m"),
        characteristics=characteristics, data=data if kept else None, **header,
    )


_pool: ProcessPoolExecutor | None = None


def _worker_init() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    django.setup()


def _get_pool(workers: int) -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                    initializer=_worker_init)
    return _pool


def prepare_many(files: list[IncomingFile], *, study_id: str, batch: str,
                 derived: bool = False) -> Iterator[Prepared | dict[str, Any]]:
    """Outcomes in the order of `files`, computed in worker processes when the upload is large enough. Where the
    storage allows, each file's bytes are kept in memory up to IN_MEMORY_BYTES for the upload, instead of staged."""
    in_memory_up_to = IN_MEMORY_BYTES // max(1, len(files)) if storage.stages_in_memory() else 0
    work = partial(prepare, study_id=study_id, max_bytes=settings.DICOM_MAX_FILE_BYTES,
                   uid_key=settings.DICOM_UID_KEY.encode(), batch=batch, derived=derived, in_memory_up_to=in_memory_up_to)
    workers = settings.INGEST_WORKERS
    done = 0
    if workers > 1 and len(files) >= POOL_THRESHOLD:
        try:
            for outcome in _get_pool(workers).map(work, files, chunksize=max(1, len(files) // (workers * 4))):
                yield outcome
                done += 1
            return
        except BrokenProcessPool:
            global _pool
            logger.warning("ingest worker pool broke; finishing this upload in-process")
            _pool = None
    for incoming in files[done:]:  # after a broken pool, only the files whose outcome was not given yet
        yield work(incoming)
