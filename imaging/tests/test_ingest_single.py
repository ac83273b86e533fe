"""One instance per request (STOW-RS clients, PACS forwards): what a request costs, per-file outcomes and dedup,
one analysis run per series however many requests fed it, and a pipeline run that reads each stored file once.

The broker: these tests run on SQLite without Redis, so where a test needs messages delivered with their countdown
(the settle delay) it records what `work_send` publishes and delivers each message at its due time by calling the task
body, as a worker would; time is moved with time-machine. Everything else (the ingest, the work engine's claim,
the pipeline and its steps, storage) is the real code.
"""
import builtins
import os
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.files.storage import default_storage
from django.utils import timezone

from config.celery_app import app as celery_app
from conftest import Actors, api_client
from imaging import pipeline as pipeline_module
from imaging import synthetic
from imaging.models import Instance, Series, SuvResult, Upload
from imaging.services.ingest import IncomingFile, ingest
from imaging.tasks import run_pipeline
from imaging.tests.helpers import child, like, pet_files, stow


@pytest.fixture
def patient(actors: Actors):  # type: ignore[no-untyped-def]
    return child(actors.coordinator_a, actors.hospital_a)


def _stow(client, study_id: str, *parts: bytes):  # type: ignore[no-untyped-def]
    return stow(client, f"?patient={study_id}", *parts)


def _referenced(response) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    return response.json().get("00081199", {}).get("Value", [])


def _failed(response) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    return response.json().get("00081198", {}).get("Value", [])


def test_single_instance_stow_keeps_per_file_outcomes_and_dedup(actors: Actors, patient, tmp_path: Path, eager,  # type: ignore[no-untyped-def]
                                                                django_capture_on_commit_callbacks) -> None:
    files = pet_files(tmp_path, patient, n=3)
    client = api_client(actors.coordinator_a)
    with django_capture_on_commit_callbacks(execute=True):
        first = _stow(client, patient.study_id, files[0].read_bytes())
    assert first.status_code == 200 and len(_referenced(first)) == 1
    sop_uid = _referenced(first)[0]["00081155"]["Value"][0]
    instance = Instance.objects.get(sop_instance_uid=sop_uid)
    assert _referenced(first)[0]["00081190"]["Value"][0].endswith(
        f"/studies/{instance.series.study.study_uid}/series/{instance.series.series_uid}/instances/{sop_uid}")
    # The same instance again: a duplicate, still referenced (the client's copy is stored), one row.
    with django_capture_on_commit_callbacks(execute=True):
        again = _stow(client, patient.study_id, files[0].read_bytes())
    assert again.status_code == 200 and _referenced(again)[0]["00081155"]["Value"] == [sop_uid]
    assert Instance.objects.filter(sop_instance_uid=sop_uid).count() == 1
    assert Upload.objects.latest("id").items[0]["outcome"] == "duplicate"
    # A part that is not DICOM: a failure of that part (409: nothing of the request was stored).
    refused = _stow(client, patient.study_id, b"not a DICOM file")
    assert refused.status_code == 409 and len(_failed(refused)) == 1 and not _referenced(refused)
    # The next instance of the series joins it; the series is indexed by the request itself.
    with django_capture_on_commit_callbacks(execute=True):
        second = _stow(client, patient.study_id, files[1].read_bytes())
    assert second.status_code == 200
    series = Series.objects.get(pk=instance.series_id)
    assert series.number_of_instances == 2 and series.geometry["instances"] == 2


def test_one_instance_request_statement_budget(actors: Actors, patient, tmp_path: Path, eager,  # type: ignore[no-untyped-def]
                                               django_capture_on_commit_callbacks, django_assert_max_num_queries) -> None:
    """The statements of a one-instance request into a known series, pinned: was 39 (38 + the session) before
    issue 19: scope and consent checked once, no re-read after the write, one UPDATE per row kind, the index step
    inside the upload's transaction. Then 26; now 21 (17 with token authentication and no session): the patient
    read with its upload scope in one query, the consent check one query (the newest record decides), the audit
    event without a savepoint of its own."""
    files = pet_files(tmp_path, patient, n=3)
    client = api_client(actors.coordinator_a)
    with django_capture_on_commit_callbacks(execute=True):
        assert _stow(client, patient.study_id, files[0].read_bytes()).status_code == 200
    with django_assert_max_num_queries(21), django_capture_on_commit_callbacks(execute=False):
        with files[1].open("rb") as fh:
            response = client.post("/api/v1/imaging/uploads/", {"patient": patient.study_id, "files": fh}, format="multipart")
    assert response.status_code == 201 and response.json()["accepted"] == 1
    with django_assert_max_num_queries(21), django_capture_on_commit_callbacks(execute=False):
        assert _stow(client, patient.study_id, files[2].read_bytes()).status_code == 200
    assert Series.objects.get().number_of_instances == 3


def test_the_ingests_index_aggregate_is_the_index_steps(actors: Actors, patient, tmp_path: Path, eager) -> None:  # type: ignore[no-untyped-def]
    """The ingest indexes a series with its own SQL (imaging.services.ingest_sql); the index step's ORM aggregate
    (imaging.pipeline.index_values) must give the same values, quarantined and undated instances included."""
    from imaging.services.ingest import _index_values

    files = pet_files(tmp_path, patient, n=4)
    ingest(actor=actors.coordinator_a, patient=patient, source=Upload.Source.API, files=[IncomingFile(p.name, p) for p in files])
    series = Series.objects.get()
    first, second = series.instances.order_by("slice_position")[:2]
    Instance.objects.filter(pk=first.pk).update(quarantine_reason="burned-in text")
    Instance.objects.filter(pk=second.pk).update(acquisition="")
    ours, theirs = _index_values(series), pipeline_module.index_values(series)
    assert ours == theirs
    assert ours[0] == 4 and ours[2] == {"instances": 3} and ours[1]["z_range"][0] == second.slice_position


def test_the_upload_answer_is_the_upload_serializers(actors: Actors, patient, tmp_path: Path, eager) -> None:  # type: ignore[no-untyped-def]
    """The upload API answers with `upload_answer` (no ModelSerializer built per request): the serializer's data."""
    from imaging.api.views import UploadSerializer, upload_answer

    files = pet_files(tmp_path, patient, n=2)
    bad = tmp_path / "bad.dcm"
    bad.write_bytes(b"not dicom")
    upload = ingest(actor=actors.coordinator_a, patient=patient, source=Upload.Source.API,
                    files=[IncomingFile(p.name, p) for p in (*files, bad)])
    assert upload_answer(upload) == UploadSerializer(upload).data
    stored = Upload.objects.select_related("patient", "uploaded_by").get(pk=upload.pk)
    assert upload_answer(upload) == UploadSerializer(stored).data  # the row as read back: the same answer
    assert upload_answer(upload)["rejected"] == 1 and upload_answer(upload)["created_at"]


class _Broker:
    """What work_send published, delivered at each message's due time by running the task body (a worker's part)."""

    def __init__(self) -> None:
        self.messages: list[tuple[datetime, int]] = []

    def apply_async(self, args: list[int], countdown: int | None = None, **_: Any) -> None:
        self.messages.append((timezone.now() + timedelta(seconds=countdown or 0), args[0]))

    def deliver(self, traveller: Any) -> None:
        while self.messages:
            self.messages.sort()
            due, series_id = self.messages.pop(0)
            if due > timezone.now():
                traveller.move_to(due)
            run_pipeline(series_id)


@pytest.fixture
def broker(monkeypatch, settings):  # type: ignore[no-untyped-def]
    """A broker with countdowns (tasks not eager) and a settle delay of 30 s."""
    settings.IMAGING_PIPELINE_SETTLE_SECONDS = 30
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    fake = _Broker()
    monkeypatch.setattr(run_pipeline, "apply_async", fake.apply_async)
    yield fake
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def runs(monkeypatch):  # type: ignore[no-untyped-def]
    """The pipeline runs the engine started (the real handler, counted)."""
    started: list[int] = []
    real = pipeline_module.pipeline_run

    def counted(series, work):  # type: ignore[no-untyped-def]
        started.append(series.pk)
        return real(series, work)

    monkeypatch.setattr(pipeline_module, "pipeline_run", counted)
    return started


def _one_by_one(actor, patient, paths: list[Path], capture, traveller, *, every_s: float = 1.0) -> None:  # type: ignore[no-untyped-def]
    for path in paths:
        with capture(execute=True):
            upload = ingest(actor=actor, patient=patient, source=Upload.Source.STOW, files=[IncomingFile(path.name, path)])
        assert upload.accepted == 1, upload.items
        traveller.shift(every_s)


def test_a_series_sent_an_instance_per_request_is_analysed_once(actors: Actors, patient, tmp_path: Path, broker, runs,  # type: ignore[no-untyped-def]
                                                                 django_capture_on_commit_callbacks) -> None:
    paths = pet_files(tmp_path, patient, n=21)
    start = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as traveller:
        _one_by_one(actors.coordinator_a, patient, paths[:20], django_capture_on_commit_callbacks, traveller)
        series = Series.objects.get()
        # One message for the series, however many requests; the series waits, indexed, for 30 s of quiet.
        assert len(broker.messages) == 1 and runs == []
        assert series.pipeline_state == Series.PipelineState.PENDING and series.number_of_instances == 20
        assert series.pipeline_steps["index"]["state"] == "done" and series.geometry["instances"] == 20
        assert series.pipeline_queued_at == start + timedelta(seconds=19 + 30)
        # The message arrives 30 s after the first instance, before the series settled: it sends itself on, once.
        broker.deliver(traveller)
        assert runs == [series.pk]
        series.refresh_from_db()
        assert series.pipeline_state == Series.PipelineState.DONE and timezone.now() == start + timedelta(seconds=49)
        assert SuvResult.objects.get(series=series).quantifiable
        # A redelivered message (acks_late) finds nothing to claim: no second run.
        run_pipeline(series.pk)
        assert runs == [series.pk]
        # A late instance after the run: the series is queued again, and analysed again with all 21.
        traveller.shift(600)
        _one_by_one(actors.coordinator_a, patient, paths[20:], django_capture_on_commit_callbacks, traveller)
        series.refresh_from_db()
        assert series.pipeline_state == Series.PipelineState.PENDING and list(series.pipeline_steps) == ["index"]
        assert len(broker.messages) == 1
        broker.deliver(traveller)
    assert runs == [series.pk, series.pk]
    series.refresh_from_db()
    assert series.pipeline_state == Series.PipelineState.DONE and series.number_of_instances == 21
    assert series.pipeline_steps["index"]["result"] == {"instances": 21}


def test_an_instance_arriving_during_the_run_queues_it_again(actors: Actors, patient, tmp_path: Path, broker, runs,  # type: ignore[no-untyped-def]
                                                             django_capture_on_commit_callbacks, monkeypatch) -> None:
    """No lost run and no stale result: the run that was overtaken records no step as done; the next one sees all."""
    paths = pet_files(tmp_path, patient, n=6)
    start = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
    counted = pipeline_module.pipeline_run

    with time_machine.travel(start, tick=False) as traveller:
        def late_instance_then_run(series, work):  # type: ignore[no-untyped-def]
            if len(runs) == 0:  # during the first run, the last instance arrives
                _one_by_one(actors.coordinator_a, patient, paths[5:], django_capture_on_commit_callbacks, traveller)
            return counted(series, work)

        monkeypatch.setattr(pipeline_module, "pipeline_run", late_instance_then_run)
        _one_by_one(actors.coordinator_a, patient, paths[:5], django_capture_on_commit_callbacks, traveller)
        broker.deliver(traveller)
    series = Series.objects.get()
    assert len(runs) == 2
    assert series.pipeline_state == Series.PipelineState.DONE and series.number_of_instances == 6
    assert series.pipeline_steps["index"]["result"] == {"instances": 6}
    assert {s["state"] for s in series.pipeline_steps.values()} == {"done"}


@pytest.fixture
def stored_opens(monkeypatch, settings, tmp_path):  # type: ignore[no-untyped-def]
    """How often each stored instance file is opened for reading (the local file system, or the storage API).

    A media folder of the test's own: a volume cached by an earlier run of the same synthetic series (same UIDs)
    would be read instead of the files."""
    settings.MEDIA_ROOT = tmp_path / "media"
    opened: Counter[str] = Counter()
    root = os.path.join(str(settings.MEDIA_ROOT), "dicom") + os.sep
    real_open, real_storage_open = builtins.open, default_storage.open

    def counting_open(file, *args, **kwargs):  # type: ignore[no-untyped-def]
        if isinstance(file, (str, os.PathLike)) and os.fspath(file).startswith(root):
            opened[os.path.relpath(os.fspath(file), str(settings.MEDIA_ROOT)).replace(os.sep, "/")] += 1
        return real_open(file, *args, **kwargs)

    def counting_storage_open(name, *args, **kwargs):  # type: ignore[no-untyped-def]
        if name.startswith("dicom/"):
            opened[name] += 1
        return real_storage_open(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", counting_open)
    monkeypatch.setattr(default_storage, "open", counting_storage_open)
    return opened


def test_a_pipeline_run_opens_each_stored_file_once(actors: Actors, patient, tmp_path: Path, eager, stored_opens,  # type: ignore[no-untyped-def]
                                                    django_capture_on_commit_callbacks) -> None:
    datasets = synthetic.pet_series(tracer="F18_FDG", patient=like(patient), seed=3, n_slices=12, rows=16, cols=16)
    paths = synthetic.write_series(datasets, tmp_path / "pet")
    with django_capture_on_commit_callbacks(execute=True):
        ingest(actor=actors.coordinator_a, patient=patient, source="api", files=[IncomingFile(p.name, p) for p in paths])
    series = Series.objects.get()
    assert series.pipeline_state == Series.PipelineState.DONE, series.pipeline_steps
    assert SuvResult.objects.get(series=series).quantifiable and series.previews.exists()
    # SUV (header, then every pixel), dose (the administration header) and previews (the volume): one open per file.
    keys = set(series.instances.values_list("storage_key", flat=True))
    assert len(keys) == 12
    assert set(stored_opens) == keys and set(stored_opens.values()) == {1}, stored_opens


def test_pet_ct_each_run_opens_each_file_once(actors: Actors, patient, tmp_path: Path, eager, stored_opens, monkeypatch,  # type: ignore[no-untyped-def]
                                              django_capture_on_commit_callbacks) -> None:
    """The PET run's dose step reads the CT's headers, the CT run's preview its pixels: each run opens a file once."""
    per_run: list[Counter[str]] = []
    real = pipeline_module.pipeline_run

    def measured(series, work):  # type: ignore[no-untyped-def]
        stored_opens.clear()
        try:
            return real(series, work)
        finally:
            per_run.append(Counter(stored_opens))

    monkeypatch.setattr(pipeline_module, "pipeline_run", measured)
    pet, ct = synthetic.pet_ct_study(tracer="F18_FDG", patient=like(patient), seed=4, n_slices=8, rows=16, cols=16,
                                     ct_rows=16, ct_cols=16)
    paths = synthetic.write_series([*pet, *ct], tmp_path / "petct")
    with django_capture_on_commit_callbacks(execute=True):
        ingest(actor=actors.coordinator_a, patient=patient, source="api", files=[IncomingFile(p.name, p) for p in paths])
    assert {s.pipeline_state for s in Series.objects.all()} == {Series.PipelineState.DONE}
    assert len(per_run) == 2 and all(run and set(run.values()) == {1} for run in per_run), per_run
