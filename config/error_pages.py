"""Friendly error pages with DEBUG on (the demo and a laptop run with DEBUG on).

With DEBUG off, Django renders registry/templates/404.html, 403.html and 500.html through its default handlers. With
DEBUG on it answers a missing page or a failing view with its technical page instead, and the technical 404 lists
every URL pattern of the site: the demo must not show that to its users. This middleware (installed by
config/settings/dev.py, switched off with FRIENDLY_ERROR_PAGES=False when a developer wants the technical page) puts the
friendly page in its place. The exception itself is still logged by django.request, traceback included.
"""
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

# Both of Django's technical pages (technical_404.html, technical_500.html) carry this sentence; no page of ours does.
TECHNICAL_PAGE_MARK = b"<code>DEBUG = True</code>"


class FriendlyErrorPagesMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (settings.DEBUG and getattr(settings, "FRIENDLY_ERROR_PAGES", False) and response.status_code in (404, 500)
                and not response.streaming and TECHNICAL_PAGE_MARK in response.content):
            template = f"{response.status_code}.html"
            # The 500 page is rendered without the request, as Django's own handler does: it must not depend on what failed.
            body = render_to_string(template, {"request_path": request.path}, request if response.status_code == 404 else None)
            return HttpResponse(body, status=response.status_code)
        return response
