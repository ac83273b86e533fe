"""The upload API with one file as the whole body (`application/dicom` or `application/zip`), the patient in the query:
what a forwarder sends one instance at a time, as to Orthanc's POST /instances (imaging.uploaded)."""
import hashlib
from pathlib import Path

import pytest
from django.core.files.storage import default_storage

from conftest import Actors, api_client
from imaging.api import views as api_views
from imaging.models import Instance, IntakeReceipt, Upload
from imaging.tests.helpers import as_upload, child, ingest_spy, pet_files, zip_of

URL = "/api/v1/imaging/uploads/"


@pytest.fixture
def patient(actors: Actors):  # type: ignore[no-untyped-def]
    return child(actors.coordinator_a, actors.hospital_a)


def _raw(client, query: str, body: bytes, content_type: str = "application/dicom", **headers):  # type: ignore[no-untyped-def]
    return client.generic("POST", f"{URL}{query}", body, content_type=content_type, **headers)


def test_a_raw_dicom_body_is_filed_as_the_same_file_in_a_form(actors: Actors, patient, tmp_path: Path, eager) -> None:  # type: ignore[no-untyped-def]
    first, second = pet_files(tmp_path, patient, n=2)
    client = api_client(actors.coordinator_a)
    response = _raw(client, f"?patient={patient.study_id}", first.read_bytes())
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["accepted"], body["patient"], body["files_received"]) == (1, patient.study_id, 1)
    assert [(i["file"], i["outcome"]) for i in body["items"]] == [("instance.dcm", "accepted")]
    stored = Instance.objects.get()
    assert hashlib.sha256(default_storage.open(stored.storage_key).read()).hexdigest() == stored.sha256

    # The same file in a multipart form is the same instance: a duplicate, nothing stored twice.
    again = client.post(URL, {"patient": patient.study_id, "files": [as_upload(first)]}, format="multipart")
    assert again.json()["duplicates"] == 1 and Instance.objects.get() == stored

    # Content-Disposition's filename names the file in the outcome.
    named = _raw(client, f"?patient={patient.study_id}", second.read_bytes(),
                 HTTP_CONTENT_DISPOSITION='attachment; filename="slice-2.dcm"')
    assert [(i["file"], i["outcome"]) for i in named.json()["items"]] == [("slice-2.dcm", "accepted")]
    assert Instance.objects.count() == 2


def test_a_raw_zip_body_is_expanded(actors: Actors, patient, tmp_path: Path, eager) -> None:  # type: ignore[no-untyped-def]
    files = pet_files(tmp_path, patient, n=2)
    archive = zip_of({"a.dcm": files[0].read_bytes(), "b.dcm": files[1].read_bytes(), "notes.txt": b"not dicom"})
    response = _raw(api_client(actors.coordinator_a), f"?patient={patient.study_id}", archive, "application/zip")
    assert response.status_code == 201, response.content
    assert sorted((i["file"], i["outcome"]) for i in response.json()["items"]) == [
        ("upload.zip/a.dcm", "accepted"), ("upload.zip/b.dcm", "accepted"), ("upload.zip/notes.txt", "rejected")]


def test_a_raw_body_deferred_gets_a_receipt_filed_later(actors: Actors, patient, tmp_path: Path, eager,  # type: ignore[no-untyped-def]
                                                       django_capture_on_commit_callbacks) -> None:
    (path,) = pet_files(tmp_path, patient, n=1)
    client = api_client(actors.coordinator_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = _raw(client, f"?patient={patient.study_id}", path.read_bytes(), HTTP_PREFER="respond-async")
    assert response.status_code == 202, response.content
    (answered,) = response.json()["receipts"]
    assert (answered["file"], answered["size"]) == ("instance.dcm", path.stat().st_size)
    receipt = client.get(f"/api/v1/imaging/receipts/{answered['id']}/").json()
    assert receipt["state"] == "filed" and receipt["outcome"][0]["outcome"] == "accepted"
    assert Instance.objects.filter(series__study__patient=patient).count() == 1


@pytest.mark.parametrize("memory_limit, in_memory", [(2_621_440, True), (1, False)])
def test_a_raw_body_is_handed_over_in_memory_when_small_on_disk_when_not(  # type: ignore[no-untyped-def]
        actors: Actors, patient, tmp_path: Path, eager, settings, monkeypatch, memory_limit: int, in_memory: bool) -> None:
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = memory_limit
    (path,) = pet_files(tmp_path, patient, n=1)
    handed = ingest_spy(monkeypatch, api_views)
    response = _raw(api_client(actors.coordinator_a), f"?patient={patient.study_id}", path.read_bytes())
    assert response.status_code == 201, response.content
    assert handed == [(in_memory, not in_memory)]


def test_a_raw_body_links_the_trial_visit_named_in_the_query(actors: Actors, patient, tmp_path: Path, eager) -> None:  # type: ignore[no-untyped-def]
    (path,) = pet_files(tmp_path, patient, n=1)
    response = _raw(api_client(actors.coordinator_a), f"?patient={patient.study_id}&trial_visit_id=abc", path.read_bytes())
    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and list(response.json()["fields"]) == ["trial_visit_id"]
    assert not Upload.objects.exists()


@pytest.mark.parametrize("query, body, field", [
    ("", b"DICM", "patient"),  # no patient: the query is the raw body's form
    ("?patient=X", b"", "files"),  # an empty body is no file
])
def test_a_raw_body_refused_leaves_nothing(actors: Actors, patient, query: str, body: bytes, field: str,  # type: ignore[no-untyped-def]
                                           eager) -> None:
    for prefer in ({}, {"HTTP_PREFER": "respond-async"}):
        response = _raw(api_client(actors.coordinator_a), query, body, **prefer)
        assert response.status_code == 400, response.content
        assert field in response.json()["fields"] and response.json()["detail"]
    assert not Upload.objects.exists() and not IntakeReceipt.objects.exists()


def test_another_body_type_is_415(actors: Actors, patient, eager) -> None:  # type: ignore[no-untyped-def]
    response = _raw(api_client(actors.coordinator_a), f"?patient={patient.study_id}", b"DICM", "text/plain")
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_the_schema_describes_the_raw_body(actors: Actors) -> None:
    schema = api_client(actors.coordinator_a).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    create = schema["paths"][URL]["post"]
    assert {"multipart/form-data", "application/dicom", "application/zip"} <= set(create["requestBody"]["content"])
    assert {p["name"] for p in create["parameters"]} >= {"patient", "trial_visit_id"}
