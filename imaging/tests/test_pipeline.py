"""The series pipeline: chain of steps after commit, failure and retry, the stale sweep, idempotency, a real worker."""
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conftest import Actors, api_client
from imaging import pipeline, volume
from imaging.models import DoseResult, ImagingStudy, Preview, Series, SuvResult
from imaging.tasks import run_pipeline
from imaging.tests.helpers import as_upload, child, pet_files
from registry.models import AuditEvent
from registry.services.work import LeaseLost, work_requeue_stale


@pytest.fixture
def patient(actors: Actors):  # type: ignore[no-untyped-def]
    return child(actors.coordinator_a, actors.hospital_a)


def _upload(actors: Actors, patient, tmp_path: Path, capture, execute: bool = True) -> Series:  # type: ignore[no-untyped-def]
    files = pet_files(tmp_path, patient, n=3)
    with capture(execute=execute):
        response = api_client(actors.coordinator_a).post(
            "/api/v1/imaging/uploads/", {"patient": patient.study_id, "files": [as_upload(p) for p in files]},
            format="multipart")
    assert response.status_code == 201
    return Series.objects.get()


def test_chain_runs_every_step_and_is_idempotent(eager, actors, patient, tmp_path, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    series = _upload(actors, patient, tmp_path, django_capture_on_commit_callbacks)
    assert series.pipeline_state == Series.PipelineState.DONE and series.pipeline_progress == 100
    assert set(series.pipeline_steps) == set(pipeline.step_names())
    before = (series.geometry, series.pipeline_steps, series.number_of_instances)
    run_pipeline.delay(series.pk)  # a second run changes nothing
    series.refresh_from_db()
    assert (series.geometry, series.pipeline_steps, series.number_of_instances) == before


def test_failed_step_is_recorded_and_retried_through_the_api(eager, actors, patient, tmp_path, monkeypatch,
                                                             django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    calls = {"n": 0}

    def flaky(series: Series) -> dict:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("storage briefly unavailable")
        return {"ok": True}

    monkeypatch.setitem(pipeline._steps, "flaky", (20, flaky))
    series = _upload(actors, patient, tmp_path, django_capture_on_commit_callbacks)
    assert series.pipeline_state == Series.PipelineState.FAILED
    assert series.pipeline_steps["flaky"]["state"] == "failed" and "storage briefly unavailable" in series.pipeline_error
    client = api_client(actors.coordinator_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/imaging/series/{series.pk}/retry/")
    assert response.status_code == 202
    series.refresh_from_db()
    assert series.pipeline_state == Series.PipelineState.DONE and series.pipeline_steps["flaky"]["state"] == "done"
    again = client.post(f"/api/v1/imaging/series/{series.pk}/retry/")
    assert again.status_code == 400  # only a failed pipeline is retried
    event = AuditEvent.objects.get(action="work_retry", object_id=str(series.pk))  # the user's retry is audited
    assert event.actor == actors.coordinator_a and event.hospital_id == actors.hospital_a.pk
    assert event.before["status"] == "failed" and "storage briefly unavailable" in event.before["error"]


def test_sweep_requeues_series_stranded_pending(eager, actors, patient, tmp_path, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    series = _upload(actors, patient, tmp_path, django_capture_on_commit_callbacks, execute=False)  # message "lost"
    assert series.pipeline_state == Series.PipelineState.PENDING
    assert work_requeue_stale() == 0  # not stale yet
    Series.objects.filter(pk=series.pk).update(pipeline_queued_at=timezone.now() - timedelta(hours=1))
    assert work_requeue_stale() == 1
    series.refresh_from_db()
    assert series.pipeline_state == Series.PipelineState.DONE


def test_a_running_series_whose_worker_died_is_recovered_by_the_sweep(eager, actors, patient, tmp_path,
                                                                       django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    """Issue 14: a series left running for ever. Its lease expires and the one sweep queues it again, once."""
    series = _upload(actors, patient, tmp_path, django_capture_on_commit_callbacks, execute=False)
    Series.objects.filter(pk=series.pk).update(pipeline_state=Series.PipelineState.RUNNING, pipeline_attempts=1,
                                               pipeline_started_at=timezone.now() - timedelta(hours=1),
                                               pipeline_lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert work_requeue_stale() == 1
    assert work_requeue_stale() == 0
    series.refresh_from_db()
    assert series.pipeline_state == Series.PipelineState.DONE and series.pipeline_attempts == 2
    assert series.pipeline_lease_expires_at is None and series.pipeline_progress == 100


def test_a_transient_error_in_a_step_is_retried_not_failed(eager, actors, patient, tmp_path, monkeypatch,
                                                           django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    from django.db import OperationalError

    calls = {"n": 0}

    def briefly_locked(series: Series) -> dict:
        calls["n"] += 1
        if calls["n"] == 1:
            raise OperationalError("database is locked")
        return {"ok": True}

    monkeypatch.setitem(pipeline._steps, "locked", (20, briefly_locked))
    series = _upload(actors, patient, tmp_path, django_capture_on_commit_callbacks)
    assert series.pipeline_state == Series.PipelineState.PENDING and series.pipeline_attempts == 1
    assert "database is locked" in series.pipeline_error and series.pipeline_steps["index"]["state"] == "done"
    Series.objects.filter(pk=series.pk).update(pipeline_queued_at=timezone.now())  # the backoff has passed
    run_pipeline.delay(series.pk)
    series.refresh_from_db()
    assert series.pipeline_state == Series.PipelineState.DONE and series.pipeline_attempts == 2 and calls["n"] == 2


@pytest.mark.redis
@pytest.mark.worker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_pipeline_with_a_real_worker(worker: str, reference_rows, actors: Actors, tmp_path: Path) -> None:
    patient = child(actors.coordinator_a, actors.hospital_a)
    files = pet_files(tmp_path, patient, n=3)
    response = api_client(actors.coordinator_a).post(
        "/api/v1/imaging/uploads/", {"patient": patient.study_id, "files": [as_upload(p) for p in files]},
        format="multipart")
    assert response.status_code == 201
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        series = Series.objects.get()
        if series.pipeline_state in (Series.PipelineState.DONE, Series.PipelineState.FAILED):
            break
        time.sleep(0.2)
    assert series.pipeline_state == Series.PipelineState.DONE, series.pipeline_error
    assert series.geometry["instances"] == 3
    # The analysis steps ran in the worker too: every step done, with its results stored.
    assert [(s["name"], s["state"], s["progress"]) for s in pipeline.step_states(series)] == [
        (name, "done", 100) for name in pipeline.step_names()]
    assert SuvResult.objects.get(series=series).quantifiable
    assert DoseResult.objects.get(study=series.study).radiopharmaceutical_msv is not None
    assert Preview.objects.filter(series=series, kind="coronal_mip").exists()


def test_long_step_reports_progress(eager, actors, patient, tmp_path, monkeypatch, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    seen: list[tuple[str, int]] = []
    original = pipeline._set_step

    def spy(series_id: int, step: str, **state):  # type: ignore[no-untyped-def]
        if state.get("state") == "running":
            seen.append((step, state["progress"]))
        return original(series_id, step, **state)

    monkeypatch.setattr(pipeline, "PROGRESS_INTERVAL_S", 0.0)
    monkeypatch.setattr(pipeline, "_set_step", spy)
    monkeypatch.setattr(volume, "_load", lambda series, digest: None)  # the same files in another test left a cached volume
    series = _upload(actors, patient, tmp_path, django_capture_on_commit_callbacks)
    # Reading the 3 images of the volume (in the SUV step) reported its progress on the way.
    assert [p for step, p in seen if step == "suv"] == [33, 66, 99]
    assert series.pipeline_steps["suv"]["progress"] == 100


def test_a_step_state_is_one_update_fenced_by_the_claim(eager, actors, patient, tmp_path,  # type: ignore[no-untyped-def]
                                                         django_capture_on_commit_callbacks) -> None:
    series = _upload(actors, patient, tmp_path, django_capture_on_commit_callbacks, execute=False)
    claimed = timezone.now()
    Series.objects.filter(pk=series.pk).update(pipeline_state=Series.PipelineState.RUNNING, pipeline_started_at=claimed)
    series.refresh_from_db()
    token = pipeline._claimed_at.set(claimed)
    try:
        with CaptureQueriesContext(connection) as ctx:
            pipeline._set_step(series, "suv", state="done", error="", result={"ok": True})
        assert len(ctx) == 1 and ctx.captured_queries[0]["sql"].startswith("UPDATE")
        assert Series.objects.get(pk=series.pk).pipeline_steps["suv"]["state"] == "done" == series.pipeline_steps["suv"]["state"]
        # another claim since (the sweep recovered the series, or an ingest made it pending): the run's write is refused
        Series.objects.filter(pk=series.pk).update(pipeline_started_at=claimed + timedelta(seconds=1))
        with pytest.raises(LeaseLost):
            pipeline._set_step(series, "dose", state="done", error="", result={})
        assert "dose" not in Series.objects.get(pk=series.pk).pipeline_steps
    finally:
        pipeline._claimed_at.reset(token)


def test_a_study_put_on_hold_during_a_run_stops_the_steps_after(eager, actors, patient, tmp_path, monkeypatch,  # type: ignore[no-untyped-def]
                                                                 django_capture_on_commit_callbacks) -> None:
    """The run reads its series once, but the study's status before every step: a hold placed meanwhile (an upload
    to another series of the exam) stops the steps after the one running."""
    def hold(series: Series) -> dict:
        ImagingStudy.objects.filter(pk=series.study_id).update(status=ImagingStudy.Status.ON_HOLD)
        return {"ok": True}

    monkeypatch.setitem(pipeline._steps, "hold", (25, hold))  # after suv, before dose
    series = _upload(actors, patient, tmp_path, django_capture_on_commit_callbacks)
    assert series.pipeline_state == Series.PipelineState.HELD
    assert series.pipeline_steps["suv"]["state"] == "done" and series.pipeline_steps["hold"]["state"] == "done"
    assert "dose" not in series.pipeline_steps and not DoseResult.objects.exists()
