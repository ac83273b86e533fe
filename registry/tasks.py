"""Celery tasks: each takes ids, loads rows and calls exactly one service."""
from celery import shared_task

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
