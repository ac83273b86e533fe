"""The attributes QIDO-RS matches and returns, per level (PS3.18 table 6.7.1-2, -2a, -2b), declared once.

Each attribute says where its value lives: a database column of its level's row (`field`, matched in the query),
a value computed from rows after the query (`value`, such as the number of related instances), or nowhere
(`field` and `value` both None): the platform does not keep it (a de-identified study has no accession number or
referring physician), so it is returned empty, and a non-empty key for it matches nothing.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydicom.datadict import dictionary_VR, keyword_for_tag, tag_for_keyword

Level = Literal["study", "series", "instance"]
LEVELS: tuple[Level, ...] = ("study", "series", "instance")


@dataclass(frozen=True)
class Row:
    """One result row with the objects of every level above it and the figures computed for the page."""

    study: Any
    series: Any = None
    instance: Any = None
    counts: dict[str, Any] | None = None  # "series", "instances", "modalities" of the study; "series_instances"
    base: str = ""


@dataclass(frozen=True)
class Attribute:
    keyword: str
    level: Level
    field: str | None = None  # ORM path from the level's own model
    value: Callable[[Row], Any] | None = None
    required: bool = True  # returned without includefield (PS3.18 "shall be returned")
    kind: str = ""  # matching kind when it differs from the VR's: "text_ci" for the platform's study ID as PatientName

    @property
    def tag(self) -> str:
        return f"{tag_for_keyword(self.keyword):08X}"

    @property
    def vr(self) -> str:
        return str(dictionary_VR(self.tag))


def _date(value: Any) -> str | None:
    return value.strftime("%Y%m%d") if value else None


def _study_url(row: Row) -> str:
    return f"{row.base}/studies/{row.study.study_uid}"


def _series_url(row: Row) -> str:
    return f"{_study_url(row)}/series/{row.series.series_uid}"


def _acquisition(row: Row, start: int, end: int | None) -> str | None:
    return row.instance.acquisition[start:end] or None


def _geometry(key: str) -> Callable[[Row], Any]:
    return lambda row: (row.series.geometry or {}).get(key)


ATTRIBUTES: tuple[Attribute, ...] = (
    # Study
    Attribute("StudyDate", "study", field="study_date", value=lambda r: _date(r.study.study_date)),
    Attribute("StudyTime", "study"),
    Attribute("AccessionNumber", "study"),
    Attribute("InstanceAvailability", "study", value=lambda r: "ONLINE"),
    Attribute("ModalitiesInStudy", "study", field="series__modality", value=lambda r: r.counts["modalities"], kind="modalities"),
    Attribute("ReferringPhysicianName", "study"),
    Attribute("TimezoneOffsetFromUTC", "study"),
    Attribute("RetrieveURL", "study", value=_study_url),
    # The platform's study ID stands for the child's name and ID everywhere (the de-identification writes it so).
    Attribute("PatientName", "study", field="patient__study_id", value=lambda r: r.study.patient.study_id, kind="text_ci"),
    Attribute("PatientID", "study", field="patient__study_id", value=lambda r: r.study.patient.study_id),
    Attribute("PatientBirthDate", "study"),
    Attribute("PatientSex", "study"),
    Attribute("StudyInstanceUID", "study", field="study_uid", value=lambda r: r.study.study_uid),
    Attribute("StudyID", "study"),
    Attribute("NumberOfStudyRelatedSeries", "study", value=lambda r: r.counts["series"]),
    Attribute("NumberOfStudyRelatedInstances", "study", value=lambda r: r.counts["instances"]),
    Attribute("StudyDescription", "study", field="description", value=lambda r: r.study.description or None, required=False),
    Attribute("PatientWeight", "study", field="patient_weight_kg", value=lambda r: r.study.patient_weight_kg, required=False),
    Attribute("PatientSize", "study", field="patient_size_m", value=lambda r: r.study.patient_size_m, required=False),
    # Series
    Attribute("Modality", "series", field="modality", value=lambda r: r.series.modality),
    Attribute("SeriesDescription", "series", field="description", value=lambda r: r.series.description or None),
    Attribute("SeriesNumber", "series", field="series_number", value=lambda r: r.series.series_number),
    Attribute("SeriesInstanceUID", "series", field="series_uid", value=lambda r: r.series.series_uid),
    Attribute("NumberOfSeriesRelatedInstances", "series", value=lambda r: r.counts["series_instances"]),
    Attribute("PerformedProcedureStepStartDate", "series"),
    Attribute("PerformedProcedureStepStartTime", "series"),
    Attribute("RetrieveURL", "series", value=_series_url),
    Attribute("FrameOfReferenceUID", "series", field="frame_of_reference_uid",
              value=lambda r: r.series.frame_of_reference_uid or None, required=False),
    # Instance
    Attribute("SOPClassUID", "instance", field="sop_class_uid", value=lambda r: r.instance.sop_class_uid),
    Attribute("SOPInstanceUID", "instance", field="sop_instance_uid", value=lambda r: r.instance.sop_instance_uid),
    Attribute("InstanceAvailability", "instance", value=lambda r: "ONLINE"),
    Attribute("RetrieveURL", "instance", value=lambda r: f"{_series_url(r)}/instances/{r.instance.sop_instance_uid}"),
    Attribute("InstanceNumber", "instance", field="instance_number", value=lambda r: r.instance.instance_number),
    Attribute("Rows", "instance", value=_geometry("rows")),
    Attribute("Columns", "instance", value=_geometry("columns")),
    Attribute("BitsAllocated", "instance"),
    Attribute("NumberOfFrames", "instance"),
    # Kept at ingest as AcquisitionDate + AcquisitionTime (YYYYMMDDHHMMSS.FFFFFF): matched as text ranges.
    Attribute("AcquisitionDate", "instance", field="acquisition", value=lambda r: _acquisition(r, 0, 8), required=False,
              kind="acq_date"),
    Attribute("AcquisitionTime", "instance", field="acquisition", value=lambda r: _acquisition(r, 8, None), required=False,
              kind="acq_time"),
    Attribute("AcquisitionDateTime", "instance", field="acquisition", value=lambda r: _acquisition(r, 0, None),
              required=False, kind="acq_datetime"),
)
# RetrieveURL and InstanceAvailability exist at several levels: a key names the deepest one asked for.
BY_KEY: dict[tuple[Level, str], Attribute] = {(a.level, a.tag): a for a in ATTRIBUTES}


def tag_of(key: str) -> str | None:
    """A query key (keyword or eight hex digits) as a tag, or None when it is neither."""
    if len(key) == 8:
        try:
            number = int(key, 16)
        except ValueError:
            pass
        else:
            return f"{number:08X}"
    number = tag_for_keyword(key)
    return f"{number:08X}" if number is not None else None


def known_tag(tag: str) -> bool:
    return keyword_for_tag(int(tag, 16)) != ""


def find(tag: str, levels: tuple[Level, ...]) -> Attribute | None:
    """The attribute of `tag` at the deepest of `levels` that has it."""
    for level in reversed(levels):
        if (level, tag) in BY_KEY:
            return BY_KEY[(level, tag)]
    return None
