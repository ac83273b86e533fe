"""The login lock-out (django-axes): which address a failure counts against, and what a locked-out caller is told.

Axes calls both through settings (AXES_CLIENT_IP_CALLABLE, AXES_LOCKOUT_CALLABLE). The status stays axes' 429
(Too Many Requests, with Retry-After as RFC 6585 pairs them): the credentials may well be right, so 401 or 403
would tell the caller the wrong thing.
"""
import ipaddress
from datetime import timedelta
from typing import Any

from axes.helpers import get_cool_off
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.timesince import timeuntil
from django.utils.translation import gettext as _


def _valid_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def client_ip(request: HttpRequest) -> str | None:
    """The client's address as the last of TRUSTED_PROXY_COUNT proxies saw it.

    With no proxy (the default) it is REMOTE_ADDR. Behind N proxies, each appends the address it received from to
    X-Forwarded-For, so the client is the N-th entry from the right; anything further left was written by the client
    and is ignored (reading the left-most entry would let a client pick its own lock-out key). A request with fewer
    entries did not come through the proxies, so its REMOTE_ADDR is the client.
    """
    remote = request.META.get("REMOTE_ADDR")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    chain = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    if len(chain) < proxies or not _valid_ip(chain[-proxies]):
        return remote
    return chain[-proxies]


def _wants_json(request: HttpRequest) -> bool:
    """API clients (the token endpoint included) and scripts get the API's error shape; browsers get the page."""
    return (request.path.startswith(("/api/", "/dicomweb/")) or "application/json" in request.headers.get("Accept", "")
            or request.headers.get("X-Requested-With") == "XMLHttpRequest")


def lockout_response(request: HttpRequest, original_response: HttpResponse | None = None,
                     credentials: dict[str, Any] | None = None) -> HttpResponse:
    """What a locked-out login attempt answers (axes' AXES_LOCKOUT_CALLABLE).

    Each attempt while locked restarts the cool-off (axes' AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT), so the
    caller may retry after one whole cool-off from now.
    """
    cool_off = get_cool_off(request) or timedelta(0)
    seconds = int(cool_off.total_seconds())
    now = timezone.now()
    # "30 minutes", "1 hour, 30 minutes": Django's own words, translated with the rest of the page.
    wait = timeuntil(now + cool_off, now)
    status = settings.AXES_HTTP_RESPONSE_CODE
    if _wants_json(request):
        # The page's text (registration/locked_out.html), so both share one translation.
        detail = _("Too many failed login attempts. Try again in %(cooloff_time)s, or ask your data manager to unlock the account.")
        response: HttpResponse = JsonResponse(
            {"code": "locked_out", "detail": detail % {"cooloff_time": wait}, "fields": {}, "retry_after_seconds": seconds},
            status=status)
    else:
        response = render(request, "registration/locked_out.html", {"cooloff_time": wait}, status=status)
    response["Retry-After"] = str(seconds)
    return response
