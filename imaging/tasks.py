"""Celery tasks of the series pipeline: each takes ids and calls one service."""
import math

from celery import shared_task
from django.utils import timezone

from imaging.models import Series
from registry.services.work import CLOCK_SLACK, work_execute, work_send


def tasks_run_eagerly() -> bool:
    """Celery runs tasks in-process (no broker, or a test's `eager`): a countdown cannot be honoured there."""
    return bool(run_pipeline.app.conf.task_always_eager)


@shared_task(name="imaging.run_pipeline", acks_late=True, ignore_result=True)
def run_pipeline(series_id: int) -> None:
    """Claim the series and run its steps in order (steps already done are skipped, so a retry resumes mid-way).

    A series that received instances since this message was sent is pending with a later due time (the settle
    delay counts from its last instance, imaging.services.ingest): the message sends itself on to that time, so one
    message per series is on its way however many requests fed it. (Not with eager tasks: no countdown there.)
    """
    if work_execute(model=Series, pk=series_id) or tasks_run_eagerly():
        return
    due = (Series.objects.filter(pk=series_id, pipeline_state=Series.PipelineState.PENDING)
           .values_list("pipeline_queued_at", flat=True).first())
    if due is not None and due > timezone.now() + CLOCK_SLACK:
        work_send(Series, series_id, countdown=math.ceil((due - timezone.now()).total_seconds()))


@shared_task(name="imaging.file_receipts", acks_late=True, ignore_result=True)
def file_receipts() -> None:
    """File the receipts of deferred uploads (imaging.services.receipts)."""
    from imaging.services.receipts import receipts_file

    receipts_file()


@shared_task(name="imaging.sweep_receipts", ignore_result=True)
def sweep_receipts() -> None:
    """The beat's minute sweep: a filing for receipts whose message was lost or whose filer died."""
    from imaging.services.receipts import receipts_waiting

    if receipts_waiting():
        file_receipts.delay()
