"""Issue 14, "a pipeline that always finishes": the one background-work engine (registry.services.work) under faults.

In-process (any database): a user's retry of a series left running by a dead worker, the sweep giving up with a
reason, an upload answering 201 with the broker down, and the Celery timings the recovery relies on.

With real services (PostgreSQL, and a Redis and Celery workers this module starts itself, so CI requires them):
the whole worker killed with SIGKILL mid-series, and Redis stopped and restarted during uploads. Every series ends
`done`, nothing lost, nothing duplicated.
"""
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Count
from django.utils import timezone
from django.utils.module_loading import import_string

from bench.local_services import RedisServer
from bench.local_services import wait_until as _until
from config.celery_app import app as celery_app
from conftest import Actors, api_client, queued_for_real, require, start_worker, stop_worker
from imaging import synthetic
from imaging.models import DoseResult, ImagingStudy, Instance, Preview, Series, SuvResult, Upload
from imaging.tests.helpers import as_upload, child, like, pet_files
from registry.errors import ApplicationError
from registry.models import AuditEvent, Patient
from registry.services.work import LeaseLost, Work, _claim, work_models, work_requeue_stale, work_retry

UPLOADS = "/api/v1/imaging/uploads/"


def _series(actors: Actors, tmp_path: Path, capture, *, execute: bool) -> Series:  # type: ignore[no-untyped-def]
    patient = child(actors.coordinator_a, actors.hospital_a)
    files = pet_files(tmp_path, patient, n=3)
    with capture(execute=execute):
        response = api_client(actors.coordinator_a).post(UPLOADS, {"patient": patient.study_id, "files": [as_upload(p) for p in files]},
                                                         format="multipart")
    assert response.status_code == 201, response.content
    return Series.objects.get()


def _abandon(series: Series, *, attempts: int = 1, lease_left: timedelta = timedelta(seconds=-1)) -> None:
    """What a worker killed mid-series leaves: the row running under a lease that is (or is not yet) over."""
    now = timezone.now()
    Series.objects.filter(pk=series.pk).update(pipeline_state=Series.PipelineState.RUNNING, pipeline_attempts=attempts,
                                               pipeline_started_at=now - timedelta(minutes=20), pipeline_lease_expires_at=now + lease_left)


# --- Retry of a stale running step -----------------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_series_left_running_by_a_dead_worker_can_be_retried_by_its_hospital(eager, actors: Actors, tmp_path: Path,
                                                                                django_capture_on_commit_callbacks) -> None:
    """Issue 14 (2): POST .../series/{id}/retry/ refused a running series, though its worker was gone."""
    series = _series(actors, tmp_path, django_capture_on_commit_callbacks, execute=False)
    _abandon(series)
    client = api_client(actors.coordinator_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/imaging/series/{series.pk}/retry/")
    assert response.status_code == 202, response.content
    series.refresh_from_db()
    assert series.pipeline_state == Series.PipelineState.DONE and series.pipeline_attempts == 1  # a fresh budget
    event = AuditEvent.objects.get(action="work_retry", object_id=str(series.pk))
    assert event.actor == actors.coordinator_a and event.before["status"] == "running"
    assert event.after == {"kind": "series_pipeline", "status": "pending"}


@pytest.mark.django_db
def test_a_series_whose_worker_still_holds_the_lease_is_not_retried(eager, actors: Actors, tmp_path: Path,
                                                                    django_capture_on_commit_callbacks) -> None:
    series = _series(actors, tmp_path, django_capture_on_commit_callbacks, execute=False)
    _abandon(series, lease_left=timedelta(minutes=5))
    response = api_client(actors.coordinator_a).post(f"/api/v1/imaging/series/{series.pk}/retry/")
    assert response.status_code == 400 and response.json()["code"] == "invalid_transition"
    assert "pipeline_state" in response.json()["fields"]
    assert Series.objects.get(pk=series.pk).pipeline_state == Series.PipelineState.RUNNING
    assert not AuditEvent.objects.filter(action="work_retry").exists()
    other = api_client(actors.coordinator_b).post(f"/api/v1/imaging/series/{series.pk}/retry/")
    assert other.status_code == 404  # another hospital's series does not exist for it


@pytest.mark.django_db
def test_the_presumed_dead_worker_cannot_overwrite_what_the_retry_runs(eager, actors: Actors, tmp_path: Path,
                                                                       django_capture_on_commit_callbacks) -> None:
    """It was only slow: once the user retried, its outcome is refused (its claim time is no longer the row's)."""
    series = _series(actors, tmp_path, django_capture_on_commit_callbacks, execute=False)
    slow = _claim(Series, series.pk)
    assert slow is not None
    Series.objects.filter(pk=series.pk).update(pipeline_lease_expires_at=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        work_retry(actor=actors.coordinator_a, row=Series.objects.get(pk=series.pk))
    with pytest.raises(LeaseLost):
        slow.fail("late outcome of the first worker")
    series.refresh_from_db()
    assert series.pipeline_state == Series.PipelineState.DONE and series.pipeline_error == ""


@pytest.mark.django_db
def test_the_sweep_gives_up_on_a_series_whose_workers_keep_dying_and_says_why(eager, actors: Actors, tmp_path: Path, settings,
                                                                             django_capture_on_commit_callbacks) -> None:
    settings.JOB_MAX_ATTEMPTS = 3
    series = _series(actors, tmp_path, django_capture_on_commit_callbacks, execute=False)
    _abandon(series, attempts=3)
    assert work_requeue_stale() == 0
    series.refresh_from_db()
    assert series.pipeline_state == Series.PipelineState.FAILED and series.pipeline_lease_expires_at is None
    assert series.pipeline_error == "The worker stopped before finishing, 3 times; not tried again."
    with django_capture_on_commit_callbacks(execute=True):  # and a person may try once more
        work_retry(actor=actors.coordinator_a, row=series)
    assert Series.objects.get(pk=series.pk).pipeline_state == Series.PipelineState.DONE


# --- Broker down at upload time ----------------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_an_upload_with_the_broker_down_answers_201_and_the_sweep_runs_its_series(reference_rows, actors: Actors,
                                                                                 tmp_path: Path, settings, caplog) -> None:
    """Issue 14 (3): 300 instances committed, then HTTP 500 OperationalError, and nothing was ever queued."""
    patient = child(actors.coordinator_a, actors.hospital_a)
    files = pet_files(tmp_path, patient, n=3)
    with queued_for_real("redis://127.0.0.1:1/0"):  # nothing listens on port 1
        response = api_client(actors.coordinator_a).post(UPLOADS, {"patient": patient.study_id,
                                                                   "files": [as_upload(p) for p in files]}, format="multipart")
    assert response.status_code == 201, response.content
    assert response.json()["accepted"] == 3
    series = Series.objects.get()
    assert series.pipeline_state == Series.PipelineState.PENDING and series.pipeline_attempts == 0
    assert "left pending for the sweep" in caplog.text
    settings.JOB_STALE_AFTER_SECONDS = 0
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True  # the broker is back: here, in-process
    try:
        assert work_requeue_stale() == 1
    finally:
        celery_app.conf.task_always_eager = previous
    series.refresh_from_db()
    assert series.pipeline_state == Series.PipelineState.DONE and series.instances.count() == 3


# --- The Celery timings the recovery relies on ---------------------------------------------------------------------------
def test_celery_acks_late_rejects_on_worker_lost_and_the_visibility_timeout_is_inside_the_lease() -> None:
    conf = celery_app.conf
    assert conf.task_acks_late is True and conf.task_reject_on_worker_lost is True and conf.worker_prefetch_multiplier == 1
    visibility = conf.broker_transport_options["visibility_timeout"]
    assert conf.task_soft_time_limit < conf.task_time_limit < visibility < settings.JOB_LEASE_SECONDS
    tasks = {import_string(model.work_spec.task) for model in work_models()}  # type: ignore[attr-defined]
    assert {"imaging.run_pipeline", "registry.run_job", "reports.run_report"} <= {task.name for task in tasks}
    assert all(task.acks_late for task in tasks)


def test_settings_that_break_the_order_do_not_start() -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "CELERY_VISIBILITY_TIMEOUT": "3600"}
    env.pop("JOB_LEASE_SECONDS", None)
    run = subprocess.run([sys.executable, "-c", "import django; django.setup()"], env=env, capture_output=True, text=True,
                         cwd=settings.BASE_DIR, timeout=60)
    assert run.returncode != 0
    assert "CELERY_TASK_TIME_LIMIT < CELERY_VISIBILITY_TIMEOUT < JOB_LEASE_SECONDS" in run.stderr


# --- Real services: a Redis of our own, real workers -------------------------------------------------------------------
# The workers' timings, short enough for a test and in the order the settings require (soft < hard < visibility < lease):
# a killed worker's series is swept after 12 s without a heartbeat.
FAST_RECOVERY = {"CELERY_TASK_SOFT_TIME_LIMIT": "8", "CELERY_TASK_TIME_LIMIT": "10", "CELERY_VISIBILITY_TIMEOUT": "11",
                 "JOB_LEASE_SECONDS": "12"}


@pytest.fixture
def services(on_postgres, django_db_setup, tmp_path: Path) -> Iterator[tuple[RedisServer, Callable[[], subprocess.Popen[str]]]]:  # type: ignore[no-untyped-def]
    """Our own Redis, the test's tasks published to it, and a way to start workers on it (each stopped at the end)."""
    require(shutil.which("redis-server") is not None, "needs redis-server")
    log = (tmp_path / "services.log").open("w")
    redis = RedisServer(log)
    redis.start()
    workers: list[subprocess.Popen[str]] = []
    try:
        with queued_for_real(redis.url) as queue:
            def new_worker() -> subprocess.Popen[str]:
                workers.append(start_worker(broker_url=redis.url, queue=queue, log=log, extra_env=FAST_RECOVERY,
                                            pool="prefork"))
                return workers[-1]

            yield redis, new_worker
    finally:
        for proc in workers:
            stop_worker(proc, grace=5)
        redis.stop()
        log.close()
        print((tmp_path / "services.log").read_text()[-20000:])  # shown by pytest when the test fails


def _upload_series(actors: Actors, patient: Patient, tmp_path: Path, seed: int, slices: int = 20) -> int:
    datasets = synthetic.pet_series(tracer="F18_FDG", patient=like(patient), seed=seed, n_slices=slices, rows=32, cols=32)
    files = synthetic.write_series(datasets, tmp_path / f"series-{seed}")
    response = api_client(actors.coordinator_a).post(UPLOADS, {"patient": patient.study_id, "files": [as_upload(p) for p in files]},
                                                     format="multipart")
    assert response.status_code == 201, response.content
    assert response.json()["accepted"] == slices
    return slices


def _sweep_until_done(expected: int, seconds: float) -> None:
    """The beat's sweep, every half second, until every series is done."""
    def finished() -> bool:
        work_requeue_stale()
        return Series.objects.filter(pipeline_state=Series.PipelineState.DONE).count() == expected
    try:
        _until(finished, seconds, "not every series ended done", every=0.5)
    except AssertionError:
        states = list(Series.objects.values_list("pk", "pipeline_state", "pipeline_attempts", "pipeline_error"))
        raise AssertionError(f"not every series ended done: {states}") from None


def _assert_nothing_lost_nothing_duplicated(instances: int, series: int, uploads: int) -> None:
    assert Instance.objects.count() == instances
    assert Series.objects.filter(pipeline_state=Series.PipelineState.DONE).count() == series
    assert Upload.objects.count() == uploads and AuditEvent.objects.filter(action="ingest").count() == uploads
    assert sum(Series.objects.values_list("number_of_instances", flat=True)) == instances
    assert SuvResult.objects.count() == series and DoseResult.objects.count() == ImagingStudy.objects.count()
    # Each step's audited write happened once per series (a re-run of a done computation writes nothing).
    for action in ("compute_suv", "compute_dose"):
        per_object = AuditEvent.objects.filter(action=action).values("object_id").annotate(n=Count("id"))
        assert {row["n"] for row in per_object} == {1}, action
        assert len(per_object) == series
    assert not Preview.objects.values("series", "kind", "index").annotate(n=Count("id")).filter(n__gt=1).exists()


@pytest.mark.redis
@pytest.mark.worker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_whole_worker_killed_mid_series_every_series_ends_done(services, reference_rows, actors: Actors, tmp_path: Path,
                                                               settings) -> None:
    """Issue 14 (2): after a kill -9 of the whole worker, series stayed `running` for ever and the sweep re-queued 0."""
    settings.JOB_STALE_AFTER_SECONDS = 5
    redis, new_worker = services
    patient = child(actors.coordinator_a, actors.hospital_a)
    first = new_worker()
    stranded: set[int] = set()

    def kill_mid_series() -> None:
        """While the uploads go on: the moment a series runs, kill -9 the whole worker and start a new one."""
        try:
            _until(lambda: Series.objects.filter(pipeline_state=Series.PipelineState.RUNNING).exists(), 50, "no series started",
                   every=0.01)
            os.killpg(first.pid, signal.SIGKILL)  # the main process and its pool's children
            first.wait(timeout=10)
            stranded.update(Series.objects.filter(pipeline_state=Series.PipelineState.RUNNING).values_list("pk", flat=True))
            new_worker()
        finally:
            connection.close()

    killer = threading.Thread(target=kill_mid_series)
    killer.start()
    instances = sum(_upload_series(actors, patient, tmp_path, seed) for seed in range(1, 6))
    killer.join(timeout=60)
    assert stranded, "the kill did not find a series running"
    _sweep_until_done(5, 45)
    _assert_nothing_lost_nothing_duplicated(instances, 5, 5)
    # The stranded series were run again after their lease expired: a second attempt, no error left.
    for series in Series.objects.filter(pk__in=stranded):
        assert series.pipeline_attempts >= 2 and series.pipeline_error == "" and series.pipeline_lease_expires_at is None


@pytest.mark.redis
@pytest.mark.worker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_redis_stopped_and_restarted_during_uploads_every_series_ends_done(services, reference_rows, actors: Actors,
                                                                         tmp_path: Path, settings) -> None:
    """Issue 14 (3): with Redis down an upload answered 500 after its commit and its series were never queued."""
    settings.JOB_STALE_AFTER_SECONDS = 2
    redis, new_worker = services
    patient = child(actors.coordinator_a, actors.hospital_a)
    new_worker()
    instances = sum(_upload_series(actors, patient, tmp_path, seed) for seed in (1, 2, 3))
    _until(lambda: Series.objects.filter(pipeline_state=Series.PipelineState.RUNNING).exists()
           or Series.objects.filter(pipeline_state=Series.PipelineState.DONE).exists(), 30, "no series started", every=0.01)
    redis.stop()  # the broker goes away with every message it held
    instances += sum(_upload_series(actors, patient, tmp_path, seed) for seed in (4, 5))  # 201: committed, left pending
    assert set(Series.objects.filter(study__study_uid__in=_studies_of_last(2)).values_list("pipeline_state", flat=True)) == {"pending"}
    redis.start()
    instances += _upload_series(actors, patient, tmp_path, 6)
    _sweep_until_done(6, 45)
    _assert_nothing_lost_nothing_duplicated(instances, 6, 6)


def _studies_of_last(n: int) -> list[str]:
    return list(ImagingStudy.objects.order_by("-id").values_list("study_uid", flat=True)[:n])


@pytest.mark.django_db
def test_claim_refuses_a_row_that_is_already_running(eager, actors: Actors, tmp_path: Path,
                                                     django_capture_on_commit_callbacks) -> None:
    """A message the broker hands out twice (redelivery, or the sweep's copy) runs the work once."""
    series = _series(actors, tmp_path, django_capture_on_commit_callbacks, execute=False)
    first = _claim(Series, series.pk)
    assert isinstance(first, Work) and _claim(Series, series.pk) is None
    with pytest.raises(ApplicationError):
        work_retry(actor=actors.coordinator_a, row=Series.objects.get(pk=series.pk))  # its lease is live
