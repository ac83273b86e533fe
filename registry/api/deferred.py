"""Requests answered now and decided later: `Prefer: respond-async` (RFC 7240), and what such a request may reuse.

A deferred upload (imaging.services.receipts) is acknowledged once its files are spooled; whether they are filed is
decided when they are filed, by the ingest's own checks against the database as it is then (the uploader's roles and
scope, the patient, the consent). The checks made at receipt only turn a sender away early. So a sender of one
instance per request, a DICOMweb client or a PACS forwarding a series, need not pay the token and role queries on every
instance: its token's user, with the roles read for it (registry.access caches them on the user object), is reused
for INTAKE_RECEIVE_CHECK_SECONDS per process. Only a view that declares `takes_deferred = True` (the upload API and
STOW-RS, which file nothing in the request when asked to respond async) gets this; every other request, and every
request to those views without the preference, authenticates as DRF's TokenAuthentication does.

What the reuse allows, and no more: for those few seconds after a token is deleted, or a role taken away, the token
still gets receipts. Their files are refused when filed (a deactivated user or a lost role holds no scope then); a
deleted token whose user keeps the role has the files filed as that user's, as they would have been a moment before.
"""
import threading
import time
from typing import Any

from django.conf import settings
from rest_framework.authentication import TokenAuthentication
from rest_framework.request import Request


def prefers_async(request: Request) -> bool:
    """Whether the request's Prefer header (comma-separated preferences, each with optional parameters) asks for
    respond-async."""
    return any(pref.split(";", 1)[0].strip().lower() == "respond-async"
               for pref in request.headers.get("Prefer", "").split(","))


# token key -> (until when, (user, token)): what a deferred request's token authenticated as, per process.
_remembered: dict[str, tuple[float, tuple[Any, Any]]] = {}
_REMEMBERED_MAX = 1_000
_lock = threading.Lock()  # a threaded server's requests share the dictionary


class DeferredTokenAuthentication(TokenAuthentication):
    """DRF's token authentication (the project's, settings.REST_FRAMEWORK); for a POST that prefers respond-async to a
    view that takes deferred requests, the answer is remembered briefly (above).

    Only a success is remembered: an unknown token or an inactive user is asked of the database every time."""

    _deferred = False

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        view = (request.parser_context or {}).get("view")
        # DRF makes an instance per request, so this flag is the request's own.
        self._deferred = getattr(view, "takes_deferred", False) and request.method == "POST" and prefers_async(request)
        return super().authenticate(request)

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        if not self._deferred:
            return super().authenticate_credentials(key)
        now = time.monotonic()
        hit = _remembered.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        found = super().authenticate_credentials(key)
        with _lock:
            if len(_remembered) >= _REMEMBERED_MAX:
                _remembered.clear()
            _remembered[key] = (now + settings.INTAKE_RECEIVE_CHECK_SECONDS, found)
        return found


def deferred_forget() -> None:
    """Drop every remembered token (tests, whose rolled-back rows give the same keys to other users)."""
    with _lock:
        _remembered.clear()
