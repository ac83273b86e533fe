"""Where an upload's de-identified files wait for their rows: in memory up to a budget on the local filesystem, else
staged on disk (imaging.storage); the stored files, rows and items are the same either way. And the filed receipts'
spool on SQLite: deleted without zeroing its pages, the connection's setting as it was afterwards."""
import hashlib
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.db import connection

from conftest import Actors
from imaging import storage
from imaging.models import Instance, IntakeReceipt, IntakeSpool, Upload
from imaging.services import prepare as prepare_module
from imaging.services.ingest import IncomingFile, ingest
from imaging.services.prepare import Prepared, prepare_many
from imaging.services.receipts import receipts_receive
from imaging.tests.helpers import child, pet_files


@pytest.fixture
def patient(actors: Actors):  # type: ignore[no-untyped-def]
    return child(actors.coordinator_a, actors.hospital_a)


def _staged_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = storage.stage

    def stage(data: bytes, sha256: str, batch: str) -> str:
        calls.append(sha256)
        return real(data, sha256, batch)

    monkeypatch.setattr(storage, "stage", stage)
    return calls


@pytest.mark.parametrize("budget, staged", [(prepare_module.IN_MEMORY_BYTES, 0), (0, 4), (1000, 4)])
def test_files_wait_in_memory_up_to_the_budget_else_staged(actors: Actors, patient, tmp_path: Path, eager,  # type: ignore[no-untyped-def]
                                                           monkeypatch, budget: int, staged: int) -> None:
    """The budget is for the upload: each file may keep up to the budget divided by the number of files (1000 bytes
    for 4 files of a few KB: all staged). A duplicate within the upload is never published, either way."""
    monkeypatch.setattr(prepare_module, "IN_MEMORY_BYTES", budget)
    calls = _staged_calls(monkeypatch)
    files = pet_files(tmp_path, patient, n=3)
    upload = ingest(actor=actors.coordinator_a, patient=patient, source=Upload.Source.API,
                    files=[IncomingFile(p.name, data=p.read_bytes()) for p in [*files, files[0]]])
    assert [i["outcome"] for i in upload.items] == ["accepted", "accepted", "accepted", "duplicate"]
    assert len(calls) == staged
    rows = list(Instance.objects.filter(series__study__patient=patient))
    assert len(rows) == 3
    for row in rows:
        assert hashlib.sha256(default_storage.open(row.storage_key).read()).hexdigest() == row.sha256
    assert not set(storage.walk(storage.STAGING))  # nothing left staged


def test_bytes_kept_in_memory_are_the_bytes_staged_and_published(actors: Actors, patient, tmp_path: Path, eager,  # type: ignore[no-untyped-def]
                                                                  monkeypatch) -> None:
    """The same files prepared to be kept in memory give exactly the files a staged upload stored."""
    files = pet_files(tmp_path, patient, n=3)
    monkeypatch.setattr(prepare_module, "IN_MEMORY_BYTES", 0)
    ingest(actor=actors.coordinator_a, patient=patient, source=Upload.Source.API, files=[IncomingFile(p.name, p) for p in files])
    stored = {row.sop_instance_uid: default_storage.open(row.storage_key).read()
              for row in Instance.objects.filter(series__study__patient=patient)}
    monkeypatch.undo()
    kept = [p for p in prepare_many([IncomingFile(p.name, p) for p in files], study_id=patient.study_id,
                                    batch=storage.new_batch()) if isinstance(p, Prepared)]
    assert len(kept) == 3 and all(p.data is not None for p in kept)
    assert {p.sop_uid: p.data for p in kept} == stored


def test_filed_receipts_files_are_deleted_and_sqlite_zeroes_freed_pages_again_after(  # type: ignore[no-untyped-def]
        actors: Actors, patient, tmp_path: Path, eager, django_capture_on_commit_callbacks) -> None:
    """On both databases the files go with the filing; on SQLite its secure_delete setting is as it was afterwards
    (receipts._delete_spools turns it off for the delete only; PostgreSQL has no such setting)."""
    on_sqlite = connection.vendor == "sqlite"
    before = _secure_delete() if on_sqlite else None
    with django_capture_on_commit_callbacks(execute=True):
        receipts_receive(actor=actors.coordinator_a, patient=patient, source=Upload.Source.API,
                         files=[IncomingFile(p.name, p) for p in pet_files(tmp_path, patient, n=2)])
    assert set(IntakeReceipt.objects.values_list("state", flat=True)) == {IntakeReceipt.State.FILED}
    assert not IntakeSpool.objects.exists()
    if on_sqlite:
        assert _secure_delete() == before


def _secure_delete() -> int:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA secure_delete")
        return cursor.fetchone()[0]


def test_a_pool_that_breaks_midway_leaves_the_rest_to_this_process_once(actors: Actors, patient, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                         monkeypatch, settings) -> None:
    """Each file's outcome is given once: the files the pool finished before it broke are not prepared again."""
    from concurrent.futures.process import BrokenProcessPool

    files = [IncomingFile(p.name, p) for p in pet_files(tmp_path, patient, n=prepare_module.POOL_THRESHOLD)]

    class Breaking:
        def map(self, work, items, chunksize):  # type: ignore[no-untyped-def]
            for item in list(items)[:3]:
                yield work(item)
            raise BrokenProcessPool("a worker died")

    settings.INGEST_WORKERS = 2
    monkeypatch.setattr(prepare_module, "_get_pool", lambda _workers: Breaking())
    outcomes = list(prepare_many(files, study_id=patient.study_id, batch=storage.new_batch()))
    assert [o.item["file"] for o in outcomes if isinstance(o, Prepared)] == [f.name for f in files]
