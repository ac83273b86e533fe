"""Downloads of the registry's stored files: a consent's scanned signature page and a consent document's PDF; and the
two helpers every download view uses (the trials' protocol documents too).

Stored files are never served from MEDIA_URL; each leaves only through a view like these, which finds the record in
the user's scope (404 otherwise), asks the service (which checks the rule and records the download in the audit trail,
registry/services/files.py) and names the file after the record, never after the name it was uploaded with.
"""
import mimetypes
from collections.abc import Callable
from pathlib import PurePath
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from registry.errors import ApplicationError
from registry.models import ConsentDocument, ConsentRecord
from registry.selectors import consent_document_list, consent_record_list
from registry.services.consent import consent_document_pdf_download, consent_signature_page_download


def attachment_response(file: FieldFile, stem: str) -> FileResponse:
    """The file as an attachment called `stem` plus the stored file's extension, with its guessed content type."""
    suffix = PurePath(file.name or "").suffix.lower()
    content_type = mimetypes.guess_type(f"x{suffix}")[0] or "application/octet-stream"
    return FileResponse(file.storage.open(file.name, "rb"), as_attachment=True, filename=f"{stem}{suffix}", content_type=content_type)


def download_or_404(send: Callable[..., FieldFile], **arguments: Any) -> FieldFile:
    """The download service's file; its refusal (not the user's to read, no file) is a 404, as if it were not there."""
    try:
        return send(**arguments)
    except ApplicationError as error:
        raise Http404(error.message) from None


def signature_page_response(record: ConsentRecord, file: FieldFile) -> FileResponse:
    """The page and the API send the same file under the same name."""
    return attachment_response(file, f"consent-{record.patient.study_id}-v{record.document.version}-signature-page")


def document_pdf_response(document: ConsentDocument, file: FieldFile) -> FileResponse:
    return attachment_response(file, f"consent-{document.scope}-v{document.version}-{document.language}")


@login_required
@require_GET
def consent_signature_page(request: HttpRequest, study_id: str, pk: int) -> FileResponse:
    record = get_object_or_404(consent_record_list(user=request.user), patient__study_id=study_id, pk=pk)
    file = download_or_404(consent_signature_page_download, actor=request.user, record=record)
    return signature_page_response(record, file)


@login_required
@require_GET
def consent_document_pdf(request: HttpRequest, pk: int) -> FileResponse:
    document = get_object_or_404(consent_document_list(user=request.user), pk=pk)
    file = download_or_404(consent_document_pdf_download, actor=request.user, document=document)
    return document_pdf_response(document, file)
