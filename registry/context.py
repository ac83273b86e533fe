"""Who and what caused the current unit of work, for the audit trail and log lines.

A request, a management command or a Celery task opens a context; code with no context open (the
Django shell, a script) is recorded as source "shell" so nothing escapes the trail.
"""
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class WorkContext:
    request_id: str
    source: str  # api | web | admin | command | task | shell


_current: ContextVar[WorkContext | None] = ContextVar("nbnm_work_context", default=None)


def new_request_id() -> str:
    return uuid.uuid4().hex


def current() -> WorkContext:
    ctx = _current.get()
    if ctx is None:
        ctx = WorkContext(request_id=new_request_id(), source="shell")
        _current.set(ctx)
    return ctx


@contextmanager
def work_context(*, source: str, request_id: str | None = None) -> Iterator[WorkContext]:
    ctx = WorkContext(request_id=request_id or new_request_id(), source=source)
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)
