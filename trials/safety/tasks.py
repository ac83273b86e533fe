"""Celery tasks of the safety app."""
from celery import shared_task

from registry.context import work_context
from trials.safety.services.clocks import reporting_clocks_sweep


@shared_task(name="safety.sweep_reporting_clocks", ignore_result=True)
def sweep_reporting_clocks() -> dict[str, int]:
    """Every 15 minutes (CELERY_BEAT_SCHEDULE): flag SAE/SUSAR clocks about to lapse, mark lapsed ones late."""
    with work_context(source="task"):
        return reporting_clocks_sweep()
