"""Synthetic but valid DICOM series of a child, for tests, benchmarks and demo data.

Pure Python + numpy + pydicom, no Django: importable before (or without) Django is set up.

What it makes:
- `pet_series`: PET Image Storage (PT), one instance per slice, Units BQML, decay corrected to START,
  per-slice RescaleSlope; pixel values are set so that SUVbw computed by hand (QIBA) from the header
  gives the physiological uptake of `PET_UPTAKE_SUV` (liver SUV 2.0 for FDG, ...).
- `mibg_spect_series`: NM Image Storage, one multi-frame RECON TOMO instance (123I-MIBG SPECT), counts.
- `ct_series`: CT Image Storage (the CT half of PET/CT and SPECT/CT) with CTDIvol (0018,9345) and the
  CTDI phantom (0018,9346), sharing StudyInstanceUID and FrameOfReferenceUID with its PET/NM series.
- `pet_ct_study` / `spect_ct_study`: both halves of one study; `write_series`, `encode`;
  `pet_slice_bytes` for the ingest benchmarks (192x192 16-bit slices, ~75 KB each).
- `Defects`: "bad" variants (burned-in annotation, demographics that disagree with the registry, a
  missing SOPInstanceUID, vendor private tags for the de-identification keep-list, PHI in a private tag).

Everything is deterministic: the same arguments (seed included) give byte-identical files with the
same pydicom and numpy versions. UIDs come from `pydicom.uid.generate_uid(prefix, entropy_srcs)` with
entropy from the seed, so they are stable too; nothing reads the clock.

Patient coordinates are DICOM LPS (x to the patient's left, y posterior, z superior); the vertex of the
synthetic child is at z = 0 and the phantom scales with the child's height.
"""
from __future__ import annotations

import copy
import hashlib
import io
import math
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Literal

import numpy as np
import pydicom
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import correct_ambiguous_vr_element, write_data_element, write_file_meta_info
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import PYDICOM_ROOT_UID, ExplicitVRLittleEndian, generate_uid
from pydicom.valuerep import format_number_as_ds

__all__ = [
    "ACTIVITY_TABLE", "CT_IMAGE_STORAGE", "LOW_DOSE_FRACTION", "LOW_DOSE_FRAME_MS", "NM_IMAGE_STORAGE", "PET_IMAGE_STORAGE",
    "PET_UPTAKE_SUV", "STANDARD_FRAME_MS", "TRACERS", "ActivityRule", "Code", "Defects", "Lesion", "PatientLike",
    "StudyContext", "SyntheticTracer", "X_RAY_DOSE_SR_STORAGE", "ct_dose_sr", "ct_series", "encode",
    "mibg_spect_series", "organ_mask", "pet_ct_study",
    "pet_series", "pet_slice_bytes", "phantom_height_mm", "phantom_lesions", "recommended_activity_mbq",
    "spect_ct_study", "study_context", "get_tracer", "write_series",
]

PET_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.128"
NM_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.20"
CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"

# generate_uid(prefix, entropy_srcs) hashes the entropy (SHA-512) into the suffix: deterministic UIDs.
UID_PREFIX = PYDICOM_ROOT_UID
_NAMESPACE = "nbnm-synthetic-v1"

CodeScheme = Literal["SCT", "SRT"]
Sex = Literal["M", "F", "O"]

MANUFACTURER = "NBNM Synthetic"
INSTITUTION = "Synthetic Children's Hospital"


# --------------------------------------------------------------------------------------------------
# Patients, codes, tracers
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PatientLike:
    """What the generator needs to know about the child; build it from registry data.

    `study_id` (the pseudonymous trial/registry identifier) becomes PatientID and PatientName.
    Without `height_cm` PatientSize is left out and the phantom uses a height estimated from weight.
    """

    study_id: str
    sex: Sex
    birth_date: date
    weight_kg: float
    height_cm: float | None = None

    def __post_init__(self) -> None:
        if self.sex not in ("M", "F", "O"):
            raise ValueError(f"sex must be 'M', 'F' or 'O', not {self.sex!r}")
        if not 0 < self.weight_kg < 250:
            raise ValueError(f"weight_kg out of range: {self.weight_kg}")
        if self.height_cm is not None and not 30 <= self.height_cm <= 230:
            raise ValueError(f"height_cm out of range: {self.height_cm}")
        if not self.study_id or len(self.study_id) > 64:
            raise ValueError("study_id must be 1-64 characters (it becomes PatientID, LO)")


@dataclass(frozen=True)
class Code:
    value: str
    scheme: str
    meaning: str


@dataclass(frozen=True)
class ActivityRule:
    """Weight-based administered activity: clamp(mbq_per_kg x weight, min_mbq, max_mbq)."""

    mbq_per_kg: float
    min_mbq: float
    max_mbq: float | None
    mbq_per_kg_upper: float | None = None  # top of the guideline range, when the guideline gives a range
    note: str = ""


@dataclass(frozen=True)
class SyntheticTracer:
    code: str  # the nucmed catalogue code (nucmed/radiopharmaceuticals.py)
    short: str
    radiopharmaceutical: str  # Radiopharmaceutical (0018,0031) free text
    nuclide: str
    half_life_s: float
    positron_fraction: float | None
    uptake_s: int  # injection to start of the emission scan
    modality: Literal["PT", "NM"]
    nuclide_sct: Code
    nuclide_srt: Code
    agent_sct: Code
    agent_srt: Code | None  # no SNOMED-RT code exists for some newer agents: SCT is used then


# Radionuclide codes: CID 18 / CID 4020; agents: CID 25 / CID 4021 (PS3.16). SCT is the current
# standard; the SNOMED-RT style codes (SRT: C-111A1, C-131A3, C-114A4, ...) are retired but still
# written by many scanners, so code_scheme="SRT" produces them for tests of older data.
_F18_SCT, _F18_SRT = Code("77004003", "SCT", "^18^Fluorine"), Code("C-111A1", "SRT", "^18^Fluorine")
_GA68_SCT, _GA68_SRT = Code("35337001", "SCT", "^68^Gallium"), Code("C-131A3", "SRT", "^68^Gallium")
_I123_SCT, _I123_SRT = Code("21572004", "SCT", "^123^Iodine"), Code("C-114A4", "SRT", "^123^Iodine")

TRACERS: dict[str, SyntheticTracer] = {
    t.code: t
    for t in (
        SyntheticTracer("F18_FDG", "FDG", "Fludeoxyglucose F^18^", "F-18", 6586.2, 0.967, 3600, "PT", _F18_SCT, _F18_SRT,
                        Code("35321007", "SCT", "Fluorodeoxyglucose F^18^"), Code("C-B1031", "SRT", "Fluorodeoxyglucose F^18^")),
        SyntheticTracer("F18_NAF", "NaF", "Sodium fluoride F^18^", "F-18", 6586.2, 0.967, 2700, "PT", _F18_SCT, _F18_SRT,
                        Code("129501009", "SCT", "Sodium fluoride F^18^"), Code("C-B1032", "SRT", "Sodium fluoride F^18^")),
        SyntheticTracer("GA68_DOTATATE", "DOTATATE", "Ga-68 DOTATATE", "Ga-68", 4062.6, 0.889, 3000, "PT", _GA68_SCT, _GA68_SRT,
                        Code("724025002", "SCT", "Dotatate Ga^68^"), None),
        SyntheticTracer("I123_MIBG", "MIBG", "Iobenguane I^123^", "I-123", 47592.0, None, 24 * 3600, "NM", _I123_SCT, _I123_SRT,
                        Code("395787009", "SCT", "Iodine^123 3-Iodobenzylguanidine MIBG"),
                        Code("C-B110E", "SRT", "Iodine^123 3-Iodobenzylguanidine MIBG")),
    )
}
_ALIASES = {"FDG": "F18_FDG", "NAF": "F18_NAF", "FLUORIDE": "F18_NAF", "DOTATATE": "GA68_DOTATATE",
            "GADOTATATE": "GA68_DOTATATE", "68GADOTATATE": "GA68_DOTATATE", "MIBG": "I123_MIBG", "123IMIBG": "I123_MIBG"}


def get_tracer(name: str) -> SyntheticTracer:
    """The tracer for a catalogue code ("F18_FDG") or a common name ("FDG", "NaF", "Ga-68 DOTATATE", "MIBG")."""
    if name in TRACERS:
        return TRACERS[name]
    key = "".join(ch for ch in name.upper() if ch.isalnum())
    for code in TRACERS:
        if key == code.replace("_", ""):
            return TRACERS[code]
    if key in _ALIASES:
        return TRACERS[_ALIASES[key]]
    raise ValueError(f"unknown tracer {name!r}; known: {', '.join(TRACERS)}")


# --------------------------------------------------------------------------------------------------
# PAEDIATRIC ACTIVITY TABLE -- synthetic data only.
# North American consensus guidelines (SNMMI/SPR 2011, updated 2016), weight-based, as quoted in
# docs/physics.md section 2 (several values marked UNVERIFIED there). These few
# numbers only make the synthetic RadionuclideTotalDose believable. The authoritative, versioned dosage
# tables (EANM Paediatric Dosage Card and the North American table, with sources) belong in nucmed/
# (separate issue): never use this table for a real patient or a dosing check.
# --------------------------------------------------------------------------------------------------
ACTIVITY_TABLE: dict[str, ActivityRule] = {
    "F18_FDG": ActivityRule(3.7, 26.0, None, 5.2, "body 3.7-5.2 MBq/kg, min 26 MBq (2016; 37 in 2011)"),
    "F18_NAF": ActivityRule(2.22, 14.0, 148.0, None, "2.22 MBq/kg, min 14, max 148 (min UNVERIFIED)"),
    "GA68_DOTATATE": ActivityRule(2.0, 14.0, 185.0, None, "2.0 MBq/kg, min 14, max 185 (UNVERIFIED)"),
    "I123_MIBG": ActivityRule(5.2, 37.0, 370.0, None, "5.2 MBq/kg, min 37, max 370 (J Nucl Med 2011)"),
}
LOW_DOSE_FRACTION = 1 / 6  # the programme's low-dose protocol: 1/6 of the activity ...
LOW_DOSE_FRAME_MS = 180_000  # ... and a 3-minute frame per bed
STANDARD_FRAME_MS = 120_000  # standard protocol: 2 minutes per bed


def recommended_activity_mbq(tracer_name: str, weight_kg: float, *, low_dose: bool = False) -> float:
    """Administered activity (MBq) for a child of `weight_kg`, rounded to 0.01 MBq (a dose calibrator reading)."""
    rule = ACTIVITY_TABLE[get_tracer(tracer_name).code]
    activity = max(rule.mbq_per_kg * weight_kg, rule.min_mbq)
    if rule.max_mbq is not None:
        activity = min(activity, rule.max_mbq)
    if low_dose:
        activity *= LOW_DOSE_FRACTION
    return round(activity, 2)


# --------------------------------------------------------------------------------------------------
# Phantom: a child-shaped set of ellipsoids and elliptic cylinders, in fractions of the body height
# --------------------------------------------------------------------------------------------------
TISSUES = ("outside", "body", "skull", "brain", "parotid", "lung", "heart", "liver", "spleen", "kidney", "spine", "bladder")

# PET uptake (SUVbw) the phantom intends per tissue, and for the lesions (primary adrenal mass, spine
# metastasis, femur metastasis). Physiological orders of magnitude, not reference values.
PET_UPTAKE_SUV: dict[str, dict[str, float]] = {
    "F18_FDG": dict(body=0.8, skull=0.8, brain=6.5, parotid=1.5, lung=0.5, heart=2.5, liver=2.0, spleen=1.8, kidney=2.5,
                    spine=1.6, bladder=12.0, lesion_primary=5.5, lesion_spine=4.0, lesion_femur=4.5),
    "GA68_DOTATATE": dict(body=0.5, skull=0.4, brain=0.2, parotid=2.0, lung=0.4, heart=1.0, liver=6.5, spleen=18.0,
                          kidney=12.0, spine=1.5, bladder=20.0, lesion_primary=25.0, lesion_spine=15.0, lesion_femur=18.0),
    "F18_NAF": dict(body=0.4, skull=3.0, brain=0.3, parotid=0.5, lung=0.3, heart=0.6, liver=0.8, spleen=0.6, kidney=3.0,
                    spine=7.0, bladder=35.0, lesion_primary=2.0, lesion_spine=15.0, lesion_femur=20.0),
}
# 123I-MIBG SPECT: mean counts per voxel at the reference activity (5.2 MBq/kg) and 25 s per view.
MIBG_COUNTS: dict[str, float] = dict(body=6.0, skull=4.0, brain=3.0, parotid=40.0, lung=4.0, heart=30.0, liver=45.0,
                                     spleen=15.0, kidney=12.0, spine=6.0, bladder=90.0, lesion_primary=150.0,
                                     lesion_spine=110.0, lesion_femur=120.0)
CT_HU: dict[str, float] = dict(outside=-1000.0, body=30.0, skull=700.0, brain=35.0, parotid=25.0, lung=-780.0, heart=40.0,
                               liver=60.0, spleen=50.0, kidney=35.0, spine=600.0, bladder=5.0, lesion_primary=45.0,
                               lesion_spine=300.0, lesion_femur=350.0)


@dataclass(frozen=True)
class _Shape:
    tissue: str
    kind: Literal["ellipsoid", "cylinder"]
    center: tuple[float, float, float]  # x, y, depth below the vertex; fractions of the height
    radii: tuple[float, float, float]  # x, y, z (z: half-length of a cylinder)


def _cyl(tissue: str, x: float, y: float, rx: float, ry: float, depth_from: float, depth_to: float) -> _Shape:
    return _Shape(tissue, "cylinder", (x, y, (depth_from + depth_to) / 2), (rx, ry, (depth_to - depth_from) / 2))


def _ell(tissue: str, center: tuple[float, float, float], radii: tuple[float, float, float]) -> _Shape:
    return _Shape(tissue, "ellipsoid", center, radii)


# Painted in order: later shapes overwrite earlier ones. The liver never touches a lesion.
_SHAPES: tuple[_Shape, ...] = (
    _ell("skull", (0.0, 0.0, 0.075), (0.062, 0.072, 0.075)),
    _cyl("body", 0.0, 0.005, 0.035, 0.035, 0.13, 0.19),  # neck
    _cyl("body", 0.0, 0.0, 0.09, 0.065, 0.17, 0.56),  # trunk
    _cyl("body", -0.045, 0.0, 0.038, 0.04, 0.54, 1.0),  # right leg
    _cyl("body", 0.045, 0.0, 0.038, 0.04, 0.54, 1.0),  # left leg
    _ell("brain", (0.0, 0.005, 0.075), (0.052, 0.062, 0.06)),
    _ell("parotid", (-0.05, 0.0, 0.12), (0.012, 0.012, 0.012)),
    _ell("parotid", (0.05, 0.0, 0.12), (0.012, 0.012, 0.012)),
    _ell("lung", (-0.045, 0.0, 0.26), (0.035, 0.045, 0.075)),
    _ell("lung", (0.045, 0.0, 0.26), (0.035, 0.045, 0.075)),
    _ell("heart", (0.015, -0.015, 0.285), (0.03, 0.03, 0.03)),
    _ell("liver", (-0.04, -0.005, 0.345), (0.045, 0.045, 0.045)),
    _ell("spleen", (0.06, 0.025, 0.335), (0.02, 0.025, 0.03)),
    _ell("kidney", (-0.04, 0.038, 0.40), (0.018, 0.016, 0.03)),
    _ell("kidney", (0.04, 0.038, 0.395), (0.018, 0.016, 0.03)),
    _cyl("spine", 0.0, 0.048, 0.014, 0.014, 0.14, 0.53),
    _ell("bladder", (0.0, -0.01, 0.53), (0.025, 0.022, 0.02)),
)
_SCAN_CENTRE_DEPTH = 0.33  # the default axial field is centred on the upper abdomen (liver, adrenals)


@dataclass(frozen=True)
class Lesion:
    name: str  # "primary" (left adrenal mass), "spine", "femur"
    center_mm: tuple[float, float, float]  # LPS, mm
    radius_mm: float

    @property
    def key(self) -> str:
        return f"lesion_{self.name}"


def phantom_height_mm(height_cm: float | None, weight_kg: float) -> float:
    """The phantom's body height: the child's height, or one estimated from weight (H ~ 40 W^0.35 cm)."""
    return 10.0 * (height_cm if height_cm else 40.0 * weight_kg**0.35)


def phantom_lesions(*, seed: int, patient: PatientLike) -> tuple[Lesion, ...]:
    """The hot spheres of this child's phantom; they depend on the seed and the patient only, so a
    low-dose and a standard PET of the same child (same seed) show the same lesions."""
    h = _height_mm(patient)
    rng = _rng("lesions", seed, patient.study_id)
    u = rng.uniform
    primary = Lesion("primary", (h * (0.035 + u(-0.004, 0.004)), h * 0.03, -h * (0.375 + u(-0.01, 0.01))),
                     h * 0.018 * (1 + u(-0.2, 0.2)))
    spine = Lesion("spine", (0.0, h * 0.048, -h * u(0.22, 0.30)), h * 0.010)
    femur = Lesion("femur", (-h * 0.045, 0.0, -h * u(0.60, 0.70)), h * 0.012)
    return tuple(Lesion(les.name, (round(les.center_mm[0], 3), round(les.center_mm[1], 3), round(les.center_mm[2], 3)),
                        round(les.radius_mm, 3)) for les in (primary, spine, femur))


def _inside(shape: _Shape, xs: np.ndarray, ys: np.ndarray, z_mm: float, h: float, shrink: float = 1.0) -> np.ndarray | None:
    cx, cy, cdepth = (shape.center[0] * h, shape.center[1] * h, -shape.center[2] * h)
    rx, ry, rz = (r * h * shrink for r in shape.radii)
    dz = (z_mm - cdepth) / rz
    if abs(dz) > 1.0:
        return None
    scale = 1.0 if shape.kind == "cylinder" else 1.0 - dz * dz
    return ((xs[None, :] - cx) / rx) ** 2 + ((ys[:, None] - cy) / ry) ** 2 <= scale


def _labels(xs: np.ndarray, ys: np.ndarray, z_mm: float, h: float) -> np.ndarray:
    labels = np.zeros((ys.size, xs.size), dtype=np.uint8)
    for shape in _SHAPES:
        mask = _inside(shape, xs, ys, z_mm, h)
        if mask is not None:
            labels[mask] = TISSUES.index(shape.tissue)
    return labels


def _lesion_masks(xs: np.ndarray, ys: np.ndarray, z_mm: float, lesions: Sequence[Lesion]) -> Iterator[tuple[Lesion, np.ndarray]]:
    for les in lesions:
        dz = z_mm - les.center_mm[2]
        if abs(dz) < les.radius_mm:
            r2 = les.radius_mm**2 - dz * dz
            yield les, (xs[None, :] - les.center_mm[0]) ** 2 + (ys[:, None] - les.center_mm[1]) ** 2 <= r2


def _value_map(xs: np.ndarray, ys: np.ndarray, z_mm: float, h: float, table: dict[str, float], lesions: Sequence[Lesion],
               outside: float = 0.0) -> np.ndarray:
    lut = np.array([outside] + [table[t] for t in TISSUES[1:]], dtype=np.float64)
    values = lut[_labels(xs, ys, z_mm, h)]
    for les, mask in _lesion_masks(xs, ys, z_mm, lesions):
        values[mask] = table[les.key]
    return values


def _blur(img: np.ndarray) -> np.ndarray:
    """Separable [1, 2, 1]/4 smoothing (the scanner's resolution), edges replicated."""
    p = np.pad(img, 1, mode="edge")
    rows = (p[:-2, :] + 2 * p[1:-1, :] + p[2:, :]) / 4
    return (rows[:, :-2] + 2 * rows[:, 1:-1] + rows[:, 2:]) / 4


# --------------------------------------------------------------------------------------------------
# Deterministic helpers
# --------------------------------------------------------------------------------------------------
def _rng(*parts: object) -> np.random.Generator:
    digest = hashlib.sha256("\x1f".join(map(str, (_NAMESPACE, *parts))).encode()).digest()
    return np.random.default_rng(np.frombuffer(digest, dtype="<u4"))


def _uid(*parts: object) -> str:
    return str(generate_uid(prefix=UID_PREFIX, entropy_srcs=[_NAMESPACE, *map(str, parts)]))


def _ds(value: float) -> str:
    """A valid Decimal String (at most 16 characters) for `value`."""
    value = float(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return format_number_as_ds(round(value, 10))


def _da(d: date) -> str:
    return d.strftime("%Y%m%d")


def _tm(t: datetime | time) -> str:
    return t.strftime("%H%M%S")


def _age(birth: date, on: date) -> str:
    years = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    if years >= 2:
        return f"{min(years, 999):03d}Y"
    months = (on.year - birth.year) * 12 + on.month - birth.month - (on.day < birth.day)
    if months >= 1:
        return f"{months:03d}M"
    return f"{max((on - birth).days // 7, 0):03d}W"


def _code_item(code: Code) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = code.value, code.scheme, code.meaning
    return item


def _height_mm(patient: PatientLike) -> float:
    """Height as written in PatientSize (so `organ_mask` computed from a header finds the same phantom)."""
    if patient.height_cm:
        return 1000.0 * float(_ds(patient.height_cm / 100))
    return phantom_height_mm(None, float(_ds(patient.weight_kg)))


# --------------------------------------------------------------------------------------------------
# Studies, geometry, defects
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StudyContext:
    """Study-level identity and timing shared by every series of one study (PET/NM and its CT)."""

    study_uid: str
    frame_of_reference_uid: str
    study_date: date
    study_time: time
    scan_start: datetime  # start of the PET / SPECT emission acquisition
    accession_number: str
    study_id: str  # StudyID (0020,0010), SH
    description: str


def study_context(*, patient: PatientLike, seed: int, study_date: date | None = None, scan_start: time | None = None,
                  description: str = "PAEDIATRIC NUCLEAR MEDICINE") -> StudyContext:
    """The study every generator uses when none is passed: same patient + seed + date -> same study."""
    if study_date is None:
        study_date = date(2025, 3, 3) + timedelta(days=seed % 365)
    if study_date < patient.birth_date:
        raise ValueError(f"study date {study_date} is before the birth date {patient.birth_date}; pass study_date")
    if scan_start is None:
        minutes = 9 * 60 + 30 + (seed % 12) * 20
        scan_start = time(minutes // 60, minutes % 60)
    start = datetime.combine(study_date, scan_start)
    key = ("study", seed, patient.study_id, study_date.isoformat())
    digits = int(hashlib.sha256("|".join(map(str, key)).encode()).hexdigest(), 16)
    return StudyContext(
        study_uid=_uid(*key), frame_of_reference_uid=_uid("frame-of-reference", *key), study_date=study_date,
        study_time=(start - timedelta(minutes=10)).time(), scan_start=start,
        accession_number=f"SYN{digits % 10**10:010d}", study_id=f"S{digits % 10**6:06d}", description=description)


@dataclass(frozen=True)
class Defects:
    """'Bad' variants for tests of validation, the wrong-patient guard and de-identification."""

    burned_in_annotation: bool = False  # BurnedInAnnotation YES and text-like marks burned into a corner of the pixels
    wrong_sex: bool = False  # PatientSex differs from the registry patient's (M<->F, O->M)
    wrong_birth_date: bool = False  # PatientBirthDate 400 days earlier than the registry's (PatientAge follows it)
    missing_sop_instance_uid: bool = False  # the first instance has no (0008,0018); its file meta keeps (0002,0003)
    philips_private: bool = False  # PET only: (7053,0010) "Philips PET Private Group", (7053,1000) SUV scale factor, (7053,1009)
    ge_private: bool = False  # PET only: (0009,0010) "GEMS_PETD_01", (0009,100D) scan date-time
    private_phi: bool = False  # (0019,0010) "NBNM SYNTHETIC PHI", (0019,1001) a copy of PatientName: must not survive de-id


@dataclass(frozen=True)
class _Grid:
    rows: int
    cols: int
    pixel_spacing: float
    x0: float
    y0: float
    depths: tuple[float, ...]  # slice centres, mm below the vertex, in instance/frame order

    @property
    def xs(self) -> np.ndarray:
        return self.x0 + self.pixel_spacing * np.arange(self.cols)

    @property
    def ys(self) -> np.ndarray:
        return self.y0 + self.pixel_spacing * np.arange(self.rows)


def _fov_mm(h: float) -> float:
    return float(min(max(round(0.3 * h / 10) * 10, 300), 600))


def _grid(h: float, rows: int, cols: int, n_slices: int, spacing: float, *, superior_first: bool) -> _Grid:
    if min(rows, cols, n_slices) < 1:
        raise ValueError("rows, cols and n_slices must be positive")
    fov = _fov_mm(h)
    px = float(_ds(fov / max(rows, cols)))
    x0 = float(_ds(-px * (cols - 1) / 2))
    y0 = float(_ds(-px * (rows - 1) / 2))
    length = (n_slices - 1) * spacing
    top = max(0.0, round((_SCAN_CENTRE_DEPTH * h - length / 2) * 2) / 2)
    depths = tuple(round(top + k * spacing, 4) for k in range(n_slices))
    return _Grid(rows, cols, px, x0, y0, depths if superior_first else depths[::-1])


def _patient_module(ds: Dataset, patient: PatientLike, ctx: StudyContext, defects: Defects) -> None:
    sex, birth = patient.sex, patient.birth_date
    if defects.wrong_sex:
        sex = {"M": "F", "F": "M", "O": "M"}[sex]
    if defects.wrong_birth_date:
        birth = birth - timedelta(days=400)
    ds.PatientName = patient.study_id
    ds.PatientID = patient.study_id
    ds.PatientBirthDate = _da(birth)
    ds.PatientSex = sex
    ds.PatientAge = _age(birth, ctx.study_date)
    if patient.height_cm:
        ds.PatientSize = _ds(patient.height_cm / 100)  # metres
    ds.PatientWeight = _ds(patient.weight_kg)


def _base(sop_class: str, sop_uid: str, *, modality: str, patient: PatientLike, ctx: StudyContext, defects: Defects,
          series_uid: str, series_number: int, series_description: str, series_start: datetime, model: str) -> Dataset:
    ds = Dataset()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid
    ds.StudyDate = _da(ctx.study_date)
    ds.SeriesDate = _da(series_start.date())
    ds.StudyTime = _tm(ctx.study_time)
    ds.SeriesTime = _tm(series_start)
    ds.AccessionNumber = ctx.accession_number
    ds.Modality = modality
    ds.Manufacturer = MANUFACTURER
    ds.InstitutionName = INSTITUTION
    ds.ReferringPhysicianName = "SYNTHETIC^REFERRER"
    ds.StationName = f"SYN{modality}01"
    ds.StudyDescription = ctx.description
    ds.SeriesDescription = series_description
    ds.ManufacturerModelName = model
    _patient_module(ds, patient, ctx, defects)
    ds.DeviceSerialNumber = f"{modality}-0001"
    ds.SoftwareVersions = "nbnm-synthetic 1"
    ds.ProtocolName = series_description
    ds.StudyInstanceUID = ctx.study_uid
    ds.SeriesInstanceUID = series_uid
    ds.StudyID = ctx.study_id
    ds.SeriesNumber = series_number
    ds.FrameOfReferenceUID = ctx.frame_of_reference_uid
    ds.PositionReferenceIndicator = ""
    return ds


def _orientation_codes(ds: Dataset) -> None:
    recumbent = _code_item(Code("102538003", "SCT", "recumbent"))
    recumbent.PatientOrientationModifierCodeSequence = DicomSequence([_code_item(Code("40199007", "SCT", "supine"))])
    ds.PatientOrientationCodeSequence = DicomSequence([recumbent])
    ds.PatientGantryRelationshipCodeSequence = DicomSequence([_code_item(Code("102540008", "SCT", "headfirst"))])


def _radiopharmaceutical(t: SyntheticTracer, dose_bq: int, injection: datetime, scheme: CodeScheme) -> DicomSequence:
    item = Dataset()
    item.Radiopharmaceutical = t.radiopharmaceutical
    item.RadiopharmaceuticalRoute = "Intravenous"
    item.RadiopharmaceuticalStartTime = _tm(injection)
    item.RadionuclideTotalDose = str(dose_bq)  # Bq, at the start (injection) time
    item.RadionuclideHalfLife = _ds(t.half_life_s)
    if t.positron_fraction is not None:
        item.RadionuclidePositronFraction = _ds(t.positron_fraction)
    item.RadiopharmaceuticalStartDateTime = injection.strftime("%Y%m%d%H%M%S")
    item.RadionuclideCodeSequence = DicomSequence([_code_item(t.nuclide_srt if scheme == "SRT" else t.nuclide_sct)])
    item.AdministrationRouteCodeSequence = DicomSequence([_code_item(Code("47625008", "SCT", "Intravenous route"))])
    agent = t.agent_srt if scheme == "SRT" and t.agent_srt is not None else t.agent_sct
    item.RadiopharmaceuticalCodeSequence = DicomSequence([_code_item(agent)])
    return DicomSequence([item])


def _burn_in(img: np.ndarray, value: float) -> None:
    """Text-like marks (three 'lines' of glyph blocks) in the top-left corner, like a burned-in name."""
    rows, cols = img.shape
    for line in range(3):
        r0 = 2 + line * 6
        for c in range(2, min(cols - 2, 2 + 40), 3):
            if (c * 7 + line * 3) % 5:  # gaps between "letters"
                img[r0: min(r0 + 4, rows), c: c + 2] = value


def _private_phi(ds: Dataset, patient: PatientLike) -> None:
    ds.private_block(0x0019, "NBNM SYNTHETIC PHI", create=True).add_new(0x01, "LO", f"{patient.study_id} (copy of name)")


def _injection_time(t: SyntheticTracer, ctx: StudyContext, seed: int) -> datetime:
    jitter = int(_rng("injection", seed, ctx.study_uid, t.code).integers(0, 600))  # up to 10 minutes' delay
    return ctx.scan_start - timedelta(seconds=t.uptake_s + jitter)


# --------------------------------------------------------------------------------------------------
# PET
# --------------------------------------------------------------------------------------------------
_BED_AXIAL_MM = 150.0


def pet_series(*, tracer: str, patient: PatientLike, seed: int, n_slices: int = 64, rows: int = 128, cols: int = 128,
               injected_mbq: float | None = None, low_dose: bool = False, study: StudyContext | None = None,
               slice_thickness_mm: float = 3.0, series_number: int = 3, defects: Defects = Defects(),
               code_scheme: CodeScheme = "SCT") -> list[Dataset]:
    """One PET series (PET Image Storage, one instance per axial slice, superior first).

    The activity is `injected_mbq` when given, else the table's (`recommended_activity_mbq`, 1/6 of it
    when `low_dose`). `low_dose` also sets 180 s per bed (standard: 120 s) and the noise that follows
    from fewer counts (noise ~ 1/sqrt(activity x frame time)). Pixel values are Bq/ml decay corrected to
    the series start, so SUVbw computed from the header gives `PET_UPTAKE_SUV[tracer]` in each tissue.
    """
    t = get_tracer(tracer)
    if t.modality != "PT":
        raise ValueError(f"{t.code} is not a PET tracer; use mibg_spect_series")
    ctx = study or study_context(patient=patient, seed=seed)
    standard_mbq = recommended_activity_mbq(t.code, patient.weight_kg)
    activity_mbq = round(injected_mbq, 2) if injected_mbq is not None else recommended_activity_mbq(t.code, patient.weight_kg, low_dose=low_dose)
    if activity_mbq <= 0:
        raise ValueError("injected activity must be positive")
    dose_bq = int(round(activity_mbq * 1e6))
    frame_ms = LOW_DOSE_FRAME_MS if low_dose else STANDARD_FRAME_MS
    injection = _injection_time(t, ctx, seed)
    weight_kg = float(_ds(patient.weight_kg))
    lam = math.log(2) / t.half_life_s
    decayed_dose = dose_bq * 2.0 ** (-(ctx.scan_start - injection).total_seconds() / t.half_life_s)
    bq_per_ml_per_suv = decayed_dose / (weight_kg * 1000.0)
    suv_factor = 1.0 / bq_per_ml_per_suv
    # relative noise after the [1,2,1] blur is ~0.375 x the white noise: ~11 % at the standard protocol
    sigma = 0.30 * math.sqrt((standard_mbq * STANDARD_FRAME_MS) / (activity_mbq * frame_ms))

    h = _height_mm(patient)
    grid = _grid(h, rows, cols, n_slices, float(_ds(slice_thickness_mm)), superior_first=True)
    xs, ys = grid.xs, grid.ys
    lesions = phantom_lesions(seed=seed, patient=patient)
    table = PET_UPTAKE_SUV[t.code]
    label = "LOW DOSE 3MIN" if low_dose else "STD"
    description = f"PET WB {t.short} {label}"
    series_uid = _uid("series", ctx.study_uid, "PT", series_number, description, activity_mbq)
    rng = _rng("pet-noise", seed, series_uid)
    slices_per_bed = max(1, round(_BED_AXIAL_MM / float(_ds(slice_thickness_mm))))
    n_beds = (n_slices + slices_per_bed - 1) // slices_per_bed
    content = ctx.scan_start + timedelta(milliseconds=n_beds * frame_ms + 120_000)
    f_s = frame_ms / 1000.0
    in_frame = lam * f_s / (1.0 - math.exp(-lam * f_s))  # decay during the frame (average over the frame)
    t_eff = math.log(in_frame) / lam  # effective time of the frame's counts, from its start

    out: list[Dataset] = []
    for k, depth in enumerate(grid.depths):
        z = -depth
        bed = k // slices_per_bed
        acq = ctx.scan_start + timedelta(milliseconds=bed * frame_ms)
        delta = (acq - ctx.scan_start).total_seconds()
        conc = _value_map(xs, ys, z, h, table, lesions) * bq_per_ml_per_suv
        conc = conc * (1.0 + sigma * rng.standard_normal(conc.shape))
        conc = np.clip(_blur(conc), 0.0, None)
        if defects.burned_in_annotation:
            _burn_in(conc, float(conc.max()) or bq_per_ml_per_suv)
        peak = float(conc.max())
        slope = float(_ds(peak / 32767)) if peak > 0 else 1.0
        stored = np.clip(np.rint(conc / slope), 0, 32767).astype("<i2")

        sop_uid = _uid("sop", series_uid, k)
        if out:  # the header is the first slice's: a copy of it, then what differs per slice (below)
            ds = _clone(out[0], sop_uid)
            _pet_slice(ds, k, acq, grid, z, slope, delta, t_eff, lam, in_frame, stored)
            out.append(ds)
            continue
        ds = _base(PET_IMAGE_STORAGE, sop_uid, modality="PT", patient=patient, ctx=ctx, defects=defects, series_uid=series_uid,
                   series_number=series_number, series_description=description, series_start=ctx.scan_start,
                   model="SynthPET 1")
        ds.ImageType = ["ORIGINAL", "PRIMARY"]
        ds.ContentDate, ds.ContentTime = _da(content.date()), _tm(content)
        ds.SliceThickness = _ds(slice_thickness_mm)
        ds.ReconstructionDiameter = _ds(_fov_mm(h))
        ds.ActualFrameDuration = frame_ms
        ds.RadiopharmaceuticalInformationSequence = _radiopharmaceutical(t, dose_bq, injection, code_scheme)
        ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows, ds.Columns = rows, cols
        ds.PixelSpacing = [_ds(grid.pixel_spacing), _ds(grid.pixel_spacing)]
        ds.CorrectedImage = ["ATTN", "DECY"]
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.BurnedInAnnotation = "YES" if defects.burned_in_annotation else "NO"
        ds.LossyImageCompression = "00"
        ds.RescaleIntercept = "0"
        ds.SeriesType = ["STATIC", "IMAGE"]
        ds.Units = "BQML"
        ds.CountsSource = "EMISSION"
        ds.NumberOfSlices = n_slices
        ds.RandomsCorrectionMethod = "DLYD"
        ds.AttenuationCorrectionMethod = "CT-based"
        ds.DecayCorrection = "START"
        ds.ReconstructionMethod = "OSEM 3i21s"
        ds.ScatterCorrectionMethod = "Model-based"
        _orientation_codes(ds)
        if defects.philips_private:
            block = ds.private_block(0x7053, "Philips PET Private Group", create=True)
            block.add_new(0x00, "DS", _ds(suv_factor))  # SUV scale factor: SUVbw per (rescaled) Bq/ml
            block.add_new(0x09, "DS", "1")  # activity concentration scale factor: rescaled values are Bq/ml already
        if defects.ge_private:
            ds.private_block(0x0009, "GEMS_PETD_01", create=True).add_new(0x0D, "DT", ctx.scan_start.strftime("%Y%m%d%H%M%S.00"))
        if defects.private_phi:
            _private_phi(ds, patient)
        _pet_slice(ds, k, acq, grid, z, slope, delta, t_eff, lam, in_frame, stored)
        out.append(ds)
    if defects.missing_sop_instance_uid and out:
        del out[0].SOPInstanceUID
    return out


def _pet_slice(ds: Dataset, k: int, acq: datetime, grid: _Grid, z: float, slope: float, delta: float, t_eff: float,
               lam: float, in_frame: float, stored: np.ndarray) -> None:
    """The elements of a PET slice that differ from slice to slice."""
    ds.AcquisitionDate, ds.AcquisitionTime = _da(acq.date()), _tm(acq)
    ds.InstanceNumber = k + 1
    ds.ImagePositionPatient = [_ds(grid.x0), _ds(grid.y0), _ds(z)]
    ds.SliceLocation = _ds(z)
    ds.RescaleSlope = _ds(slope)
    ds.FrameReferenceTime = _ds(round((delta + t_eff) * 1000.0, 3))
    ds.DecayFactor = _ds(round(math.exp(lam * delta) * in_frame, 6))
    ds.ImageIndex = k + 1
    ds.PixelData = stored.tobytes()


# --------------------------------------------------------------------------------------------------
# CT
# --------------------------------------------------------------------------------------------------
def ct_series(*, patient: PatientLike, seed: int, n_slices: int = 64, rows: int = 256, cols: int = 256,
              study: StudyContext | None = None, slice_thickness_mm: float = 3.0, superior_first: bool = True,
              acquired_at: datetime | None = None, ctdivol_mgy: float | None = None, ctdi_phantom_cm: Literal[16, 32] = 32,
              kvp: int = 100, series_number: int = 2, defects: Defects = Defects()) -> list[Dataset]:
    """A low-dose CT (CT Image Storage) covering the same axial range, in the same frame of reference,
    as the PET or SPECT series generated with the same patient, seed, n_slices and slice_thickness_mm.

    CTDIvol (0018,9345) defaults to a paediatric low-dose value, 0.8 + 0.03 mGy/kg on the 32 cm phantom
    (twice that on the 16 cm phantom); CTDIPhantomTypeCodeSequence says which phantom.
    """
    ctx = study or study_context(patient=patient, seed=seed)
    at = acquired_at or ctx.scan_start - timedelta(minutes=5)
    if ctdivol_mgy is None:
        ctdivol_mgy = round((0.8 + 0.03 * patient.weight_kg) * (2.0 if ctdi_phantom_cm == 16 else 1.0), 2)
    phantom = (Code("113690", "DCM", "IEC Head Dosimetry Phantom") if ctdi_phantom_cm == 16
               else Code("113691", "DCM", "IEC Body Dosimetry Phantom"))
    h = _height_mm(patient)
    grid = _grid(h, rows, cols, n_slices, float(_ds(slice_thickness_mm)), superior_first=superior_first)
    xs, ys = grid.xs, grid.ys
    lesions = phantom_lesions(seed=seed, patient=patient)
    description = "CT LOW DOSE AC"
    series_uid = _uid("series", ctx.study_uid, "CT", series_number, description, at.isoformat())
    rng = _rng("ct-noise", seed, series_uid)
    noise_hu = 10.0 * math.sqrt(2.0 / max(ctdivol_mgy, 0.05))
    tube_ma = max(10, round(ctdivol_mgy * 25))
    out: list[Dataset] = []
    for k, depth in enumerate(grid.depths):
        z = -depth
        hu = _value_map(xs, ys, z, h, CT_HU, lesions, outside=CT_HU["outside"])
        hu = hu + noise_hu * rng.standard_normal(hu.shape)
        if defects.burned_in_annotation:
            _burn_in(hu, 2000.0)
        stored = np.clip(np.rint(hu + 1024.0), 0, 4095).astype("<u2")
        sop_uid = _uid("sop", series_uid, k)
        if out:  # a copy of the first slice's header, then what differs per slice
            ds = _clone(out[0], sop_uid)
            _ct_slice(ds, k, grid, z, stored)
            out.append(ds)
            continue
        ds = _base(CT_IMAGE_STORAGE, sop_uid, modality="CT", patient=patient, ctx=ctx, defects=defects, series_uid=series_uid,
                   series_number=series_number, series_description=description, series_start=at, model="SynthCT 16")
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.AcquisitionDate, ds.AcquisitionTime = _da(at.date()), _tm(at)
        ds.ContentDate, ds.ContentTime = _da(at.date()), _tm(at + timedelta(minutes=1))
        ds.ScanOptions = "HELICAL MODE"
        ds.SliceThickness = _ds(slice_thickness_mm)
        ds.KVP = str(kvp)
        ds.DataCollectionDiameter = "500"
        ds.ReconstructionDiameter = _ds(_fov_mm(h))
        ds.ExposureTime = 500
        ds.XRayTubeCurrent = tube_ma
        ds.Exposure = round(tube_ma * 0.5)
        ds.ConvolutionKernel = "STANDARD"
        ds.PatientPosition = "HFS"
        ds.SpiralPitchFactor = 1.0
        ds.CTDIvol = float(ctdivol_mgy)
        ds.CTDIPhantomTypeCodeSequence = DicomSequence([_code_item(phantom)])
        ds.AcquisitionNumber = 1
        ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows, ds.Columns = rows, cols
        ds.PixelSpacing = [_ds(grid.pixel_spacing), _ds(grid.pixel_spacing)]
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        ds.BurnedInAnnotation = "YES" if defects.burned_in_annotation else "NO"
        ds.WindowCenter, ds.WindowWidth = "40", "400"
        ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = "-1024", "1", "HU"
        if defects.private_phi:
            _private_phi(ds, patient)
        _ct_slice(ds, k, grid, z, stored)
        out.append(ds)
    if defects.missing_sop_instance_uid and out:
        del out[0].SOPInstanceUID
    return out


def _ct_slice(ds: Dataset, k: int, grid: _Grid, z: float, stored: np.ndarray) -> None:
    """The elements of a CT slice that differ from slice to slice."""
    ds.InstanceNumber = k + 1
    ds.ImagePositionPatient = [_ds(grid.x0), _ds(grid.y0), _ds(z)]
    ds.SliceLocation = _ds(z)
    ds.PixelData = stored.tobytes()


def _copy_elements(source: Dataset, target: Dataset) -> Dataset:
    """Copies of `source`'s elements into `target`: values shared, lists copied, sequence items copied the same way."""
    for tag, elem in source._dict.items():
        clone = copy.copy(elem)
        value = elem.value
        if isinstance(value, MultiValue):
            clone._value = copy.copy(value)
            clone._value._list = list(value._list)
        elif isinstance(value, DicomSequence):
            clone.value = DicomSequence([_copy_elements(item, Dataset()) for item in value])
        target._dict[tag] = clone
    return target


def _clone(template: Dataset, sop_uid: str) -> Dataset:
    """A copy of a slice's dataset with its own SOP Instance UID, for the next slice of the same series: each element
    copied (values shared, except lists and sequences, copied deep, so changing one slice never changes another),
    instead of building and validating every element again (most of a slice's cost at the demo's 64x64 size)."""
    ds = _copy_elements(template, Dataset())
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = template.file_meta.MediaStorageSOPClassUID
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = template.file_meta.TransferSyntaxUID
    ds.file_meta = meta
    ds.SOPInstanceUID = sop_uid
    return ds


# --------------------------------------------------------------------------------------------------
# 123I-MIBG SPECT (NM, multi-frame RECON TOMO)
# --------------------------------------------------------------------------------------------------
_VIEW_MS = 25_000
_VIEWS = 60  # per head, dual head, 3 degree steps


def mibg_spect_series(*, patient: PatientLike, seed: int, n_slices: int = 64, rows: int = 128, cols: int = 128,
                      injected_mbq: float | None = None, study: StudyContext | None = None, series_number: int = 4,
                      defects: Defects = Defects(), code_scheme: CodeScheme = "SCT") -> list[Dataset]:
    """A reconstructed 123I-MIBG SPECT: one NM Image Storage instance, `n_slices` frames (inferior first).

    Injection the day before (~24 h uptake). Cubic voxels (slice spacing = pixel spacing); geometry in the
    NM Detector Module (DetectorInformationSequence > ImagePositionPatient / ImageOrientationPatient),
    SpacingBetweenSlices positive (frames stacked along the normal, i.e. towards the head).
    Returned as a one-element list so that every generator returns a series.
    """
    t = TRACERS["I123_MIBG"]
    ctx = study or study_context(patient=patient, seed=seed)
    standard_mbq = recommended_activity_mbq(t.code, patient.weight_kg)
    activity_mbq = round(injected_mbq, 2) if injected_mbq is not None else standard_mbq
    if activity_mbq <= 0:
        raise ValueError("injected activity must be positive")
    dose_bq = int(round(activity_mbq * 1e6))
    injection = _injection_time(t, ctx, seed)
    h = _height_mm(patient)
    fov = _fov_mm(h)
    spacing = float(_ds(fov / max(rows, cols)))
    grid = _grid(h, rows, cols, n_slices, spacing, superior_first=False)
    xs, ys = grid.xs, grid.ys
    lesions = phantom_lesions(seed=seed, patient=patient)
    description = "SPECT MIBG RECON AC"
    series_uid = _uid("series", ctx.study_uid, "NM", series_number, description, activity_mbq)
    rng = _rng("nm-noise", seed, series_uid)
    scale = activity_mbq / standard_mbq  # counts scale with activity (same view time)
    frames = np.empty((n_slices, rows, cols), dtype="<u2")
    for k, depth in enumerate(grid.depths):
        expected = _value_map(xs, ys, -depth, h, MIBG_COUNTS, lesions) * scale
        counts = _blur(_blur(rng.poisson(expected).astype(np.float64)))
        if defects.burned_in_annotation:
            _burn_in(counts, 1000.0)
        frames[k] = np.clip(np.rint(counts), 0, 65535).astype("<u2")
    acquisition_end = ctx.scan_start + timedelta(milliseconds=_VIEWS * _VIEW_MS)

    sop_uid = _uid("sop", series_uid, 0)
    ds = _base(NM_IMAGE_STORAGE, sop_uid, modality="NM", patient=patient, ctx=ctx, defects=defects, series_uid=series_uid,
               series_number=series_number, series_description=description, series_start=ctx.scan_start, model="SynthSPECT 2")
    ds.ImageType = ["ORIGINAL", "PRIMARY", "RECON TOMO", "EMISSION"]
    ds.AcquisitionDate, ds.AcquisitionTime = _da(ctx.scan_start.date()), _tm(ctx.scan_start)
    end = acquisition_end + timedelta(minutes=5)
    ds.ContentDate, ds.ContentTime = _da(end.date()), _tm(end)
    ds.SliceThickness = _ds(spacing)
    ds.SpacingBetweenSlices = _ds(spacing)
    ds.ReconstructionDiameter = _ds(fov)
    ds.ConvolutionKernel = "OSEM 4i8s BW"
    ds.ActualFrameDuration = _VIEW_MS
    ds.CountsAccumulated = int(frames.sum(dtype=np.int64))
    ds.RadiopharmaceuticalInformationSequence = _radiopharmaceutical(t, dose_bq, injection, code_scheme)
    ds.InstanceNumber = 1
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.NumberOfFrames = n_slices
    ds.FrameIncrementPointer = 0x00540080  # Slice Vector: Table C.8-8, RECON TOMO
    ds.Rows, ds.Columns = rows, cols
    ds.PixelSpacing = [_ds(spacing), _ds(spacing)]
    ds.CorrectedImage = ["UNIF", "COR", "ATTN", "SCAT"]
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.BurnedInAnnotation = "YES" if defects.burned_in_annotation else "NO"
    ds.LossyImageCompression = "00"
    window = Dataset()
    window.EnergyWindowLowerLimit, window.EnergyWindowUpperLimit = "143.1", "174.9"  # 159 keV +/- 10 %
    energy = Dataset()
    energy.EnergyWindowRangeSequence = DicomSequence([window])
    energy.EnergyWindowName = "I123 159KEV"
    ds.EnergyWindowInformationSequence = DicomSequence([energy])
    ds.NumberOfEnergyWindows = 1
    detector = Dataset()
    detector.CollimatorGridName = "LEHR"
    detector.CollimatorType = "PARA"
    detector.FocalDistance = 0  # parallel hole: infinite
    detector.ImagePositionPatient = [_ds(grid.x0), _ds(grid.y0), _ds(-grid.depths[0])]
    detector.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.DetectorInformationSequence = DicomSequence([detector])
    ds.NumberOfDetectors = 1
    rotation = Dataset()
    rotation.StartAngle = "0"
    rotation.AngularStep = "3"
    rotation.RotationDirection = "CW"
    rotation.ScanArc = "180"
    rotation.ActualFrameDuration = _VIEW_MS
    rotation.NumberOfFramesInRotation = _VIEWS
    ds.RotationInformationSequence = DicomSequence([rotation])
    ds.NumberOfRotations = 1
    ds.TypeOfDetectorMotion = "STEP AND SHOOT"
    ds.SliceVector = list(range(1, n_slices + 1))
    ds.NumberOfSlices = n_slices
    _orientation_codes(ds)
    if defects.private_phi:
        _private_phi(ds, patient)
    ds.PixelData = frames.tobytes()
    if defects.missing_sop_instance_uid:
        del ds.SOPInstanceUID
    return [ds]


# --------------------------------------------------------------------------------------------------
# CT Radiation Dose SR (TID 10011)
# --------------------------------------------------------------------------------------------------
X_RAY_DOSE_SR_STORAGE = "1.2.840.10008.5.1.4.1.1.88.67"
_TARGET_REGIONS: dict[str, Code] = {
    "trunk": Code("38266002", "SCT", "Entire body"), "chest": Code("43799004", "SCT", "Chest"),
    "abdomen-pelvis": Code("818981001", "SCT", "Abdomen and Pelvis"), "head": Code("69536005", "SCT", "Head"),
}


def _sr_item(value_type: str, code: tuple[str, str, str], relationship: str = "CONTAINS", **values: object) -> Dataset:
    item = Dataset()
    item.RelationshipType = relationship
    item.ValueType = value_type
    item.ConceptNameCodeSequence = DicomSequence([_code_item(Code(*code))])
    for keyword, value in values.items():
        setattr(item, keyword, value)
    return item


def _sr_num(code: tuple[str, str, str], value: float, unit: tuple[str, str, str]) -> Dataset:
    measured = Dataset()
    measured.NumericValue = _ds(round(value, 2))
    measured.MeasurementUnitsCodeSequence = DicomSequence([_code_item(Code(*unit))])
    return _sr_item("NUM", code, MeasuredValueSequence=DicomSequence([measured]))


def ct_dose_sr(*, ct: Sequence[Dataset], patient: PatientLike, dlp_mgy_cm: float, phantom_cm: Literal[16, 32] = 32,
               region: str = "trunk", series_number: int = 999, defects: Defects = Defects()) -> Dataset:
    """An X-Ray Radiation Dose SR (TID 10011) for the CT series `ct`: one irradiation event with its CTDIvol, DLP,
    phantom and target region, and the accumulated "CT Dose Length Product Total" (113813)."""
    first = ct[0]
    ctx = StudyContext(study_uid=str(first.StudyInstanceUID), frame_of_reference_uid=str(first.FrameOfReferenceUID),
                       study_date=datetime.strptime(first.StudyDate, "%Y%m%d").date(),
                       study_time=datetime.strptime(first.StudyTime, "%H%M%S").time(),
                       scan_start=datetime.strptime(first.AcquisitionDate + first.AcquisitionTime, "%Y%m%d%H%M%S"),
                       accession_number=str(first.AccessionNumber), study_id=str(first.StudyID),
                       description=str(first.StudyDescription))
    series_uid = _uid("series", ctx.study_uid, "SR", series_number, dlp_mgy_cm)
    sop_uid = _uid("sop", series_uid, 0)
    ds = _base(X_RAY_DOSE_SR_STORAGE, sop_uid, modality="SR", patient=patient, ctx=ctx, defects=defects, series_uid=series_uid,
               series_number=series_number, series_description="CT DOSE REPORT", series_start=ctx.scan_start, model="SynthCT 16")
    del ds.FrameOfReferenceUID, ds.PositionReferenceIndicator  # not part of the SR IODs
    ds.InstanceNumber = 1
    ds.ContentDate, ds.ContentTime = _da(ctx.study_date), _tm(ctx.scan_start)
    ds.CompletionFlag, ds.VerificationFlag = "COMPLETE", "UNVERIFIED"
    ds.ValueType, ds.ContinuityOfContent = "CONTAINER", "SEPARATE"
    ds.ConceptNameCodeSequence = DicomSequence([_code_item(Code("113701", "DCM", "X-Ray Radiation Dose Report"))])
    template = Dataset()
    template.MappingResource, template.TemplateIdentifier = "DCMR", "10011"
    ds.ContentTemplateSequence = DicomSequence([template])
    length_cm = (abs(float(ct[-1].ImagePositionPatient[2]) - float(ct[0].ImagePositionPatient[2])) + float(first.SliceThickness)) / 10
    ctdivol = dlp_mgy_cm / length_cm
    phantom = (("113690", "DCM", "IEC Head Dosimetry Phantom") if phantom_cm == 16 else ("113691", "DCM", "IEC Body Dosimetry Phantom"))
    mgy, mgycm = ("mGy", "UCUM", "mGy"), ("mGy.cm", "UCUM", "mGy.cm")
    dose = _sr_item("CONTAINER", ("113829", "DCM", "CT Dose"), ContinuityOfContent="SEPARATE")
    dose.ContentSequence = DicomSequence([
        _sr_num(("113830", "DCM", "Mean CTDIvol"), ctdivol, mgy),
        _sr_item("CODE", ("113835", "DCM", "CTDIw Phantom Type"), ConceptCodeSequence=DicomSequence([_code_item(Code(*phantom))])),
        _sr_num(("113838", "DCM", "DLP"), dlp_mgy_cm, mgycm),
    ])
    event = _sr_item("CONTAINER", ("113819", "DCM", "CT Acquisition"), ContinuityOfContent="SEPARATE")
    event.ContentSequence = DicomSequence([
        _sr_item("CODE", ("123014", "DCM", "Target Region"), ConceptCodeSequence=DicomSequence([_code_item(_TARGET_REGIONS[region])])),
        _sr_item("CODE", ("113820", "DCM", "CT Acquisition Type"),
                 ConceptCodeSequence=DicomSequence([_code_item(Code("P5-08001", "SRT", "Spiral Acquisition"))])),
        _sr_item("UIDREF", ("113769", "DCM", "Irradiation Event UID"), UID=_uid("event", series_uid)),
        dose,
    ])
    accumulated = _sr_item("CONTAINER", ("113811", "DCM", "CT Accumulated Dose Data"), ContinuityOfContent="SEPARATE")
    accumulated.ContentSequence = DicomSequence([
        _sr_num(("113812", "DCM", "Total Number of Irradiation Events"), 1, ("{events}", "UCUM", "events")),
        _sr_num(("113813", "DCM", "CT Dose Length Product Total"), dlp_mgy_cm, mgycm),
    ])
    ds.ContentSequence = DicomSequence([accumulated, event])
    return ds


# --------------------------------------------------------------------------------------------------
# Studies, files, benchmark slices
# --------------------------------------------------------------------------------------------------
def pet_ct_study(*, tracer: str, patient: PatientLike, seed: int, n_slices: int = 64, rows: int = 128, cols: int = 128,
                 ct_rows: int = 256, ct_cols: int = 256, injected_mbq: float | None = None, low_dose: bool = False,
                 study_date: date | None = None, slice_thickness_mm: float = 3.0, defects: Defects = Defects(),
                 code_scheme: CodeScheme = "SCT") -> tuple[list[Dataset], list[Dataset]]:
    """(pet, ct) of one PET/CT study: shared StudyInstanceUID and FrameOfReferenceUID, same axial range."""
    t = get_tracer(tracer)
    ctx = study_context(patient=patient, seed=seed, study_date=study_date, description=f"PET/CT {t.short} WHOLE BODY")
    pet = pet_series(tracer=t.code, patient=patient, seed=seed, n_slices=n_slices, rows=rows, cols=cols,
                     injected_mbq=injected_mbq, low_dose=low_dose, study=ctx, slice_thickness_mm=slice_thickness_mm,
                     defects=defects, code_scheme=code_scheme)
    ct = ct_series(patient=patient, seed=seed, n_slices=n_slices, rows=ct_rows, cols=ct_cols, study=ctx,
                   slice_thickness_mm=slice_thickness_mm, defects=defects)
    return pet, ct


def spect_ct_study(*, patient: PatientLike, seed: int, n_slices: int = 64, rows: int = 128, cols: int = 128,
                   ct_rows: int = 256, ct_cols: int = 256, injected_mbq: float | None = None, study_date: date | None = None,
                   defects: Defects = Defects(), code_scheme: CodeScheme = "SCT") -> tuple[list[Dataset], list[Dataset]]:
    """(nm, ct) of one 123I-MIBG SPECT/CT: the CT follows the SPECT and covers the same slices."""
    ctx = study_context(patient=patient, seed=seed, study_date=study_date, description="MIBG SPECT/CT")
    nm = mibg_spect_series(patient=patient, seed=seed, n_slices=n_slices, rows=rows, cols=cols, injected_mbq=injected_mbq,
                           study=ctx, defects=defects, code_scheme=code_scheme)
    spacing = float(nm[0].SpacingBetweenSlices)
    ct = ct_series(patient=patient, seed=seed, n_slices=n_slices, rows=ct_rows, cols=ct_cols, study=ctx,
                   slice_thickness_mm=spacing, superior_first=False,
                   acquired_at=ctx.scan_start + timedelta(milliseconds=_VIEWS * _VIEW_MS + 60_000), defects=defects)
    return nm, ct


def encode(ds: Dataset) -> bytes:
    """The DICOM Part 10 file bytes of `ds` (preamble, DICM, validated file meta)."""
    buffer = io.BytesIO()
    pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def write_series(datasets: Iterable[Dataset], folder: str | os.PathLike[str]) -> list[Path]:
    """Write each dataset as a Part 10 file in `folder` (created if needed); returns the paths in order.

    Names: <Modality><SeriesNumber>-<InstanceNumber>-<8 hex of the SOP (or series) UID>.dcm.
    """
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    cache: _Cache = {}
    for ds in datasets:
        uid = str(ds.get("SOPInstanceUID") or f"{ds.SeriesInstanceUID}/{ds.InstanceNumber}")
        tag = hashlib.sha1(uid.encode()).hexdigest()[:8]
        path = target / f"{ds.Modality}{int(ds.SeriesNumber):03d}-{int(ds.InstanceNumber):04d}-{tag}.dcm"
        encoded = _encode_reusing(ds, cache)
        if encoded is None:
            pydicom.dcmwrite(path, ds, enforce_file_format=True)
        else:
            path.write_bytes(encoded)
        paths.append(path)
    return paths


_Cache = dict[int, tuple[object, str, object, bytes]]  # tag -> (value object, VR, character set, encoded element)


def _encode_reusing(ds: Dataset, cache: _Cache) -> bytes | None:
    """`ds` as pydicom.dcmwrite(..., enforce_file_format=True) writes it, byte for byte, reusing the encoding of every
    element whose value is the very object an earlier dataset of the same call held (slices made by `_clone` share
    them): the demo writes thousands of slices whose headers differ in a few elements. None when `ds` is not one this
    module built (read from a file, another transfer syntax, a preamble): the caller then uses dcmwrite."""
    meta = getattr(ds, "file_meta", None)
    if (type(ds) is not Dataset or meta is None or meta.get("TransferSyntaxUID") != ExplicitVRLittleEndian
            or getattr(ds, "preamble", None) or any(tag >> 16 in (0, 2) for tag in ds._dict)
            or not all(type(elem) is DataElement for elem in ds._dict.values())):
        return None
    fp = DicomBytesIO()
    fp.is_implicit_VR, fp.is_little_endian = False, True
    fp.write(b"\x00" * 128 + b"DICM")
    meta = _copy_elements(meta, FileMetaDataset())  # as dcmwrite: the dataset's own file meta is left as it was
    if meta.get("MediaStorageSOPClassUID") is None or (ds.get("SOPClassUID") and ds.SOPClassUID != meta.MediaStorageSOPClassUID):
        meta.MediaStorageSOPClassUID = ds.SOPClassUID
    instance = ds.get("SOPInstanceUID")
    if meta.get("MediaStorageSOPInstanceUID") is None or (instance and instance != meta.MediaStorageSOPInstanceUID):
        meta.MediaStorageSOPInstanceUID = instance
    write_file_meta_info(fp, meta, enforce_standard=True)
    charset = ds.get("SpecificCharacterSet", "iso8859")
    if "PixelData" in ds:
        ds["PixelData"].is_undefined_length = False
    for tag in sorted(ds._dict):
        if tag & 0xFFFF == 0 and tag >> 16 > 6:
            continue  # group lengths: dcmwrite leaves them out too
        elem = ds._dict[tag]
        if " or " in elem.VR:
            correct_ambiguous_vr_element(elem, ds, True)
        value = elem.value
        hit = cache.get(tag)
        if hit is not None and hit[0] is value and hit[1] == elem.VR and hit[2] == charset:
            fp.write(hit[3])
            continue
        if isinstance(value, (bytes, MultiValue, DicomSequence)):
            write_data_element(fp, elem, charset)  # pixels, lists, sequences: never shared (or changed in place)
            continue
        one = DicomBytesIO()
        one.is_implicit_VR, one.is_little_endian = False, True
        write_data_element(one, elem, charset)
        cache[tag] = (value, elem.VR, charset, one.getvalue())
        fp.write(cache[tag][3])
    return bytes(fp.getvalue())


def _bench_patient(i: int) -> PatientLike:
    weight = 12.0 + (i * 7) % 45
    return PatientLike(study_id=f"BENCH-{i:05d}", sex="MF"[i % 2], birth_date=date(2012 + i % 10, 1 + i % 12, 1 + i % 28),
                       weight_kg=weight, height_cm=round(40.0 * weight**0.35, 1))


def pet_slice_bytes(*, seed: int, n: int = 1000, rows: int = 192, cols: int = 192, slices_per_series: int = 100,
                    tracer: str = "F18_FDG") -> Iterator[bytes]:
    """`n` encoded PET slices for the ingest benchmarks: 192x192 16-bit by default (~75 KB each), in
    series of `slices_per_series` slices, one synthetic child and study per series. Deterministic."""
    made, index = 0, 0
    while made < n:
        count = min(slices_per_series, n - made)
        for ds in pet_series(tracer=tracer, patient=_bench_patient(index), seed=seed * 10_000 + index, n_slices=count,
                             rows=rows, cols=cols):
            yield encode(ds)
        made += count
        index += 1


# --------------------------------------------------------------------------------------------------
# Reading the phantom back (for tests): which pixels are liver, spleen, ...
# --------------------------------------------------------------------------------------------------
def organ_mask(ds: Dataset, organ: str, *, shrink: float = 1.0) -> np.ndarray:
    """Boolean mask of `organ` (a name in TISSUES) in a generated image, computed from its header.

    For a PET or CT slice: shape (Rows, Columns); for the NM multi-frame: (frames, Rows, Columns).
    With `shrink` < 1 only the organ's core is kept (radii x shrink), away from partial-volume edges
    and from neighbouring organs. Lesions are not part of any organ (none lies in the liver).
    """
    if organ not in TISSUES[1:]:
        raise ValueError(f"unknown organ {organ!r}")
    size = ds.get("PatientSize")
    h = 1000.0 * float(size) if size not in (None, "") else phantom_height_mm(None, float(ds.PatientWeight))
    row_spacing, column_spacing = (float(v) for v in ds.PixelSpacing)
    if "DetectorInformationSequence" in ds and "NumberOfFrames" in ds:
        position = ds.DetectorInformationSequence[0].ImagePositionPatient
        step = float(ds.SpacingBetweenSlices)
        zs = [float(position[2]) + k * step for k in range(int(ds.NumberOfFrames))]
    else:
        position = ds.ImagePositionPatient
        zs = [float(position[2])]
    xs = float(position[0]) + column_spacing * np.arange(int(ds.Columns))
    ys = float(position[1]) + row_spacing * np.arange(int(ds.Rows))
    index = TISSUES.index(organ)
    masks = []
    for z in zs:
        mask = _labels(xs, ys, z, h) == index
        core = np.zeros_like(mask)
        for shape in _SHAPES:
            if shape.tissue == organ:
                inside = _inside(shape, xs, ys, z, h, shrink)
                if inside is not None:
                    core |= inside
        masks.append(mask & core)
    return masks[0] if len(masks) == 1 and "NumberOfFrames" not in ds else np.stack(masks)
