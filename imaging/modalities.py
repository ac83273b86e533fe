"""What the platform does with each DICOM modality and each tracer: one table, read by every step that decides.

Readers: upload validation (imaging/dicom/validate.py), the study's modality group (services/ingest.py), the SUV step
and VOIs (steps.py, services/voi.py), the volume cache (volume.py), previews (steps.py, previews.py), the exam dose
(services/dose.py) and which reading systems score which tracer (reading/rules.py).

Pure Python: no Django, no models (the radiopharmaceuticals themselves are nucmed's catalogue).
"""
from dataclasses import dataclass
from enum import Enum


class Upload(Enum):
    """How a file of the modality is accepted."""

    IMAGES = "images"  # an image series (pixels required)
    DOSE_REPORT = "dose_report"  # only as a radiation dose structured report (no pixels; its content is read)
    SECONDARY_CAPTURE = "secondary_capture"  # only inside a secondary capture, which is quarantined for review


@dataclass(frozen=True)
class Modality:
    code: str  # DICOM Modality (0008,0060)
    upload: Upload | None  # None: refused
    emission: bool = False  # images of the radiopharmaceutical: the exam's administered activity is read from them
    quantified: bool = False  # SUV is computed, VOIs are measured, and its volume is cached (SUV, previews and VOIs read it)
    preview_units: str = ""  # units of its previews when not quantified; "" = not previewed
    ct_dose: bool = False  # its exposures count for the CT part of the exam dose (CTDIvol, DLP)
    dose_report: bool = False  # a dose report: when present it supersedes the CT images' own headers
    group: str = ""  # the study's modality group (ImagingStudy.ModalityGroup value) it makes, the first in this table winning


# In order of precedence for the study's modality group: a PET/CT study also holds CT series.
MODALITIES: tuple[Modality, ...] = (
    Modality("PT", Upload.IMAGES, emission=True, quantified=True, preview_units="Bq/ml", group="pet_ct"),
    Modality("NM", Upload.IMAGES, emission=True, preview_units="counts", group="spect_ct"),
    Modality("CT", Upload.IMAGES, preview_units="HU", ct_dose=True, group="ct"),
    Modality("SR", Upload.DOSE_REPORT, ct_dose=True, dose_report=True),
    Modality("OT", Upload.SECONDARY_CAPTURE),
)
BY_CODE: dict[str, Modality] = {m.code: m for m in MODALITIES}
# Not in the table: refused at upload, and every flag is off.
UNKNOWN = Modality("", None)

IMAGE_MODALITIES: tuple[str, ...] = tuple(m.code for m in MODALITIES if m.upload is Upload.IMAGES)
DOSE_REPORT_MODALITIES: tuple[str, ...] = tuple(m.code for m in MODALITIES if m.upload is Upload.DOSE_REPORT)
# A secondary capture may carry any modality that is accepted as images, or the generic "other".
SECONDARY_CAPTURE_MODALITIES: tuple[str, ...] = tuple(m.code for m in MODALITIES if m.upload in (Upload.IMAGES, Upload.SECONDARY_CAPTURE))
EMISSION_MODALITIES: tuple[str, ...] = tuple(m.code for m in MODALITIES if m.emission)
CT_DOSE_IMAGE_MODALITIES: tuple[str, ...] = tuple(m.code for m in MODALITIES if m.ct_dose and not m.dose_report)
CT_DOSE_REPORT_MODALITIES: tuple[str, ...] = tuple(m.code for m in MODALITIES if m.ct_dose and m.dose_report)
# What an upload refusal lists as accepted.
ALLOWED_TEXT = "allowed: " + ", ".join([*IMAGE_MODALITIES, *(f"{code} (dose reports)" for code in DOSE_REPORT_MODALITIES)])


def of(code: str) -> Modality:
    return BY_CODE.get(code, UNKNOWN)


def modality_group(codes: set[str]) -> str:
    """The study's modality group from the modalities of its series ("" when none makes one)."""
    return next((m.group for m in MODALITIES if m.group and m.code in codes), "")


@dataclass(frozen=True)
class Tracer:
    code: str  # nucmed.radiopharmaceuticals code (one row per catalogue agent, in catalogue order)
    scored_by: tuple[str, ...] = ()  # the reading systems (imaging/reading) that score its studies


# Every catalogue agent is accepted for upload (and SUV when imaged by PET); these are scored by readers:
# MIBG by the Curie and SIOPEN skeletal scores, somatostatin-receptor PET by the Krenning score.
TRACERS: tuple[Tracer, ...] = (
    Tracer("I123_MIBG", ("curie", "siopen")),
    Tracer("I131_MIBG", ("curie", "siopen")),
    Tracer("F18_FDG"),
    Tracer("F18_NAF"),
    Tracer("GA68_DOTATATE", ("krenning",)),
)


def tracers_scored_by(system: str) -> tuple[str, ...]:
    """The tracers a reading system scores, in catalogue order."""
    return tuple(t.code for t in TRACERS if system in t.scored_by)
