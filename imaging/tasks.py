"""Celery tasks of the series pipeline: each takes ids and calls one service."""
from celery import chain, shared_task
from django.utils import timezone

from imaging.models import Series
from imaging.pipeline import series_step_run, stale_pending_series, step_names
from registry.context import work_context


@shared_task(name="imaging.run_series_step", acks_late=True, ignore_result=True)
def run_series_step(series_id: int, step: str) -> str:
    with work_context(source="task"):
        return series_step_run(series_id=series_id, step=step)


@shared_task(name="imaging.run_pipeline", ignore_result=True)
def run_pipeline(series_id: int) -> None:
    """Queue the chain of steps for one series (each step is its own task, so a retry resumes mid-way)."""
    chain(*(run_series_step.si(series_id, step) for step in step_names())).apply_async()


@shared_task(name="imaging.requeue_stale_series", ignore_result=True)
def requeue_stale_series() -> int:
    """Series left pending (their message lost in a broker outage) are queued again."""
    stale = stale_pending_series()
    for series_id in stale:
        Series.objects.filter(pk=series_id).update(pipeline_queued_at=timezone.now())
        run_pipeline.delay(series_id)
    return len(stale)
