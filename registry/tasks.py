"""Celery tasks: each takes ids, loads rows and calls exactly one service."""
from celery import shared_task

from registry.services.jobs import job_run, jobs_requeue_stale


@shared_task(name="registry.run_job", acks_late=True, ignore_result=True)
def run_job(job_id: int) -> None:
    job_run(job_id=job_id)


@shared_task(name="registry.requeue_stale_jobs", ignore_result=True)
def requeue_stale_jobs() -> int:
    return jobs_requeue_stale()
