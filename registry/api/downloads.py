"""Stored files in the API: a file field reads back as the URL of the action that sends it, and that action answers
a refusal of the download service as 404 (registry/web/downloads.py has the views' side)."""
from collections.abc import Callable
from typing import Any

from django.db.models.fields.files import FieldFile
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions

from registry.errors import ApplicationError

FILE_RESPONSE = {(200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY)}


def download_url(context: dict[str, Any], url_name: str, pk: int) -> str:
    """A stored file is read back as the URL of the action that sends it (checked and audited there), never as its
    storage address: stored files are not served from MEDIA_URL."""
    path = reverse(url_name, args=[pk])
    request = context.get("request")
    return request.build_absolute_uri(path) if request is not None else path


def download(send: Callable[..., FieldFile], **arguments: Any) -> FieldFile:
    """The service's file; a refusal (not the caller's to read, no file) answers 404 as out of scope."""
    try:
        return send(**arguments)
    except ApplicationError as error:
        raise exceptions.NotFound(error.message) from None
