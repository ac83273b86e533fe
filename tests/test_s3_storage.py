"""Every stored file on S3-compatible object storage (STORAGE_BACKEND=s3, django-storages), end to end.

No object-store server installs on the development machines, so the S3 HTTP endpoint is moto's standalone server
(`moto[server]`, the dev extra), started here as a process of its own on a free port: the platform talks to it over
HTTP with boto3 exactly as it would to AWS S3 or MinIO (signed requests, path-style addressing, a key prefix). The
tests check what reached the bucket with a client of their own, not through the platform's storage.
"""
import hashlib
import io
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pydicom
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from conftest import Actors, api_client
from imaging import storage, synthetic
from imaging.models import ImagingStudy, Instance, Preview, Series
from imaging.tests.helpers import as_upload, child, like
from registry.models import AuditEvent
from registry.tests.builders import client_of, make_document, make_patient, make_registry_consent
from reports.tests.helpers import AS_OF, make_cohort

BUCKET, PREFIX = "nbnm-test", "site-a"
UPLOADS = "/api/v1/imaging/uploads/"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's S3 server on a port of its own, stopped at the end (its log is printed when a test fails)."""
    port = _free_port()
    log_path = tmp_path_factory.mktemp("moto") / "moto.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto server did not start: {log_path.read_text()[-2000:]}") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _client(endpoint: str) -> Any:
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test-key",
                        aws_secret_access_key="test-secret")


@pytest.fixture
def bucket(s3_endpoint: str, settings, tmp_path: Path) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """default_storage on the moto bucket (an empty one per test), configured as production would: the settings'
    OPTIONS from the environment variables' names. MEDIA_ROOT points at an empty folder that must stay empty."""
    client = _client(s3_endpoint)
    client.create_bucket(Bucket=BUCKET)
    settings.MEDIA_ROOT = str(tmp_path / "media-must-stay-empty")
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
        "bucket_name": BUCKET, "endpoint_url": s3_endpoint, "region_name": "us-east-1", "access_key": "test-key",
        "secret_key": "test-secret", "addressing_style": "path", "location": PREFIX, "signature_version": "s3v4",
        "default_acl": None, "querystring_auth": True, "file_overwrite": True, "max_memory_size": 16 * 1024 * 1024}}}
    from storages.backends.s3 import S3Storage

    assert isinstance(default_storage, S3Storage)  # the setting reached the lazy default storage
    yield client
    keys = [o["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET) for o in page.get("Contents", [])]
    for start in range(0, len(keys), 1000):
        client.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": k} for k in keys[start:start + 1000]]})
    client.delete_bucket(Bucket=BUCKET)
    assert not Path(settings.MEDIA_ROOT).exists(), "a file was written to the local disk instead of the bucket"


def objects(client: Any, prefix: str = "") -> dict[str, bytes]:
    """Every object under PREFIX/prefix, read by a client of the test's own: key (without PREFIX/) -> bytes."""
    out = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=f"{PREFIX}/{prefix}"):
        for o in page.get("Contents", []):
            out[o["Key"][len(PREFIX) + 1:]] = client.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read()
    return out


def parts(response: Any) -> list[bytes]:
    """The bodies of a multipart/related response."""
    content = b"".join(response.streaming_content) if response.streaming else response.content
    boundary = re.search(r"boundary=([^;\s]+)", response["Content-Type"]).group(1).encode()
    out = []
    for chunk in content.split(b"--" + boundary)[1:-1]:
        out.append(chunk.split(b"\r\n\r\n", 1)[1][:-2])
    return out


@pytest.mark.django_db(transaction=True)
def test_upload_pipeline_wado_and_report_on_s3(bucket: Any, reference_rows, actors: Actors, tmp_path: Path, eager) -> None:  # type: ignore[no-untyped-def]
    """Tasks run in-process here (`eager`), so the pipeline and the report run see the test's S3 settings."""
    patient = child(actors.coordinator_a, actors.hospital_a)
    pl = like(patient)
    ctx = synthetic.study_context(patient=pl, seed=5)
    datasets = synthetic.pet_series(tracer="F18_FDG", patient=pl, seed=5, n_slices=6, rows=32, cols=32, study=ctx)
    datasets += synthetic.ct_series(patient=pl, seed=5, n_slices=4, rows=32, cols=32, study=ctx)
    files = synthetic.write_series(datasets, tmp_path / "upload")
    client = api_client(actors.coordinator_a)

    # Upload: de-identified instances published under their content address in the bucket, nothing left staged.
    response = client.post(UPLOADS, {"patient": patient.study_id, "files": [as_upload(p) for p in files]}, format="multipart")
    assert response.status_code == 201, response.content
    assert response.json()["accepted"] == 10
    stored = objects(bucket, "dicom/")
    instances = list(Instance.objects.select_related("series__study").order_by("series__modality", "instance_number"))
    assert sorted(stored) == sorted(i.storage_key for i in instances) and len(stored) == 10
    for inst in instances:
        assert hashlib.sha256(stored[inst.storage_key]).hexdigest() == inst.sha256
    assert objects(bucket, "incoming/") == {}
    assert pydicom.dcmread(io.BytesIO(stored[instances[0].storage_key])).PatientID == patient.study_id

    # Pipeline: every series done, its previews in the bucket.
    study = ImagingStudy.objects.get()
    deadline = time.monotonic() + 120
    while Series.objects.exclude(pipeline_state=Series.PipelineState.DONE).exists():
        assert time.monotonic() < deadline, list(Series.objects.values_list("modality", "pipeline_state", "pipeline_error"))
        time.sleep(0.2)
    study.refresh_from_db()
    assert study.status == ImagingStudy.Status.READY
    previews = list(Preview.objects.all())
    assert previews and {p.storage_key for p in previews} <= set(objects(bucket, "").keys())
    assert storage.exists(previews[0].storage_key)
    assert set(storage.walk("dicom")) == {i.storage_key for i in instances}  # the orphan check lists the bucket

    # WADO-RS: an instance and a series streamed from the bucket, frames, a rendered image.
    pet = [i for i in instances if i.series.modality == "PT"]
    inst = pet[2]
    base = f"/dicomweb/studies/{study.study_uid}/series/{inst.series.series_uid}"
    got = client.get(f"{base}/instances/{inst.sop_instance_uid}", HTTP_ACCEPT="multipart/related; type=\"application/dicom\"")
    assert got.status_code == 200 and got.streaming
    assert parts(got) == [stored[inst.storage_key]]
    series = client.get(base, HTTP_ACCEPT="multipart/related; type=\"application/dicom\"")
    assert parts(series) == [stored[i.storage_key] for i in pet]
    frame = client.get(f"{base}/instances/{inst.sop_instance_uid}/frames/1")
    assert frame.status_code == 200
    pixels = pydicom.dcmread(io.BytesIO(stored[inst.storage_key])).pixel_array
    assert parts(frame) == [np.ascontiguousarray(pixels).astype(pixels.dtype.newbyteorder("<")).tobytes()]
    rendered = client.get(f"{base}/instances/{inst.sop_instance_uid}/rendered", HTTP_ACCEPT="image/png")
    assert rendered.status_code == 200 and rendered["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(rendered.content)).size == (32, 32)

    # A report run writes its files to the bucket; the download sends the stored bytes.
    make_cohort(actors)
    from reports.models import ReportRun
    from reports.services import report_run_request

    investigator = api_client(actors.investigator_a)
    run = report_run_request(actor=actors.investigator_a, kind="cohort", params={"as_of": AS_OF.isoformat()})
    deadline = time.monotonic() + 120
    while ReportRun.objects.filter(pk=run.pk, status__in=["pending", "running"]).exists():
        assert time.monotonic() < deadline
        time.sleep(0.2)
    run.refresh_from_db()
    assert run.status == ReportRun.Status.SUCCEEDED, run.error
    report_objects = objects(bucket, f"reports/{run.pk}/")
    listed = next(f for f in investigator.get(f"/api/v1/reports/runs/{run.pk}/").json()["files"] if f["name"].endswith(".csv"))
    download = investigator.get(listed["download_url"])
    body = b"".join(download.streaming_content)
    assert download.status_code == 200 and hashlib.sha256(body).hexdigest() == listed["sha256"]
    assert body in report_objects.values()


@pytest.mark.django_db
def test_consent_and_protocol_files_upload_and_download_on_s3(bucket: Any, actors: Actors) -> None:
    scan, form, protocol = b"%PDF-1.4 signed page", b"%PDF-1.4 the approved form", b"%PDF-1.4 protocol 2.0"
    document = make_document(actor=actors.data_manager, pdf=SimpleUploadedFile("approved form.pdf", form, "application/pdf"))
    patient = make_patient(actors.coordinator_a, actors.hospital_a)
    consent = make_registry_consent(actors.coordinator_a, patient, document=document,
                                    signature_page=SimpleUploadedFile("Li Xiaohong signed.pdf", scan, "application/pdf"))
    in_bucket = objects(bucket)
    assert in_bucket[consent.signature_page.name] == scan and in_bucket[document.pdf.name] == form
    assert not any("Xiaohong" in key for key in in_bucket)

    page = client_of(actors.coordinator_a).get(reverse("web-patient-consent-signature-page", args=[patient.study_id, consent.pk]))
    assert page.status_code == 200 and b"".join(page.streaming_content) == scan
    event = AuditEvent.objects.get(action="consent_page_download")
    assert event.after == {"file": "signature_page", "size": len(scan), "sha256": hashlib.sha256(scan).hexdigest()}

    from trials.services import setup
    from trials.tests.builders import PROTOCOL_FROM, make_trial

    trial = make_trial(actors.data_manager, [actors.hospital_a], code="NB-S3")
    version = setup.protocol_version_create(
        actor=actors.data_manager, trial=trial, number="2.0", version_date=PROTOCOL_FROM, ethics_approval_number="EC-2",
        ethics_approval_date=PROTOCOL_FROM, effective_from=PROTOCOL_FROM,
        document=SimpleUploadedFile("protocol.pdf", protocol, "application/pdf"))
    assert objects(bucket, "trials/")[version.document.name] == protocol
    got = client_of(actors.data_manager).get(reverse("web-protocol-document", args=[version.pk]))
    assert got.status_code == 200 and b"".join(got.streaming_content) == protocol

    # A row whose object is gone from the bucket: 404 like a record out of scope, and no download audited.
    bucket.delete_object(Bucket=BUCKET, Key=f"{PREFIX}/{consent.signature_page.name}")
    before = AuditEvent.objects.filter(action="consent_page_download").count()
    gone = client_of(actors.coordinator_a).get(reverse("web-patient-consent-signature-page", args=[patient.study_id, consent.pk]))
    assert gone.status_code == 404 and AuditEvent.objects.filter(action="consent_page_download").count() == before


def test_storage_functions_on_s3_stage_promote_discard_stream(bucket: Any) -> None:
    data = bytes(range(256)) * 5000  # 1.28 MB: more than one chunk
    sha = hashlib.sha256(data).hexdigest()
    batch = storage.new_batch()
    storage.stage(data, sha, batch)
    storage.stage(b"refused", "0" * 64, batch)
    assert set(objects(bucket, "incoming/")) == {storage.staged_key(batch, sha), storage.staged_key(batch, "0" * 64)}
    key = storage.promote(batch, sha)
    assert storage.promote(batch, sha) == key  # idempotent
    storage.discard(batch)
    assert objects(bucket, "incoming/") == {} and objects(bucket, "dicom/") == {key: data}
    assert storage.promote(batch, sha) == key  # staged file gone, already published: still fine
    streamed = list(storage.chunks(key, size=1 << 18))
    assert len(streamed) > 1 and b"".join(streamed) == data and storage.read(key) == data
    with pytest.raises(FileNotFoundError):
        next(storage.chunks("dicom/no/such.dcm"))
    storage.overwrite("analysis/x.bin", b"one")
    storage.overwrite("analysis/x.bin", b"two")
    assert objects(bucket, "analysis/") == {"analysis/x.bin": b"two"}


@pytest.mark.django_db(transaction=True)
def test_a_deferred_upload_files_on_s3(bucket: Any, reference_rows, actors: Actors, tmp_path: Path, eager) -> None:  # type: ignore[no-untyped-def]
    """`Prefer: respond-async`: the received file waits in its receipt's row, encrypted, and is filed from there into
    the bucket under its content address; nothing of it is left in the bucket's staging area or the row
    (imaging.services.receipts)."""
    patient = child(actors.coordinator_a, actors.hospital_a)
    pl = like(patient)
    datasets = synthetic.pet_series(tracer="F18_FDG", patient=pl, seed=6, n_slices=2, rows=32, cols=32,
                                    study=synthetic.study_context(patient=pl, seed=6))
    files = synthetic.write_series(datasets, tmp_path / "upload")
    from imaging.models import IntakeReceipt, IntakeSpool
    from imaging.services.ingest import IncomingFile
    from imaging.services.receipts import receipts_file, receipts_receive

    receipts_receive(actor=actors.coordinator_a, patient=patient, source="api",  # filed in the commit's hook (eager)
                     files=[IncomingFile(p.name, p) for p in files])
    assert set(IntakeReceipt.objects.values_list("state", flat=True)) == {"filed"} and not IntakeSpool.objects.exists()
    assert receipts_file() == 0 and objects(bucket, "incoming/") == {}
    stored = objects(bucket, "dicom/")
    assert set(stored) == set(Instance.objects.filter(patient=patient).values_list("storage_key", flat=True)) and len(stored) == 2
    assert all(pydicom.dcmread(io.BytesIO(data)).PatientIdentityRemoved == "YES" for data in stored.values())
