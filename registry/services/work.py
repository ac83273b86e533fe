"""The one engine for background work: jobs, report runs and the series pipeline all move through here.

A model is background work when it has a `work_spec` (registry.models.work). Its rows go
pending -> running -> succeeded | failed:

- queue: the task is sent after the row commits (the worker must find it). A send the broker refuses is logged and
  the row stays pending for the sweep, so a committed request never turns into a 500 because the broker is down.
- claim: one conditional UPDATE from pending (and due) to running counts the attempt and takes a lease; a redelivered
  or duplicated message finds nothing to claim and does nothing.
- run: the requester's access is checked again first (a role revoked after queueing fails the run with
  `access_revoked`, audited), then the handler runs; each progress report renews the lease (the heartbeat).
- finish: written only while the row is still this worker's (running, same claim time), so a worker whose lease
  expired and was taken over cannot overwrite its successor's outcome.
- transient errors (database or broker connection) put the row back to pending, due after an exponential backoff,
  up to JOB_MAX_ATTEMPTS; every other error fails it at once: a refusal or a bug does not improve by repeating.
- sweep: one beat task re-queues pending rows whose message was lost and running rows whose lease expired (their
  worker died), each by a conditional update, so it is queued once however many sweeps run.
- retry: a user's retry of a failed row, or of a running row whose lease expired, is `work_retry`, audited.
"""
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import kombu.exceptions
from django.apps import apps
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, models, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from registry.access import Action
from registry.audit import audit_record
from registry.context import work_context
from registry.errors import ApplicationError
from registry.models import User
from registry.models.work import WorkFields, WorkSpec

logger = logging.getLogger(__name__)

PENDING, RUNNING, FAILED = "pending", "running", "failed"
ACCESS_REVOKED = "access_revoked"
# Errors that may pass by themselves: the database or the broker was briefly unreachable or busy.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (OperationalError, InterfaceError, kombu.exceptions.OperationalError,
                                                     ConnectionError, TimeoutError)
# What a send to a broker that is down raises (kombu wraps socket errors in its OperationalError).
SEND_ERRORS: tuple[type[BaseException], ...] = (kombu.exceptions.OperationalError, ConnectionError, TimeoutError)
# A countdown message may be delivered a moment before the row is due by the database's clock.
CLOCK_SLACK = timedelta(seconds=2)


class LeaseLost(Exception):
    """The row is no longer this worker's (its lease expired and the sweep gave it to another)."""


def access_revoked() -> ApplicationError:
    """The refusal of a run whose requester lost access to what it covers after it was queued."""
    return ApplicationError(_("Not run: the person who requested it no longer has access to what it covers."), code=ACCESS_REVOKED)


def work_models() -> list[type[models.Model]]:
    return [m for m in apps.get_models() if isinstance(getattr(m, "work_spec", None), WorkSpec)]


def _spec(model: type[models.Model]) -> WorkSpec:
    return model.work_spec  # type: ignore[attr-defined, no-any-return]


def lease_until(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) + timedelta(seconds=settings.JOB_LEASE_SECONDS)


def backoff_seconds(attempt: int) -> int:
    """Seconds before attempt `attempt + 1`: doubling from JOB_RETRY_BASE_SECONDS, capped at JOB_RETRY_MAX_SECONDS."""
    return int(min(settings.JOB_RETRY_BASE_SECONDS * 2 ** max(attempt - 1, 0), settings.JOB_RETRY_MAX_SECONDS))


def work_send(model: type[models.Model], pk: int, *, countdown: int | None = None) -> bool:
    """Send the row's task now. False, and a log line, when the broker refused it: the row stays pending for the sweep."""
    spec = _spec(model)
    try:
        import_string(spec.task).apply_async(args=[pk], countdown=countdown)
    except SEND_ERRORS:
        logger.warning("could not queue %s %s: left pending for the sweep", spec.name, pk, exc_info=True)
        return False
    return True


def work_queue_after_commit(model: type[models.Model], pk: int) -> None:
    """Send the row's task once the caller's transaction commits (at once outside one)."""
    transaction.on_commit(lambda: work_send(model, pk))


@dataclass
class Work:
    """One claimed row, handed to its handler: progress, heartbeat and the outcome, all fenced by the claim."""

    model: type[models.Model]
    pk: int
    claimed_at: datetime
    attempt: int
    finished: bool = False

    @property
    def spec(self) -> WorkSpec:
        return _spec(self.model)

    def _mine(self) -> models.QuerySet[Any]:
        f = self.spec.fields
        return self.model._default_manager.filter(pk=self.pk, **{f.status: RUNNING, f.started_at: self.claimed_at})

    def progress(self, percent: int) -> None:
        """Record progress (0-99; 100 is written with the outcome) and renew the lease."""
        f = self.spec.fields
        self._mine().update(**{f.progress: max(0, min(99, int(percent))), f.lease_expires_at: lease_until()})

    def finish(self, status: str, **columns: Any) -> None:
        """Write the outcome (in the caller's transaction, if any). Raises LeaseLost when the row is no longer ours."""
        f = self.spec.fields
        columns = {f.status: status, f.lease_expires_at: None, **columns}
        if f.finished_at:
            columns.setdefault(f.finished_at, timezone.now())
        if not self._mine().update(**columns):
            raise LeaseLost
        self.finished = True

    def succeed(self, **columns: Any) -> None:
        f = self.spec.fields
        outcome = {f.progress: 100, f.error: ""} | ({f.error_code: ""} if f.error_code else {})
        self.finish(self.spec.succeeded, **outcome, **columns)

    def fail(self, message: str, code: str = "") -> None:
        f = self.spec.fields
        self.finish(FAILED, **{f.error: message[:2000]}, **({f.error_code: code[:40]} if f.error_code else {}))

    def retry_later(self, message: str) -> bool:
        """Back to pending, due after the backoff, and re-sent with that countdown; failed once the attempts are spent."""
        if self.attempt >= settings.JOB_MAX_ATTEMPTS:
            self.fail(_("Gave up after %(attempts)d attempts: %(error)s") % {"attempts": self.attempt, "error": message}, "transient")
            return False
        f = self.spec.fields
        delay = backoff_seconds(self.attempt)
        if not self._mine().update(**{f.status: PENDING, f.queued_at: timezone.now() + timedelta(seconds=delay),
                                      f.lease_expires_at: None, f.error: message[:2000]}):
            raise LeaseLost
        self.finished = True
        logger.warning("%s %s: transient error on attempt %d, retried in %d s", self.spec.name, self.pk, self.attempt, delay)
        work_send(self.model, self.pk, countdown=delay)
        return True


def _claim(model: type[models.Model], pk: int) -> Work | None:
    spec, now = _spec(model), timezone.now()
    f = spec.fields
    due = Q(**{f"{f.queued_at}__isnull": True}) | Q(**{f"{f.queued_at}__lte": now + CLOCK_SLACK})
    columns = {f.status: RUNNING, f.started_at: now, f.lease_expires_at: lease_until(now), f.attempts: F(f.attempts) + 1}
    if spec.restart_progress:
        columns[f.progress] = 0
    if not model._default_manager.filter(due, pk=pk, **{f.status: PENDING}).update(**columns):
        return None
    attempt = model._default_manager.filter(pk=pk).values_list(f.attempts, flat=True).get()
    return Work(model=model, pk=pk, claimed_at=now, attempt=attempt)


def _message(exc: BaseException) -> str:
    # Shown to the requester: services and builders raise messages without identifiers.
    return exc.message if isinstance(exc, ApplicationError) else f"{type(exc).__name__}: {exc}"


def work_execute(*, model: type[models.Model], pk: int) -> bool:
    """Claim and run one row; what Celery tasks call. False when there was nothing to claim (done, running or not due).

    Runs in English whoever's request queued it (an eager run inherits the request's language): errors are stored.
    """
    work = _claim(model, pk)
    if work is None:
        return False
    spec = work.spec
    row = model._default_manager.get(pk=pk)
    with translation.override("en"), work_context(source="task", request_id=getattr(row, "request_id", "") or None):
        try:
            _run(work, row)
        except LeaseLost:
            logger.warning("%s %s: lease lost to another worker; its outcome stands", spec.name, pk)
    return True


def _run(work: Work, row: models.Model) -> None:
    spec = work.spec
    try:
        if spec.authorise:
            import_string(spec.authorise)(row)
        result = import_string(spec.handler)(row, work)
        if not work.finished:
            work.succeed(**({spec.fields.result: result or {}} if spec.fields.result else {}))
    except LeaseLost:
        raise
    except TRANSIENT_ERRORS as exc:
        if not connection.in_atomic_block:  # a broken connection is replaced before the row is written back
            connection.close_if_unusable_or_obsolete()
        work.retry_later(_message(exc))
    except ApplicationError as exc:
        _refuse(work, row, exc)
    except Exception as exc:
        logger.exception("%s %s failed", spec.name, work.pk)
        work.fail(_message(exc))


def _refuse(work: Work, row: models.Model, exc: ApplicationError) -> None:
    """A refusal is final. One for lost access is also audited, as the requester's, so the trail shows why it stopped."""
    with transaction.atomic():
        work.fail(exc.message, exc.code)
        if exc.code == ACCESS_REVOKED and isinstance(getattr(row, "requested_by", None), User):
            audit_record(actor=row.requested_by, action="work_refused", instance=row, trial_id=getattr(row, "trial_id", None),
                         after={"kind": work.spec.name, "code": exc.code, "reason": exc.message})


def work_requeue_stale() -> int:
    """The one sweep (a beat task): re-queue lost and abandoned work of every kind. Returns how many rows it queued.

    Pending rows due longer than JOB_STALE_AFTER_SECONDS ago lost their message (e.g. a broker outage); running rows
    whose lease expired lost their worker. Each is taken by a conditional update repeating the stale condition, so
    concurrent or repeated sweeps queue it once.
    """
    queued = 0
    for model in work_models():
        queued += _requeue_lost(model) + _recover_abandoned(model)
    if queued:
        logger.warning("re-queued %d stale row(s) of background work", queued)
    return queued


def _requeue_lost(model: type[models.Model]) -> int:
    f, now = _spec(model).fields, timezone.now()
    stale = Q(**{f.status: PENDING}) & (Q(**{f"{f.queued_at}__isnull": True})
                                        | Q(**{f"{f.queued_at}__lt": now - timedelta(seconds=settings.JOB_STALE_AFTER_SECONDS)}))
    queued = 0
    for pk in list(model._default_manager.filter(stale).values_list("pk", flat=True)):
        if model._default_manager.filter(stale, pk=pk).update(**{f.queued_at: now}):
            work_send(model, pk)
            queued += 1
    return queued


def _recover_abandoned(model: type[models.Model]) -> int:
    f, now = _spec(model).fields, timezone.now()
    expired = Q(**{f.status: RUNNING, f"{f.lease_expires_at}__lt": now})
    queued = 0
    for pk, attempts in list(model._default_manager.filter(expired).values_list("pk", f.attempts)):
        mine = model._default_manager.filter(expired, pk=pk)
        if attempts >= settings.JOB_MAX_ATTEMPTS:
            reason = _("The worker stopped before finishing, %(attempts)d times; not tried again.") % {"attempts": attempts}
            mine.update(**{f.status: FAILED, f.error: reason, f.lease_expires_at: None} | ({f.error_code: "abandoned"} if f.error_code else {}))
            continue
        if mine.update(**{f.status: PENDING, f.queued_at: now, f.lease_expires_at: None}):
            work_send(model, pk)
            queued += 1
    return queued


def _retryable(row: models.Model, f: WorkFields) -> bool:
    """Failed, or running with its lease expired: its worker died and nobody will finish it before the sweep does."""
    status = getattr(row, f.status)
    lease = getattr(row, f.lease_expires_at)
    return status == FAILED or (status == RUNNING and lease is not None and lease < timezone.now())


@transaction.atomic
def work_retry(*, actor: User, row: models.Model) -> models.Model:
    """Queue a failed or abandoned row again for a user who may change it: a fresh budget of attempts, audited.

    Abandoned is running with an expired lease (the worker was killed or lost the broker). A worker that is in fact
    still alive cannot overwrite what the retry's run writes: its claim time no longer matches (Work.finish).
    """
    model, spec = type(row), _spec(type(row))
    f = spec.fields
    locked = (model._default_manager.restrict(actor, Action.CHANGE)  # type: ignore[attr-defined]
              .select_for_update(of=("self",)).filter(pk=row.pk).first())
    if locked is None:
        raise ApplicationError(_("This is not yours to retry."), code="out_of_scope")
    if not _retryable(locked, f):
        state = str(getattr(locked, f"get_{f.status}_display")()).lower()
        message = _("Only failed work, or work whose worker stopped, is retried (this is %(state)s).") % {"state": state}
        raise ApplicationError(message, code="invalid_transition", fields={f.status: [message]})
    before = {"status": getattr(locked, f.status), "error": getattr(locked, f.error)}
    columns = {f.status: PENDING, f.error: "", f.queued_at: timezone.now(), f.attempts: 0, f.lease_expires_at: None}
    if f.error_code:
        columns[f.error_code] = ""
    if spec.restart_progress:
        columns[f.progress] = 0
    if spec.on_retry:
        columns |= import_string(spec.on_retry)(locked)
    model._default_manager.filter(pk=row.pk).update(**columns)
    hospital_path = getattr(model, "scope_hospital_path", None)
    hospital_id = model._default_manager.filter(pk=row.pk).values_list(hospital_path, flat=True).get() if hospital_path else None
    audit_record(actor=actor, action="work_retry", instance=locked, before=before, after={"kind": spec.name, "status": PENDING},
                 hospital_id=hospital_id, trial_id=getattr(locked, "trial_id", None))
    work_queue_after_commit(model, row.pk)
    return model._default_manager.get(pk=row.pk)

