"""DICOMweb: STOW-RS into the ingest service; QIDO-RS search and WADO-RS retrieval of published instances.

Scoped with the platform's access rule like every API: a study outside the caller's hospitals does
not exist for them. Only studies that are ready (not on hold) and instances that are not quarantined
are published.
"""
import json
import tempfile
import uuid
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pydicom
from django.core.files.storage import default_storage
from django.db.models import Q, QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.views import APIView

from imaging.api.views import patient_for_upload
from imaging.dicomweb import json as dj
from imaging.dicomweb.stow import stow_store
from imaging.models import ImagingStudy, Instance, Series
from imaging.multipart_related import split_parts
from registry.access import Action
from registry.errors import ApplicationError

DICOM_JSON = "application/dicom+json"


class DicomWebView(APIView):
    """DICOMweb speaks its own media types: never refuse a request over its Accept header."""

    parser_classes: list[type] = []
    schema = None  # DICOMweb is specified by PS3.18, not by this API's OpenAPI schema

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        return super().perform_content_negotiation(request, force=True)

    def base_url(self, request: Request) -> str:
        return request.build_absolute_uri("/dicomweb").rstrip("/")


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    response = HttpResponse(json.dumps(data), content_type=DICOM_JSON, status=status)
    for key, value in (headers or {}).items():
        response[key] = value
    return response


def published_studies(user: Any) -> QuerySet[ImagingStudy]:
    return ImagingStudy.objects.restrict(user, Action.VIEW).filter(status=ImagingStudy.Status.READY)


def published_instances(user: Any) -> QuerySet[Instance]:
    return (Instance.objects.restrict(user, Action.VIEW)
            .filter(quarantine_reason="", series__study__status=ImagingStudy.Status.READY)
            .select_related("series__study"))


def _paginate(request: Request, qs: QuerySet[Any]) -> QuerySet[Any]:
    try:
        offset = max(int(request.query_params.get("offset", 0)), 0)
        limit = min(max(int(request.query_params.get("limit", 1000)), 1), 5000)
    except ValueError as exc:
        raise ApplicationError("limit and offset must be integers.", code="invalid") from exc
    return qs[offset:offset + limit]


def _date_filter(value: str) -> Q:
    """DICOM date matching: YYYYMMDD, or a range YYYYMMDD-YYYYMMDD with either end open."""
    def parse(text: str) -> date:
        return datetime.strptime(text, "%Y%m%d").date()

    try:
        if "-" in value:
            start, end = value.split("-", 1)
            q = Q()
            if start:
                q &= Q(study_date__gte=parse(start))
            if end:
                q &= Q(study_date__lte=parse(end))
            return q
        return Q(study_date=parse(value))
    except ValueError as exc:
        raise ApplicationError("StudyDate must be YYYYMMDD or a YYYYMMDD-YYYYMMDD range.", code="invalid") from exc


class StudiesView(DicomWebView):
    def get(self, request: Request) -> HttpResponse:
        """QIDO-RS study search: StudyInstanceUID, PatientID (platform study ID), StudyDate, ModalitiesInStudy."""
        qs = published_studies(request.user).select_related("patient").prefetch_related("series")
        params = request.query_params
        if params.get("StudyInstanceUID"):
            qs = qs.filter(study_uid__in=params.get("StudyInstanceUID").split(","))
        if params.get("PatientID"):
            qs = qs.filter(patient__study_id=params["PatientID"])
        if params.get("StudyDate"):
            qs = qs.filter(_date_filter(params["StudyDate"]))
        if params.get("ModalitiesInStudy"):
            qs = qs.filter(series__modality=params["ModalitiesInStudy"]).distinct()
        base = self.base_url(request)
        return _json([dj.study_json(s, base) for s in _paginate(request, qs.order_by("-study_date", "pk"))])

    def post(self, request: Request) -> HttpResponse:
        """STOW-RS: store instances (multipart/related; type="application/dicom")."""
        return self._store(request)

    def _store(self, request: Request, study_uid: str | None = None) -> HttpResponse:
        with tempfile.TemporaryDirectory(prefix="nbnm-stow-") as tmp:
            parts = split_parts(request._request.read, request.content_type or request.META.get("CONTENT_TYPE", ""),
                                Path(tmp))
            if not parts:
                raise ApplicationError("The request has no parts.", code="bad_request")
            hint = request.query_params.get("patient") or request.headers.get("X-Patient-ID")
            result = stow_store(actor=request.user, parts=parts, patient_hint=hint,
                                find_patient=lambda sid: patient_for_upload(request, sid), base=self.base_url(request))
        return _json(result.body, status=result.status, headers=result.headers)


class StudyStoreView(StudiesView):
    def get(self, request: Request, study: str) -> HttpResponse:  # type: ignore[override]
        return _multipart(published_instances(request.user).filter(series__study__study_uid=study))

    def post(self, request: Request, study: str) -> HttpResponse:  # type: ignore[override]
        return self._store(request, study)


class StudySeriesView(DicomWebView):
    def get(self, request: Request, study: str) -> HttpResponse:
        """QIDO-RS series search within a study."""
        if not published_studies(request.user).filter(study_uid=study).exists():
            raise exceptions.NotFound()
        qs = Series.objects.restrict(request.user, Action.VIEW).filter(study__study_uid=study).select_related("study")
        if request.query_params.get("Modality"):
            qs = qs.filter(modality=request.query_params["Modality"])
        base = self.base_url(request)
        return _json([dj.series_json(s, base) for s in _paginate(request, qs.order_by("series_number", "pk"))])


class SeriesInstancesView(DicomWebView):
    def get(self, request: Request, study: str, series: str) -> HttpResponse:
        """QIDO-RS instance search within a series."""
        if not published_studies(request.user).filter(study_uid=study, series__series_uid=series).exists():
            raise exceptions.NotFound()
        qs = published_instances(request.user).filter(series__series_uid=series, series__study__study_uid=study)
        base = self.base_url(request)
        return _json([dj.instance_json(i, base) for i in _paginate(request, qs.order_by("instance_number", "pk"))])


def _stream(instances: list[Instance], boundary: str) -> Iterator[bytes]:
    for inst in instances:
        yield (f"--{boundary}\r\nContent-Type: application/dicom\r\nContent-Length: {inst.size}\r\n\r\n").encode()
        with default_storage.open(inst.storage_key, "rb") as fh:
            while chunk := fh.read(1 << 20):
                yield chunk
        yield b"\r\n"
    yield f"--{boundary}--\r\n".encode()


def _multipart(qs: QuerySet[Instance]) -> StreamingHttpResponse:
    instances = list(qs.order_by("instance_number", "pk"))
    if not instances:
        raise exceptions.NotFound()
    boundary = uuid.uuid4().hex
    return StreamingHttpResponse(
        _stream(instances, boundary),
        content_type=f'multipart/related; type="application/dicom"; boundary={boundary}')


class SeriesRetrieveView(DicomWebView):
    def get(self, request: Request, study: str, series: str) -> StreamingHttpResponse:
        """WADO-RS: every published instance of a series."""
        return _multipart(published_instances(request.user).filter(series__series_uid=series, series__study__study_uid=study))


class InstanceRetrieveView(DicomWebView):
    def get(self, request: Request, study: str, series: str, instance: str) -> StreamingHttpResponse:
        """WADO-RS: one de-identified instance."""
        return _multipart(published_instances(request.user).filter(
            sop_instance_uid=instance, series__series_uid=series, series__study__study_uid=study))


class SeriesMetadataView(DicomWebView):
    def get(self, request: Request, study: str, series: str) -> HttpResponse:
        """WADO-RS metadata: the headers of a series (no pixel data), as DICOM JSON, for viewers such as OHIF."""
        instances = list(published_instances(request.user).filter(series__series_uid=series, series__study__study_uid=study)
                         .order_by("instance_number", "pk"))
        if not instances:
            raise exceptions.NotFound()
        out = []
        for inst in instances:
            with default_storage.open(inst.storage_key, "rb") as fh:
                ds = pydicom.dcmread(fh, stop_before_pixels=True)
            out.append(ds.to_json_dict(bulk_data_threshold=1024, bulk_data_element_handler=lambda el: ""))
        return _json(out)

