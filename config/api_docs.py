"""The OpenAPI schema and its two viewers (Swagger UI, ReDoc), open to anyone or to signed-in users only.

API_DOCS_PUBLIC decides, read at each request: on in dev (the demo's front page links the docs), off in
production, where the schema maps every endpoint and filter for whoever asks. The viewers' scripts and styles come
from our own static files (drf-spectacular-sidecar), so the pages work on a hospital network without internet.
"""
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.permissions import BasePermission


def docs_open_to(user: Any) -> bool:
    return bool(settings.API_DOCS_PUBLIC or (user is not None and user.is_authenticated))


class ApiDocsAccess(BasePermission):
    """The schema: a token or a session when the docs are not public (anonymous callers get 401)."""

    def has_permission(self, request: Any, view: Any) -> bool:
        return docs_open_to(request.user)


def _signed_in_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A viewer page sends an anonymous browser to the login page and back, as the other pages do."""

    @wraps(view)
    def page(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not docs_open_to(request.user):
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return page


schema_view = SpectacularAPIView.as_view(permission_classes=[ApiDocsAccess])
swagger_view = _signed_in_page(SpectacularSwaggerView.as_view(url_name="schema", permission_classes=[ApiDocsAccess]))
# Our template: drf-spectacular's loads its fonts from Google.
redoc_view = _signed_in_page(SpectacularRedocView.as_view(url_name="schema", permission_classes=[ApiDocsAccess],
                                                          template_name="registry/api_redoc.html"))
