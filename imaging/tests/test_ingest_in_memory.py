"""Files handed to the ingest as bytes in memory (IncomingFile.data) are filed exactly as the same files on disk."""
import hashlib
import tempfile
from contextlib import ExitStack
from pathlib import Path

import pytest
from django.core.files.storage import default_storage

from conftest import Actors, api_client
from imaging.api import views as api_views
from imaging.dicomweb import stow as stow_module
from imaging.models import Instance, Upload
from imaging.services.ingest import IncomingFile, ingest
from imaging.tests.helpers import child, ingest_spy, pet_files, stow, zip_of


@pytest.fixture
def patient(actors: Actors):  # type: ignore[no-untyped-def]
    return child(actors.coordinator_a, actors.hospital_a)


def test_bytes_in_memory_are_filed_as_the_same_files_on_disk(actors: Actors, patient, tmp_path: Path, eager) -> None:  # type: ignore[no-untyped-def]
    files = pet_files(tmp_path, patient, n=3)
    archive = tmp_path / "bundle"  # a zip without the name of one: found by its content, from memory too
    archive.write_bytes(zip_of({"a/one.dcm": files[2].read_bytes(), "b/note.txt": b"not dicom"}))
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"hello" * 20)
    paths = [files[0], files[1], archive, junk]

    in_memory = ingest(actor=actors.coordinator_a, patient=patient, source=Upload.Source.API,
                       files=[IncomingFile(p.name, data=p.read_bytes()) for p in paths])
    outcomes = sorted((item["file"], item["outcome"], item["code"]) for item in in_memory.items)
    assert outcomes == sorted([("bundle/a/one.dcm", "accepted", ""), ("bundle/b/note.txt", "rejected", "not_dicom"),
                               ("junk.bin", "rejected", "not_dicom"), (files[0].name, "accepted", ""), (files[1].name, "accepted", "")])
    stored = {i.sop_instance_uid: (i.sha256, i.storage_key) for i in Instance.objects.filter(series__study__patient=patient)}
    assert len(stored) == 3

    # The same files from disk: every accepted one is the same stored instance (a duplicate of the same bytes).
    on_disk = ingest(actor=actors.coordinator_a, patient=patient, source=Upload.Source.API,
                     files=[IncomingFile(p.name, p) for p in paths])
    assert sorted((item["file"], item["outcome"] if item["outcome"] != "duplicate" else "accepted",
                   item["code"] if item["code"] != "duplicate" else "") for item in on_disk.items) == outcomes
    assert {i.sop_instance_uid: (i.sha256, i.storage_key) for i in Instance.objects.filter(series__study__patient=patient)} == stored
    for sha, key in stored.values():
        assert hashlib.sha256(default_storage.open(key).read()).hexdigest() == sha


@pytest.mark.parametrize("memory_limit, in_memory", [(2_621_440, True), (1, False)])
def test_an_upload_request_hands_its_files_over_in_memory_when_small_on_disk_when_not(  # type: ignore[no-untyped-def]
        actors: Actors, patient, tmp_path: Path, eager, settings, monkeypatch, memory_limit: int, in_memory: bool) -> None:
    """The upload API and page read a request of up to FILE_UPLOAD_MAX_MEMORY_SIZE in memory (no temporary file), a
    larger one from the temporary files it streamed to (imaging.uploaded); the files are filed the same either way."""
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = memory_limit
    files = pet_files(tmp_path, patient, n=2)
    handed = ingest_spy(monkeypatch, api_views)
    with ExitStack() as stack:
        handles = [stack.enter_context(p.open("rb")) for p in files]
        response = api_client(actors.coordinator_a).post("/api/v1/imaging/uploads/", {"patient": patient.study_id, "files": handles},
                                                         format="multipart")
    assert response.status_code == 201, response.content
    assert handed == [(in_memory, not in_memory)] * 2
    assert response.json()["accepted"] == 2


@pytest.mark.parametrize("memory_limit, in_memory", [(2_621_440, True), (1, False)])
def test_stow_splits_a_small_body_in_memory_a_large_one_to_disk(  # type: ignore[no-untyped-def]
        actors: Actors, patient, tmp_path: Path, eager, settings, monkeypatch, memory_limit: int, in_memory: bool) -> None:
    """STOW-RS parts (imaging.multipart_related) of a body up to FILE_UPLOAD_MAX_MEMORY_SIZE stay in memory; a larger
    body's parts are written to temporary files, removed after the request. Stored the same either way."""
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = memory_limit
    files = pet_files(tmp_path, patient, n=2)
    handed = ingest_spy(monkeypatch, stow_module)
    folders: list[Path] = []
    real_mkdtemp = tempfile.mkdtemp
    monkeypatch.setattr(tempfile, "mkdtemp", lambda **kw: folders.append(Path(real_mkdtemp(**kw))) or str(folders[-1]))
    response = stow(api_client(actors.coordinator_a), f"?patient={patient.study_id}", *(p.read_bytes() for p in files))
    assert response.status_code == 200, response.content
    assert handed == [(in_memory, not in_memory)] * 2
    assert len(response.json()["00081199"]["Value"]) == 2
    # A part folder only for the body split to disk, and removed after the request.
    assert len(folders) == (0 if in_memory else 1) and not any(folder.exists() for folder in folders)
