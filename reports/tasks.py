"""Celery tasks: each takes ids and calls exactly one service."""
from celery import shared_task

from reports.services import report_run_execute, report_runs_requeue_stale


@shared_task(name="reports.run_report", acks_late=True, ignore_result=True)
def run_report(run_id: int) -> None:
    report_run_execute(run_id=run_id)


@shared_task(name="reports.requeue_stale_runs", ignore_result=True)
def requeue_stale_runs() -> int:
    return report_runs_requeue_stale()
