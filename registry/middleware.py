import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from registry.context import work_context

# A caller-supplied id is kept only when it is short and plain, so it cannot smuggle text into logs.
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class AuditContextMiddleware:
    """Opens a work context per request: a request id (X-Request-ID in and out) and the source."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        supplied = request.headers.get("X-Request-ID", "")
        request_id = supplied if _SAFE_ID.match(supplied) else None
        path = request.path
        source = "admin" if path.startswith("/admin/") else "api" if path.startswith(("/api/", "/dicomweb/")) else "web"
        with work_context(source=source, request_id=request_id) as ctx:
            request.request_id = ctx.request_id  # type: ignore[attr-defined]
            response = self.get_response(request)
        response["X-Request-ID"] = ctx.request_id
        return response
