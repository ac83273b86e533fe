"""Files a request brought (Django's UploadedFile) as the ingest takes them, and the upload API's raw-body parsers.

A request of up to FILE_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) is read in memory and handed over as bytes: a temporary file's
create costs more here than a small instance's parse (imaging.services.prepare.IncomingFile). A larger one streams to
temporary files (settings.FILE_UPLOAD_HANDLERS), handed over by path, so no large body is held whole.

Besides a multipart form, the upload API takes one file as the whole body, `Content-Type: application/dicom` (or
`application/zip`), the patient in the query: what a forwarder sends one instance at a time, as to Orthanc's
`POST /instances` or with `curl --data-binary`. DRF's FileUploadParser reads it through the same upload handlers.
"""
from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from rest_framework.parsers import DataAndFiles, FileUploadParser

from imaging.services.ingest import IncomingFile

# What a raw body's request says in its query (a multipart form says it in its fields); an empty body is not parsed
# (DRF), so the serializer refuses it for the missing file and patient, as it does an empty form.
RAW_BODY_QUERY = ("patient", "trial_visit_id")


def incoming_file(uploaded: UploadedFile) -> IncomingFile:
    name = uploaded.name or ""
    if hasattr(uploaded, "temporary_file_path"):
        return IncomingFile(name, Path(uploaded.temporary_file_path()))
    uploaded.seek(0)
    return IncomingFile(name, data=uploaded.read())


class _BodyParser(FileUploadParser):
    """The body is the file, named by Content-Disposition's filename when given, else `default_name` (the outcome's
    `file` says it; the ingest knows a DICOM file or a zip by its content, not its name). The query's `patient` and
    `trial_visit_id` are the rest of the form: `request.data` is what a multipart form would give, for the same input
    serializer."""

    default_name = ""

    def get_filename(self, stream: Any, media_type: Any, parser_context: Any) -> str:
        return super().get_filename(stream, media_type, parser_context) or self.default_name

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> DataAndFiles:
        body = super().parse(stream, media_type, parser_context)
        query = parser_context["request"].query_params
        return DataAndFiles({key: query[key] for key in RAW_BODY_QUERY if key in query}, {"files": [body.files["file"]]})


class DicomBodyParser(_BodyParser):
    media_type = "application/dicom"
    default_name = "instance.dcm"


class ZipBodyParser(_BodyParser):
    media_type = "application/zip"
    default_name = "upload.zip"


RAW_BODY_PARSERS = (DicomBodyParser, ZipBodyParser)
