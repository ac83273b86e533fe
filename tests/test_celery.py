"""Jobs through Celery: eager in the embedded default, a real worker process on Redis under CI."""
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from config.celery_app import app as celery_app
from conftest import Actors, api_client, queued_for_real
from registry.models import AuditEvent, Job
from registry.services.jobs import job_enqueue
from registry.services.work import work_requeue_stale


def test_job_runs_after_commit_in_eager_mode_and_records_its_actor(
    eager, actors: Actors, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = job_enqueue(actor=actors.data_manager, kind="audit_verify")
    # Nothing runs before the commit: the worker must find the row.
    assert Job.objects.get(pk=job.pk).status == Job.Status.PENDING and len(callbacks) == 1
    callbacks[0]()
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED and job.progress == 100 and job.result["ok"] is True
    event = AuditEvent.objects.get(action="audit_verify", object_id=str(job.pk))
    assert event.actor == actors.data_manager and event.source == "task" and event.request_id == job.request_id


def test_failed_job_keeps_its_error(eager, actors: Actors, django_capture_on_commit_callbacks, monkeypatch) -> None:
    from registry.services import jobs

    def broken(job: Job, work: object) -> dict:
        raise RuntimeError("chain store unreachable")

    monkeypatch.setitem(jobs._handlers, "audit_verify", broken)
    with django_capture_on_commit_callbacks(execute=True):
        job = job_enqueue(actor=actors.data_manager, kind="audit_verify")
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and "chain store unreachable" in job.error


def test_running_a_job_twice_is_harmless(eager, actors: Actors, django_capture_on_commit_callbacks) -> None:
    from registry.tasks import run_job

    with django_capture_on_commit_callbacks(execute=True):
        job = job_enqueue(actor=actors.data_manager, kind="audit_verify")
    run_job.delay(job.pk)  # a redelivered message
    assert AuditEvent.objects.filter(action="audit_verify", object_id=str(job.pk)).count() == 1


def test_sweep_requeues_jobs_stranded_by_a_broker_outage(eager, actors: Actors) -> None:
    stale = Job.objects.create(kind="audit_verify", requested_by=actors.data_manager, request_id="lost",
                               queued_at=timezone.now() - timedelta(hours=1))
    fresh = Job.objects.create(kind="audit_verify", requested_by=actors.data_manager, request_id="new",
                               queued_at=timezone.now())
    assert work_requeue_stale() == 1
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert stale.status == Job.Status.SUCCEEDED and fresh.status == Job.Status.PENDING


def test_unknown_job_kind_is_refused(actors: Actors) -> None:
    from registry.errors import ApplicationError

    with pytest.raises(ApplicationError) as err:
        job_enqueue(actor=actors.data_manager, kind="no_such_kind")
    assert err.value.code == "unknown_job_kind"
    assert not Job.objects.exists()


@pytest.mark.redis
@pytest.mark.worker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_real_worker_runs_job_queued_on_commit_and_records_actor(worker: str, actors: Actors) -> None:
    response = api_client(actors.data_manager).post("/api/v1/audit-events/verify/", HTTP_X_REQUEST_ID="worker-test-01")
    assert response.status_code == 202
    job_id = response.json()["id"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = Job.objects.get(pk=job_id)
        if job.status in (Job.Status.SUCCEEDED, Job.Status.FAILED):
            break
        time.sleep(0.2)
    assert job.status == Job.Status.SUCCEEDED, job.error
    event = AuditEvent.objects.get(action="audit_verify", object_id=str(job_id))
    assert event.actor == actors.data_manager and event.source == "task" and event.request_id == "worker-test-01"


def drain(queue: str) -> list[tuple[str, list]]:
    """(task name, args) of every message waiting in the queue, removing them."""
    messages = []
    with celery_app.connection_for_read() as conn:
        simple = conn.SimpleQueue(queue)
        try:
            while True:
                message = simple.get(block=True, timeout=0.5)
                messages.append((message.headers["task"], message.payload[0]))
                message.ack()
        except simple.Empty:
            pass
        finally:
            simple.close()
    return messages


@pytest.mark.django_db(transaction=True)
def test_sweep_run_twice_queues_a_stale_job_once(actors: Actors) -> None:
    stale = Job.objects.create(kind="audit_verify", requested_by=actors.data_manager, request_id="lost",
                               queued_at=timezone.now() - timedelta(hours=1))
    with queued_for_real() as queue:
        assert work_requeue_stale() == 1
        assert work_requeue_stale() == 0
        assert drain(queue) == [("registry.run_job", [stale.pk])]
    stale.refresh_from_db()
    assert stale.status == Job.Status.PENDING  # nothing ran it: the message waits for a worker


@pytest.mark.django_db(transaction=True)
def test_broker_down_at_enqueue_still_answers_202_and_leaves_the_job_pending(actors: Actors, caplog) -> None:
    with queued_for_real("redis://127.0.0.1:1/0"):  # nothing listens on port 1
        response = api_client(actors.data_manager).post("/api/v1/audit-events/verify/")
    assert response.status_code == 202
    job = Job.objects.get(pk=response.json()["id"])
    assert job.status == Job.Status.PENDING and job.attempts == 0
    assert "left pending for the sweep" in caplog.text
