"""The one background-work engine (registry.services.work), through jobs: claim, lease recovery, transient retries
with backoff, refusals that are not retried, audited user retries, and the sweep."""
from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone

from conftest import Actors
from registry.errors import ApplicationError
from registry.models import AuditEvent, Job
from registry.services import jobs
from registry.services.jobs import job_enqueue, job_run
from registry.services.work import Work, backoff_seconds, work_requeue_stale, work_retry

pytestmark = pytest.mark.django_db


@pytest.fixture
def probe(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A job kind that answers with the attempt it ran as."""
    monkeypatch.setitem(jobs._handlers, "probe", lambda job, work: {"attempt": work.attempt})


def _handler(monkeypatch, fn) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setitem(jobs._handlers, "probe", fn)


def test_transient_error_is_retried_after_a_backoff_then_succeeds(eager, actors: Actors, monkeypatch, settings,
                                                                  django_capture_on_commit_callbacks) -> None:
    attempts: list[int] = []

    def flaky(job: Job, work: Work) -> dict:
        attempts.append(work.attempt)
        if len(attempts) == 1:
            raise OperationalError("database is locked")
        return {"ok": True}

    _handler(monkeypatch, flaky)
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        job = job_enqueue(actor=actors.data_manager, kind="probe")
    job.refresh_from_db()
    # Back to pending, due after the first backoff; the re-sent message (run at once in eager mode) found it not yet due.
    assert attempts == [1] and job.status == Job.Status.PENDING and job.attempts == 1 and "database is locked" in job.error
    assert job.queued_at >= before + timedelta(seconds=settings.JOB_RETRY_BASE_SECONDS)
    Job.objects.filter(pk=job.pk).update(queued_at=timezone.now())  # the countdown has passed
    job = job_run(job_id=job.pk)
    assert job is not None and attempts == [1, 2]
    assert job.status == Job.Status.SUCCEEDED and job.attempts == 2 and job.result == {"ok": True} and job.error == ""


def test_backoff_doubles_up_to_its_cap(settings) -> None:
    settings.JOB_RETRY_BASE_SECONDS, settings.JOB_RETRY_MAX_SECONDS = 30, 100
    assert [backoff_seconds(n) for n in (1, 2, 3, 4)] == [30, 60, 100, 100]


def test_transient_errors_stop_after_the_last_attempt(eager, actors: Actors, monkeypatch, settings,
                                                      django_capture_on_commit_callbacks) -> None:
    settings.JOB_MAX_ATTEMPTS = 2

    def down(job: Job, work: Work) -> dict:
        raise OperationalError("server closed the connection unexpectedly")

    _handler(monkeypatch, down)
    with django_capture_on_commit_callbacks(execute=True):
        job = job_enqueue(actor=actors.data_manager, kind="probe")
    Job.objects.filter(pk=job.pk).update(queued_at=timezone.now())
    job = job_run(job_id=job.pk)
    assert job is not None and job.status == Job.Status.FAILED and job.attempts == 2 and job.error_code == "transient"
    assert job.error.startswith("Gave up after 2 attempts: OperationalError: server closed")


def test_application_error_and_bugs_are_not_retried(eager, actors: Actors, monkeypatch, django_capture_on_commit_callbacks) -> None:
    seen: list[str] = []

    def refused(job: Job, work: Work) -> dict:
        seen.append("refused")
        raise ApplicationError("The chain is being rebuilt.", code="busy")

    _handler(monkeypatch, refused)
    with django_capture_on_commit_callbacks(execute=True):
        job = job_enqueue(actor=actors.data_manager, kind="probe")
    job.refresh_from_db()
    assert seen == ["refused"] and job.status == Job.Status.FAILED and job.attempts == 1
    assert (job.error, job.error_code) == ("The chain is being rebuilt.", "busy")
    assert work_requeue_stale() == 0  # a failed row is not the sweep's


def test_a_running_job_whose_lease_expired_is_recovered_once(eager, actors: Actors, probe) -> None:
    long_ago = timezone.now() - timedelta(hours=2)
    dead = Job.objects.create(kind="probe", requested_by=actors.data_manager, request_id="dead", status=Job.Status.RUNNING,
                              attempts=1, queued_at=long_ago, started_at=long_ago, lease_expires_at=timezone.now() - timedelta(seconds=1))
    alive = Job.objects.create(kind="probe", requested_by=actors.data_manager, request_id="alive", status=Job.Status.RUNNING,
                               attempts=1, queued_at=long_ago, started_at=long_ago, lease_expires_at=timezone.now() + timedelta(minutes=5))
    assert work_requeue_stale() == 1
    assert work_requeue_stale() == 0
    dead.refresh_from_db()
    alive.refresh_from_db()
    assert dead.status == Job.Status.SUCCEEDED and dead.attempts == 2 and dead.result == {"attempt": 2}
    assert alive.status == Job.Status.RUNNING and alive.attempts == 1


def test_a_worker_that_lost_its_lease_cannot_overwrite_the_outcome(eager, actors: Actors, monkeypatch,
                                                                   django_capture_on_commit_callbacks) -> None:
    def slow(job: Job, work: Work) -> dict:
        # Meanwhile its lease expired and the sweep gave the row to another worker, which finished it.
        Job.objects.filter(pk=job.pk).update(started_at=timezone.now() + timedelta(seconds=1), status=Job.Status.SUCCEEDED,
                                             result={"by": "successor"})
        return {"by": "first"}

    _handler(monkeypatch, slow)
    with django_capture_on_commit_callbacks(execute=True):
        job = job_enqueue(actor=actors.data_manager, kind="probe")
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED and job.result == {"by": "successor"}


def test_user_retry_of_a_failed_job_is_audited_and_runs_again(eager, actors: Actors, monkeypatch,
                                                              django_capture_on_commit_callbacks) -> None:
    outcomes = iter([ApplicationError("Not yet.", code="busy"), None])

    def once_refused(job: Job, work: Work) -> dict:
        outcome = next(outcomes)
        if outcome is not None:
            raise outcome
        return {"ok": True}

    _handler(monkeypatch, once_refused)
    with django_capture_on_commit_callbacks(execute=True):
        job = job_enqueue(actor=actors.data_manager, kind="probe")
    with django_capture_on_commit_callbacks(execute=True):
        retried = work_retry(actor=actors.data_manager, row=Job.objects.get(pk=job.pk))
    assert retried.status == Job.Status.PENDING and retried.error == ""
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED and job.attempts == 1  # a fresh budget of attempts
    event = AuditEvent.objects.get(action="work_retry", object_id=str(job.pk))
    assert event.actor == actors.data_manager and event.before == {"status": "failed", "error": "Not yet."}
    assert event.after == {"kind": "job", "status": "pending"}
    with pytest.raises(ApplicationError) as refused:
        work_retry(actor=actors.data_manager, row=job)  # only failed work is retried
    assert refused.value.code == "invalid_transition"


def test_only_the_requester_may_retry_a_job(eager, actors: Actors, monkeypatch, django_capture_on_commit_callbacks) -> None:
    def refused(job: Job, work: Work) -> dict:
        raise ApplicationError("No.", code="busy")

    _handler(monkeypatch, refused)
    with django_capture_on_commit_callbacks(execute=True):
        job = job_enqueue(actor=actors.coordinator_a, kind="probe")
    with pytest.raises(ApplicationError) as other:
        work_retry(actor=actors.coordinator_b, row=Job.objects.get(pk=job.pk))
    assert other.value.code == "out_of_scope" and not AuditEvent.objects.filter(action="work_retry").exists()


def test_a_job_whose_requester_lost_the_rule_fails_when_it_executes(eager, actors: Actors, django_capture_on_commit_callbacks) -> None:
    from registry.models import HospitalMembership

    with django_capture_on_commit_callbacks(execute=False) as queued:
        job = job_enqueue(actor=actors.data_manager, kind="audit_verify")
    HospitalMembership.objects.filter(user=actors.data_manager).delete()
    for callback in queued:
        callback()
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and job.error_code == "access_revoked" and job.result == {}
    assert AuditEvent.objects.get(action="work_refused", object_id=str(job.pk)).actor == actors.data_manager
    assert not AuditEvent.objects.filter(action="audit_verify").exists()


@pytest.mark.django_db(transaction=True)
def test_migration_gives_rows_left_running_a_lease_so_the_sweep_can_recover_them(reference_rows: None, actors: Actors,
                                                                                  settings) -> None:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before, after = [("registry", "0007_user_is_system_actor")], [("registry", "0008_job_work_lease")]
    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate(before)
        OldJob = MigrationExecutor(connection).loader.project_state(before).apps.get_model("registry", "Job")
        stuck = OldJob.objects.create(kind="audit_verify", status="running", requested_by_id=actors.data_manager.pk, request_id="old")
        done = OldJob.objects.create(kind="audit_verify", status="succeeded", requested_by_id=actors.data_manager.pk, request_id="old")
        MigrationExecutor(connection).migrate(after)
        NewJob = MigrationExecutor(connection).loader.project_state(after).apps.get_model("registry", "Job")
        leased = NewJob.objects.get(pk=stuck.pk)
        assert leased.started_at is not None and leased.lease_expires_at is not None
        assert leased.lease_expires_at - leased.started_at == timedelta(seconds=settings.JOB_LEASE_SECONDS)
        assert NewJob.objects.get(pk=done.pk).lease_expires_at is None
    finally:
        MigrationExecutor(connection).migrate(leaves)
