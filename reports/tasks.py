"""Celery tasks: each takes ids and calls exactly one service."""
from celery import shared_task

from reports.services import report_run_execute


@shared_task(name="reports.run_report", acks_late=True, ignore_result=True)
def run_report(run_id: int) -> None:
    report_run_execute(run_id=run_id)
