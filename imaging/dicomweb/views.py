"""DICOMweb (PS3.18): STOW-RS into the ingest service; QIDO-RS search (imaging.dicomweb.qido) and WADO-RS retrieval,
metadata, bulk data, frames and rendered images (imaging.dicomweb.wado) of published instances.

Scoped with the platform's access rule like every API: a study outside the caller's hospitals does
not exist for them. Only studies that are ready (not on hold) and instances that are not quarantined
are published.
"""
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.utils.translation import gettext
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.views import APIView

from imaging.api.views import patient_for_upload, receipt_answer
from imaging.dicomweb import qido, wado
from imaging.dicomweb.attributes import Level
from imaging.dicomweb.stow import stow_receive, stow_store
from imaging.models import Instance
from imaging.multipart_related import split_parts
from imaging.services.ingest import IncomingFile
from registry.api.base import query_input
from registry.api.deferred import prefers_async
from registry.errors import ApplicationError

DICOM_JSON = "application/dicom+json"


class DicomWebView(APIView):
    """DICOMweb speaks its own media types: never refuse a request over its Accept header."""

    parser_classes: list[type] = []
    takes_deferred = True  # STOW-RS: Prefer: respond-async (registry.api.deferred)
    schema = None  # DICOMweb is specified by PS3.18, not by this API's OpenAPI schema

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        return super().perform_content_negotiation(request, force=True)

    def base_url(self, request: Request) -> str:
        return request.build_absolute_uri("/dicomweb").rstrip("/")


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None, content_type: str = DICOM_JSON) -> HttpResponse:
    response = HttpResponse(json.dumps(data), content_type=content_type, status=status)
    for key, value in (headers or {}).items():
        response[key] = value
    return response


def _instances(user: Any, study: str, series: str | None = None, instance: str | None = None) -> QuerySet[Instance]:
    """The caller's published instances of a study, series or instance (the hierarchy named whole, never a UID alone)."""
    qs = qido.published_instances(user).filter(series__study__study_uid=study)
    if series is not None:
        qs = qs.filter(series__series_uid=series)
    if instance is not None:
        qs = qs.filter(sop_instance_uid=instance)
    return qs


def _one(qs: QuerySet[Instance]) -> Instance:
    found = qs.first()
    if found is None:
        raise exceptions.NotFound()
    return found


class _Search(DicomWebView):
    """QIDO-RS at one level; `fixed` are the levels whose UIDs the path names."""

    level: Level
    fixed: tuple[Level, ...] = ()

    def search(self, request: Request, qs: QuerySet[Any]) -> HttpResponse:
        query = qido.parse(request.query_params, self.level, self.fixed)
        result = qido.search(qs, query, base=self.base_url(request))
        return _json(result.body, headers=_warning(result.warnings))


def _warning(warnings: list[str]) -> dict[str, str]:
    return {"Warning": ", ".join(f'299 nbnm "{w}"' for w in warnings[:20])} if warnings else {}


class StudiesView(_Search):
    level = "study"

    def get(self, request: Request) -> HttpResponse:
        """QIDO-RS: search for studies."""
        return self.search(request, qido.published_studies(request.user))

    def post(self, request: Request) -> HttpResponse:
        """STOW-RS: store instances (multipart/related; type="application/dicom")."""
        return self._store(request)

    def _store(self, request: Request, study_uid: str | None = None) -> HttpResponse:
        made: list[Path] = []  # the parts' folder, made only for a body too large to split in memory

        def folder() -> Path:
            if not made:
                made.append(Path(tempfile.mkdtemp(prefix="nbnm-stow-")))
            return made[0]

        parts: list[IncomingFile] = []
        try:
            parts = split_parts(request._request.read, request.content_type or request.META.get("CONTENT_TYPE", ""), folder,
                                length=_content_length(request))
            if not parts:
                raise ApplicationError("The request has no parts.", code="bad_request")
            hint = request.query_params.get("patient") or request.headers.get("X-Patient-ID")
            if prefers_async(request):  # acknowledged once spooled, filed a moment later (docs/imaging/index.md)
                result = stow_receive(actor=request.user, parts=parts, patient_hint=hint,
                                      find_patient=lambda sid: patient_for_upload(request, sid),
                                      answer=lambda r, patient: receipt_answer(r, patient=patient, user=request.user))
                return _json(result.body, status=result.status, headers=result.headers, content_type="application/json")
            result = stow_store(actor=request.user, parts=parts, patient_hint=hint,
                                find_patient=lambda sid: patient_for_upload(request, sid), base=self.base_url(request))
        finally:
            if made:
                _remove(made[0], parts)
        return _json(result.body, status=result.status, headers=result.headers)


def _content_length(request: Request) -> int | None:
    try:
        return int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:  # none given (chunked), or not a number: the parts go to disk
        return None


def _remove(folder: Path, parts: list[IncomingFile]) -> None:
    """The request's part files and their folder: unlinked by name (a one-instance request has one, or none when split
    in memory), which costs a fraction of a tree walk; the walk only when something else is left (parts of a request
    that failed midway)."""
    for part in parts:
        if part.path is not None:
            part.path.unlink(missing_ok=True)
    try:
        folder.rmdir()
    except OSError:
        shutil.rmtree(folder, ignore_errors=True)


class StudyStoreView(StudiesView):
    def get(self, request: Request, study: str) -> HttpResponse:  # type: ignore[override]
        """WADO-RS: every published instance of a study."""
        return wado.retrieve(_instances(request.user, study))

    def post(self, request: Request, study: str) -> HttpResponse:  # type: ignore[override]
        return self._store(request, study)


class AllSeriesView(_Search):
    level = "series"

    def get(self, request: Request) -> HttpResponse:
        """QIDO-RS: search for series in every study (study attributes returned too)."""
        return self.search(request, qido.published_series(request.user))


class AllInstancesView(_Search):
    level = "instance"

    def get(self, request: Request) -> HttpResponse:
        """QIDO-RS: search for instances in every study."""
        return self.search(request, qido.published_instances(request.user))


class StudySeriesView(_Search):
    level, fixed = "series", ("study",)

    def get(self, request: Request, study: str) -> HttpResponse:
        """QIDO-RS: search for series within a study."""
        if not qido.published_studies(request.user).filter(study_uid=study).exists():
            raise exceptions.NotFound()
        return self.search(request, qido.published_series(request.user).filter(study__study_uid=study))


class StudyInstancesView(_Search):
    level, fixed = "instance", ("study",)

    def get(self, request: Request, study: str) -> HttpResponse:
        """QIDO-RS: search for instances within a study (series attributes returned too)."""
        if not qido.published_studies(request.user).filter(study_uid=study).exists():
            raise exceptions.NotFound()
        return self.search(request, _instances(request.user, study))


class SeriesInstancesView(_Search):
    level, fixed = "instance", ("study", "series")

    def get(self, request: Request, study: str, series: str) -> HttpResponse:
        """QIDO-RS: search for instances within a series."""
        if not qido.published_series(request.user).filter(study__study_uid=study, series_uid=series).exists():
            raise exceptions.NotFound()
        return self.search(request, _instances(request.user, study, series))


class SeriesRetrieveView(DicomWebView):
    def get(self, request: Request, study: str, series: str) -> StreamingHttpResponse:
        """WADO-RS: every published instance of a series."""
        return wado.retrieve(_instances(request.user, study, series))


class InstanceRetrieveView(DicomWebView):
    def get(self, request: Request, study: str, series: str, instance: str) -> StreamingHttpResponse:
        """WADO-RS: one de-identified instance."""
        return wado.retrieve(_instances(request.user, study, series, instance))


class MetadataView(DicomWebView):
    def get(self, request: Request, study: str, series: str | None = None, instance: str | None = None) -> HttpResponse:
        """WADO-RS metadata of a study, series or instance: the headers as DICOM JSON, without pixel data; long
        binary values and the pixel data by BulkDataURI."""
        return _json(wado.metadata(_instances(request.user, study, series, instance), self.base_url(request)))


class BulkDataView(DicomWebView):
    def get(self, request: Request, study: str, series: str, instance: str, path: str) -> HttpResponse:
        """WADO-RS bulk data: a value a metadata response gave by BulkDataURI."""
        return wado.bulkdata(_one(_instances(request.user, study, series, instance)), path)


class FramesView(DicomWebView):
    def get(self, request: Request, study: str, series: str, instance: str, frames: str) -> HttpResponse:
        """WADO-RS frames: uncompressed pixel values of the frames named (1-based, comma separated)."""
        return wado.frames(_one(_instances(request.user, study, series, instance)), frames)


class RenderedView(DicomWebView):
    """WADO-RS rendered (and, with `thumbnail`, thumbnail) of a study, series, instance or frame, as JPEG or PNG.

    A study or series is shown by its representative image (the middle instance of its first series)."""

    thumbnail = False

    def get(self, request: Request, study: str, series: str | None = None, instance: str | None = None,
            frames: str | None = None) -> HttpResponse:
        how = wado.rendering(query_input(request, wado.RenderQuery), request.headers.get("Accept", ""),
                             thumbnail=self.thumbnail)
        qs = _instances(request.user, study, series, instance)
        if instance is None:
            return wado.render(wado.representative(qs), how)
        if frames is not None and not frames.isdigit():
            raise ApplicationError(gettext("A rendered frame is one frame number."), code="invalid_frame")
        return wado.render(_one(qs), how, frame=int(frames) if frames is not None else None)


class ThumbnailView(RenderedView):
    thumbnail = True
