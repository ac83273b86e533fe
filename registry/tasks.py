"""Celery tasks: each takes ids, loads rows and calls exactly one service."""
from celery import shared_task

from registry.audit import audit_checkpoint_write
from registry.context import work_context
from registry.services.followup import followup_mark_statuses
from registry.services.jobs import job_run
from registry.services.work import work_requeue_stale


@shared_task(name="registry.run_job", acks_late=True, ignore_result=True)
def run_job(job_id: int) -> None:
    job_run(job_id=job_id)


@shared_task(name="registry.requeue_stale_work", ignore_result=True)
def requeue_stale_work() -> int:
    """The one sweep of background work of every kind (jobs, report runs, series pipelines)."""
    return work_requeue_stale()


@shared_task(name="registry.follow_up_daily", ignore_result=True)
def follow_up_daily() -> dict[str, int]:
    with work_context(source="task"):
        return followup_mark_statuses()


@shared_task(name="registry.audit_checkpoint", ignore_result=True)
def audit_checkpoint() -> int:
    """Daily: anchor the audit chain head outside the database (settings.AUDIT_CHECKPOINT_PATH); audit_verify compares."""
    return audit_checkpoint_write().seq
