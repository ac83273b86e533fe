"""Celery tasks of the low-dose evaluation: each takes an id and calls the one engine."""
from celery import shared_task

from imaging.lowdose.models import EvaluationPair
from registry.services.work import work_execute


@shared_task(name="lowdose.evaluate_pair", acks_late=True, ignore_result=True)
def evaluate_pair(pair_id: int) -> None:
    """Claim the pair and evaluate it (imaging.lowdose.services.pair_evaluate); a redelivered message finds nothing to claim."""
    work_execute(model=EvaluationPair, pk=pair_id)
