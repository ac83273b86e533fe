"""Celery tasks of the series pipeline: each takes ids and calls one service."""
from celery import shared_task

from imaging.models import Series
from registry.services.work import work_execute


@shared_task(name="imaging.run_pipeline", acks_late=True, ignore_result=True)
def run_pipeline(series_id: int) -> None:
    """Claim the series and run its steps in order (steps already done are skipped, so a retry resumes mid-way)."""
    work_execute(model=Series, pk=series_id)
