"""Celery queues by kind of work (config/queues.py): each task lands on its kind's queue, named after the default queue."""
import pytest
from django.conf import settings

from config.celery_app import app as celery_app
from config.queues import ANALYSIS, BEAT, INGEST, KINDS, REPORTS, queue_name, queue_names
from conftest import Actors, queued_for_real
from registry.services.jobs import job_enqueue
from registry.services.work import work_send
from tests.test_celery import drain


def test_queue_names_follow_the_default_queue() -> None:
    assert queue_names("nbnm") == ["nbnm", "nbnm.analysis", "nbnm.reports", "nbnm.beat"]
    assert queue_name(INGEST, "x") == "x" and queue_name(ANALYSIS, "x") == "x.analysis"
    # A worker started without -Q consumes every kind's queue.
    assert [q.name for q in settings.CELERY_TASK_QUEUES] == queue_names(settings.CELERY_TASK_DEFAULT_QUEUE)
    assert set(KINDS) == {INGEST, ANALYSIS, REPORTS, BEAT}


def test_every_periodic_task_goes_to_the_beat_queue() -> None:
    """A new periodic task without a route would wait behind an ingest backlog: the schedule and the routes agree."""
    router = celery_app.amqp.router
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert router.route({}, entry["task"])["queue"].name == f"{celery_app.conf.task_default_queue}.beat", entry["task"]


@pytest.mark.parametrize(("task", "kind"), [
    ("imaging.run_pipeline", ANALYSIS), ("reports.run_report", REPORTS), ("registry.run_job", INGEST),
    ("registry.requeue_stale_work", BEAT), ("some.future_task", INGEST),
])
def test_routes_by_kind(task: str, kind: str) -> None:
    assert celery_app.amqp.router.route({}, task)["queue"].name == queue_name(kind, celery_app.conf.task_default_queue)


@pytest.mark.django_db
def test_messages_land_on_their_kind_queue_named_after_the_renamed_default(actors: Actors, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    """Published for real (kombu's in-memory transport, or Redis under CI): the job on the default queue, a series'
    pipeline on <default>.analysis, a report run on <default>.reports; nothing elsewhere."""
    from imaging.models import Series
    from reports.models import ReportRun

    with queued_for_real() as queue:
        with celery_app.connection_for_write() as conn:  # declare the queues, as a worker would
            for name in queue_names(queue):
                conn.SimpleQueue(name).close()
        with django_capture_on_commit_callbacks(execute=True):
            job = job_enqueue(actor=actors.data_manager, kind="audit_verify")
        assert work_send(Series, 987654) and work_send(ReportRun, 123456)
        assert drain(queue) == [("registry.run_job", [job.pk])]
        assert drain(f"{queue}.analysis") == [("imaging.run_pipeline", [987654])]
        assert drain(f"{queue}.reports") == [("reports.run_report", [123456])]
        assert drain(f"{queue}.beat") == []
