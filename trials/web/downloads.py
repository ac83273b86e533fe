"""The protocol document of a trial's protocol version, as a download (never from MEDIA_URL): found in the user's
scope (404 otherwise), checked and audited by the service, sent under a name made from the trial and version."""
from django.contrib.auth.decorators import login_required
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, HttpRequest
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from registry.web.downloads import attachment_response, download_or_404
from trials import selectors
from trials.models import ProtocolVersion
from trials.services.protocol_documents import protocol_document_download


def protocol_document_response(version: ProtocolVersion, file: FieldFile) -> FileResponse:
    """The page and the API send the same file under the same name."""
    return attachment_response(file, f"protocol-{version.trial.code}-v{version.number}")


@login_required
@require_GET
def protocol_document(request: HttpRequest, pk: int) -> FileResponse:
    version = get_object_or_404(selectors.protocol_version_list(user=request.user), pk=pk)
    file = download_or_404(protocol_document_download, actor=request.user, version=version)
    return protocol_document_response(version, file)
