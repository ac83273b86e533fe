"""Background jobs: queue after commit, run with progress, re-queue what a broker outage stranded."""
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from registry.audit import audit_record, verify_chain
from registry.context import current, work_context
from registry.errors import ApplicationError
from registry.models import Job, User

logger = logging.getLogger(__name__)

JobHandler = Callable[[Job], dict[str, Any]]
_handlers: dict[str, JobHandler] = {}


def register_job_handler(kind: str) -> Callable[[JobHandler], JobHandler]:
    """Declare the service that does a kind of job; apps register theirs at import time."""

    def decorate(fn: JobHandler) -> JobHandler:
        _handlers[kind] = fn
        return fn

    return decorate


def _queue(job_id: int) -> None:
    from registry.tasks import run_job

    run_job.delay(job_id)


@transaction.atomic
def job_enqueue(*, actor: User, kind: str, params: dict[str, Any] | None = None) -> Job:
    """Create the job row and queue its task once the row is committed (never before: the worker must find it)."""
    if kind not in _handlers:
        raise ApplicationError(_("Unknown job kind: %(kind)s") % {"kind": kind}, code="unknown_job_kind", fields={"kind": [_("Unknown.")]})
    job = Job.objects.create(
        kind=kind, params=params or {}, requested_by=actor, request_id=current().request_id, queued_at=timezone.now()
    )
    transaction.on_commit(lambda: _queue(job.pk))
    return job


def job_set_progress(job: Job, percent: int) -> None:
    Job.objects.filter(pk=job.pk).update(progress=max(0, min(100, percent)))


def job_run(*, job_id: int) -> Job | None:
    """Run one job. Idempotent: a job already running or finished is left alone (redelivery is harmless)."""
    claimed = Job.objects.filter(pk=job_id, status=Job.Status.PENDING).update(
        status=Job.Status.RUNNING, started_at=timezone.now(), progress=0
    )
    if not claimed:
        return None
    job = Job.objects.select_related("requested_by").get(pk=job_id)
    Job.objects.filter(pk=job_id).update(attempts=job.attempts + 1)
    with work_context(source="task", request_id=job.request_id):
        try:
            result = _handlers[job.kind](job)
        except Exception as exc:
            # The error text is shown to the requester: services raise messages without identifiers.
            logger.exception("job %s (%s) failed", job.pk, job.kind)
            message = exc.message if isinstance(exc, ApplicationError) else f"{type(exc).__name__}: {exc}"
            Job.objects.filter(pk=job_id).update(status=Job.Status.FAILED, error=message[:2000], finished_at=timezone.now())
        else:
            Job.objects.filter(pk=job_id).update(
                status=Job.Status.SUCCEEDED, progress=100, result=result, finished_at=timezone.now()
            )
    job.refresh_from_db()
    return job


def jobs_requeue_stale() -> int:
    """Re-queue pending jobs older than JOB_STALE_AFTER_SECONDS (their message was lost or never sent)."""
    cutoff = timezone.now() - timedelta(seconds=settings.JOB_STALE_AFTER_SECONDS)
    stale = list(Job.objects.filter(status=Job.Status.PENDING, queued_at__lt=cutoff).values_list("pk", flat=True))
    for job_id in stale:
        Job.objects.filter(pk=job_id, status=Job.Status.PENDING).update(queued_at=timezone.now())
        _queue(job_id)
    if stale:
        logger.warning("re-queued %d stale job(s)", len(stale))
    return len(stale)


@register_job_handler("audit_verify")
def audit_verify_job(job: Job) -> dict[str, Any]:
    """Verify the whole audit chain and record who asked and what was found."""
    report = verify_chain(progress=lambda done, total: job_set_progress(job, done * 99 // max(total, 1)))
    outcome = {"ok": report.ok, "checked": report.checked, "broken_seq": report.broken_seq, "problem": report.problem}
    with transaction.atomic():
        audit_record(actor=job.requested_by, action="audit_verify", instance=job, after=outcome)
    return outcome
