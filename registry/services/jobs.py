"""Jobs: one handler per kind; queued after commit and run by the background-work engine (registry.services.work)."""
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from registry.access import Action, Rule, may
from registry.audit import audit_record, verify_chain
from registry.context import current
from registry.errors import ApplicationError
from registry.models import Job, User
from registry.services.work import Work, access_revoked, work_execute, work_queue_after_commit

JobHandler = Callable[[Job, Work], dict[str, Any]]
_handlers: dict[str, JobHandler] = {}
# The named access rule a kind's requester must hold, checked when it is requested by its endpoint and again when it runs.
_rules: dict[str, Rule] = {}


def register_job_handler(kind: str, *, rule: Rule | None = None) -> Callable[[JobHandler], JobHandler]:
    """Declare the service that does a kind of job, and the rule its requester needs; apps register theirs at import time."""

    def decorate(fn: JobHandler) -> JobHandler:
        _handlers[kind] = fn
        if rule is not None:
            _rules[kind] = rule
        return fn

    return decorate


@transaction.atomic
def job_enqueue(*, actor: User, kind: str, params: dict[str, Any] | None = None) -> Job:
    """Create the job row and queue its task once the row is committed (never before: the worker must find it)."""
    if kind not in _handlers:
        raise ApplicationError(_("Unknown job kind: %(kind)s") % {"kind": kind}, code="unknown_job_kind", fields={"kind": [_("Unknown.")]})
    job = Job.objects.create(
        kind=kind, params=params or {}, requested_by=actor, request_id=current().request_id, queued_at=timezone.now()
    )
    work_queue_after_commit(Job, job.pk)
    return job


def job_run(*, job_id: int) -> Job | None:
    """Run one job. Idempotent: a job already running or finished is left alone (redelivery is harmless)."""
    if not work_execute(model=Job, pk=job_id):
        return None
    return Job.objects.get(pk=job_id)


def job_handle(job: Job, work: Work) -> dict[str, Any]:
    return _handlers[job.kind](job, work)


def job_authorise(job: Job) -> None:
    """At execution: the requester must still see the job and hold its kind's rule (a role revoked since it was queued)."""
    rule = _rules.get(job.kind)
    if not may(job.requested_by, Action.VIEW, job) or (rule is not None and not may(job.requested_by, rule)):
        raise access_revoked()


@register_job_handler("audit_verify", rule=Rule.VERIFY_AUDIT)
def audit_verify_job(job: Job, work: Work) -> dict[str, Any]:
    """Verify the whole audit chain and record who asked and what was found."""
    report = verify_chain(progress=lambda done, total: work.progress(done * 99 // max(total, 1)))
    outcome = {"ok": report.ok, "checked": report.checked, "broken_seq": report.broken_seq, "problem": report.problem}
    with transaction.atomic():
        audit_record(actor=job.requested_by, action="audit_verify", instance=job, after=outcome)
    return outcome
