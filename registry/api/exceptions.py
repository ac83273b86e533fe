"""Every API error has the same shape: {"code": ..., "detail": ..., "fields": {...}}."""
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from registry.errors import ApplicationError
from registry.services.common import validation_error


def _flatten(detail: Any) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {str(k): [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in detail.items()}
    return {"non_field_errors": [str(m) for m in (detail if isinstance(detail, list) else [detail])]}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        exc = validation_error(exc)
    if isinstance(exc, ApplicationError):
        return Response({"code": exc.code, "detail": exc.message, "fields": exc.fields}, status=status.HTTP_400_BAD_REQUEST)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        first = next(iter(fields.values()))[0] if fields else "Invalid input."
        response.data = {"code": "invalid", "detail": first, "fields": fields}
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        response.data = {"code": codes if isinstance(codes, str) else exc.default_code, "detail": str(exc.detail), "fields": {}}
    else:  # Http404 / PermissionDenied from Django
        response.data = {"code": "not_found" if response.status_code == 404 else "permission_denied",
                         "detail": str(response.data.get("detail", "")), "fields": {}}
    return response
