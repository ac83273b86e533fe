"""A blinded reading case's own DICOMweb root: the few PS3.18 resources the viewer reads, for the case's series only.

    reading/assignments/<pk>/cases/<position>/dicomweb/studies/{study}/series                          QIDO-RS series
    .../studies/{study}/series/{series}/metadata                                                      WADO-RS metadata
    .../studies/{study}/series/{series}/instances/{sop}/frames/{n}                                    WADO-RS frames

Access is the reader's own case (imaging.reading.selectors: another reader's case, or a case of an assignment the
caller does not hold, is a 404; a reader who can now open the series elsewhere is refused as not blind).

What reaches the browser is built from an allow-list, never by deleting what is known to be secret: the geometry and
pixel description the viewer needs, and nothing else. No description, protocol, date or time, activity or
radiopharmaceutical, institution, patient, private or original UID attribute can pass, because only the attributes
named in ALLOWED are copied. UIDs are pseudonyms (2.25.<128 bits of an HMAC keyed by the server's secret, the
assignment's seed and the case>), stable for the case and different in every other case, so two series of one study
do not share a study UID (which would tell a reader the pair). For a quantified PET series the SUVbw factor is folded
into RescaleSlope/RescaleIntercept (and the window): the rescaled values the viewer computes are SUVs, and neither
Bq/ml nor the factor (weight / activity, which separates a low-dose arm from a standard one) is served.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from functools import cached_property
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.valuerep import format_number_as_ds
from rest_framework import exceptions
from rest_framework.request import Request

from imaging import viewer_config
from imaging.dicomweb import json as dj
from imaging.dicomweb import metadata_cache, wado
from imaging.dicomweb.views import DICOM_JSON, DicomWebView
from imaging.models import ImagingStudy, Instance, Series
from imaging.reading import selectors
from imaging.reading.models import AssignmentCase
from imaging.volume import read_dataset
from registry.models import User

# Copied as they are (when present). Everything else is left out.
ALLOWED = (
    "SOPClassUID", "Modality", "InstanceNumber", "ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing",
    "SliceThickness", "SpacingBetweenSlices", "Rows", "Columns", "SamplesPerPixel", "PhotometricInterpretation",
    "BitsAllocated", "BitsStored", "HighBit", "PixelRepresentation", "RescaleSlope", "RescaleIntercept", "WindowCenter",
    "WindowWidth", "NumberOfFrames", "FrameIncrementPointer", "SliceVector", "NumberOfSlices",
)
# Sequences copied with only these attributes in each item (NM multi-frame geometry).
ALLOWED_SEQUENCES = {"DetectorInformationSequence": ("ImagePositionPatient", "ImageOrientationPatient")}
# Written by this module: pseudonymous UIDs, and Units GML when the rescaled values are SUVs.
WRITTEN = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "FrameOfReferenceUID", "Units")


def _pseudonym(key: bytes, uid: str) -> str:
    digest = hmac.new(key, uid.encode(), hashlib.sha256).digest()
    return f"2.25.{int.from_bytes(digest[:16], 'big')}"


class Pseudonyms:
    """The case's UIDs: real UID -> 2.25.<HMAC>, stable for the case, unrelated across cases and assignments."""

    def __init__(self, case: AssignmentCase) -> None:
        secret = f"{settings.SECRET_KEY}:reading-case:{case.assignment_id}:{case.assignment.seed}:{case.pk}"
        self._key = hashlib.sha256(secret.encode()).digest()
        self.series = case.item.series

    def of(self, uid: str) -> str:
        return _pseudonym(self._key, uid)

    @cached_property
    def study_uid(self) -> str:
        return self.of(self.series.study.study_uid)

    @cached_property
    def series_uid(self) -> str:
        return self.of(self.series.series_uid)


def case_root(case: AssignmentCase) -> str:
    return reverse("web-reading-case", args=[case.assignment_id, case.position]) + "dicomweb"


def suv_folded(series: Series) -> float | None:
    """The SUVbw factor folded into the case's rescale values, or None (not a quantified PET series)."""
    result = getattr(series, "suv", None)  # no SUV result: the reverse one-to-one raises an AttributeError
    if result is None or not result.quantifiable or not result.suv_bw_factor:
        return None
    return float(result.suv_bw_factor)


def viewer_for(case: AssignmentCase) -> viewer_config.Viewer:
    """The viewer dict of the case page."""
    series = case.item.series
    names = Pseudonyms(case)
    return viewer_config.for_case(root=case_root(case), study_uid=names.study_uid, series_uid=names.series_uid,
                                  modality=series.modality, suv_folded=suv_folded(series) is not None,
                                  context={"page": "case", "assignment": case.assignment_id, "position": case.position})


def reader_case(user: User, pk: int, position: int) -> AssignmentCase:
    """The caller's own case (404 otherwise), refused when the reader is no longer blind to the session's series."""
    case = get_object_or_404(selectors.case_list(user=user).select_related("assignment__session", "item__series__study",
                                                                          "item__series__suv"),
                             assignment_id=pk, position=position)
    selectors.require_blinding(user=user, assignment=case.assignment)
    return case


def _instances(case: AssignmentCase) -> QuerySet[Instance]:
    """The case's published instances (study ready, instance not quarantined), in the stack's order."""
    return (Instance.objects.filter(series=case.item.series, quarantine_reason="",
                                    series__study__status=ImagingStudy.Status.READY)
            .order_by("instance_number", "id"))


def _check_path(names: Pseudonyms, study: str, series: str | None = None) -> None:
    if study != names.study_uid or (series is not None and series != names.series_uid):
        raise exceptions.NotFound()


def _ds(value: float) -> str:
    return format_number_as_ds(float(value))


def _scaled(value: Any, factor: float) -> Any:
    values = list(value) if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue" else [value]
    scaled = [_ds(float(v) * factor) for v in values]
    return scaled if len(scaled) > 1 else scaled[0]


def blinded_dataset(ds: Dataset, names: Pseudonyms, factor: float | None) -> Dataset:
    """The allow-listed attributes of one instance, with pseudonymous UIDs and (for PET) SUVs as rescaled values."""
    out = Dataset()
    for keyword in ALLOWED:
        if keyword in ds and ds[keyword].value not in (None, ""):
            out[keyword] = ds[keyword]
    for keyword, inner in ALLOWED_SEQUENCES.items():
        if keyword in ds and ds[keyword].VR == "SQ":
            items = []
            for item in ds[keyword].value:
                kept = Dataset()
                for child in inner:
                    if child in item:
                        kept[child] = item[child]
                items.append(kept)
            setattr(out, keyword, DicomSequence(items))
    out.StudyInstanceUID = names.study_uid
    out.SeriesInstanceUID = names.series_uid
    out.SOPInstanceUID = names.of(str(ds.SOPInstanceUID))
    if ds.get("FrameOfReferenceUID"):
        out.FrameOfReferenceUID = names.of(str(ds.FrameOfReferenceUID))
    if factor is not None:
        out.RescaleSlope = _ds(float(ds.get("RescaleSlope", 1) or 1) * factor)
        out.RescaleIntercept = _ds(float(ds.get("RescaleIntercept", 0) or 0) * factor)
        for keyword in ("WindowCenter", "WindowWidth"):
            if keyword in out:
                setattr(out, keyword, _scaled(ds[keyword].value, factor))
        out.Units = "GML"
    return out


_ALLOWED_TAGS = {f"{tag_for_keyword(k):08X}" for k in ALLOWED}
_ALLOWED_SEQUENCE_TAGS = {f"{tag_for_keyword(k):08X}": {f"{tag_for_keyword(c):08X}" for c in inner}
                          for k, inner in ALLOWED_SEQUENCES.items()}


def _value(header: dict[str, Any], keyword: str) -> Any:
    values = header.get(f"{tag_for_keyword(keyword):08X}", {}).get("Value") or [None]
    return values[0] if len(values) == 1 else values


def blinded_json(header: dict[str, Any], names: Pseudonyms, factor: float | None) -> dict[str, Any]:
    """blinded_dataset(...).to_json_dict() from an instance's cached DICOM JSON (imaging.dicomweb.metadata_cache)
    instead of its file: the allow-listed attributes copied as they are, the written ones made as blinded_dataset
    makes them. The tests hold the two equal for PET (with the SUV fold), CT and multi-frame NM."""
    out: dict[str, Any] = {}
    for tag in _ALLOWED_TAGS:
        if "Value" in header.get(tag, {}):  # an empty value has no "Value" (and is left out by blinded_dataset too)
            out[tag] = header[tag]
    for tag, inner in _ALLOWED_SEQUENCE_TAGS.items():
        element = header.get(tag)
        if element is not None and element.get("vr") == "SQ":
            out[tag] = {"vr": "SQ", "Value": [{k: v for k, v in item.items() if k in inner}
                                              for item in element.get("Value", [])]}
    written = Dataset()
    written.StudyInstanceUID = names.study_uid
    written.SeriesInstanceUID = names.series_uid
    written.SOPInstanceUID = names.of(str(_value(header, "SOPInstanceUID")))
    if _value(header, "FrameOfReferenceUID"):
        written.FrameOfReferenceUID = names.of(str(_value(header, "FrameOfReferenceUID")))
    if factor is not None:
        written.RescaleSlope = _ds(float(_value(header, "RescaleSlope") or 1) * factor)
        written.RescaleIntercept = _ds(float(_value(header, "RescaleIntercept") or 0) * factor)
        for keyword in ("WindowCenter", "WindowWidth"):
            if f"{tag_for_keyword(keyword):08X}" in out:
                setattr(written, keyword, _scaled(_value(header, keyword), factor))
        written.Units = "GML"
    out.update(written.to_json_dict())
    return dict(sorted(out.items()))


def case_metadata(case: AssignmentCase) -> list[dict[str, Any]]:
    """The case's metadata from the series' metadata cache (one storage read when warm), allow-listed."""
    names = Pseudonyms(case)
    factor = suv_folded(case.item.series)
    instances = list(_instances(case).only("id", "sha256", "storage_key", "series_id", "instance_number"))
    found = metadata_cache.headers(instances)
    return [blinded_json(found[inst.sha256], names, factor) for inst in instances]


def case_metadata_from_files(case: AssignmentCase) -> list[dict[str, Any]]:
    """The same answer built from every stored file, bypassing the cache (what the tests compare with)."""
    names = Pseudonyms(case)
    factor = suv_folded(case.item.series)
    return [blinded_dataset(read_dataset(inst, pixels=False), names, factor).to_json_dict()
            for inst in _instances(case)]


def case_instance(case: AssignmentCase, sop: str) -> Instance:
    names = Pseudonyms(case)
    for inst in _instances(case):
        if names.of(inst.sop_instance_uid) == sop:
            return inst
    raise exceptions.NotFound()


def _json(data: Any) -> HttpResponse:
    response = HttpResponse(json.dumps(data), content_type=DICOM_JSON)
    response["Cache-Control"] = "private, no-store"
    return response


class CaseSeriesView(DicomWebView):
    def get(self, request: Request, pk: int, position: int, study: str) -> HttpResponse:
        """QIDO-RS series of the case's study: its one series, with nothing but its modality and pseudonymous UIDs."""
        case = reader_case(request.user, pk, position)
        names = Pseudonyms(case)
        _check_path(names, study)
        count = _instances(case).count()
        if not count:
            raise exceptions.NotFound()
        return _json([{"00080060": dj.attr("CS", case.item.series.modality), "0020000D": dj.attr("UI", names.study_uid),
                       "0020000E": dj.attr("UI", names.series_uid), "00200011": dj.attr("IS", 1),
                       "00201209": dj.attr("IS", count)}])


class CaseMetadataView(DicomWebView):
    def get(self, request: Request, pk: int, position: int, study: str, series: str) -> HttpResponse:
        """WADO-RS metadata of the case's series: allow-listed geometry and pixel attributes, pseudonymous UIDs."""
        case = reader_case(request.user, pk, position)
        _check_path(Pseudonyms(case), study, series)
        body = case_metadata(case)
        if not body:
            raise exceptions.NotFound()
        return _json(body)


class CaseFramesView(DicomWebView):
    def get(self, request: Request, pk: int, position: int, study: str, series: str, instance: str, frames: str) -> HttpResponse:
        """WADO-RS frames of one instance of the case's series: the stored pixel values, nothing else."""
        case = reader_case(request.user, pk, position)
        _check_path(Pseudonyms(case), study, series)
        response = wado.frames(case_instance(case, instance), frames)
        response["Cache-Control"] = "private, no-store"
        return response
