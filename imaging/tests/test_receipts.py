"""Deferred filing (`Prefer: respond-async`): 202 once spooled, filed in groups, every file's outcome on its receipt.

The eager tests run the filer in the commit's hook, as the demo does without a broker; the worker test runs it in a
real Celery worker on PostgreSQL and Redis, with several one-instance requests filed as one upload.
"""
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from conftest import Actors, api_client
from imaging.api.views import IntakeReceiptSerializer, receipt_answer
from imaging.models import Instance, IntakeReceipt, IntakeSpool, Series, Upload
from imaging.services import receipts as receipts_module
from imaging.services.ingest import IncomingFile
from imaging.services.receipts import _spooled, receipts_file, receipts_receive, receipts_waiting
from imaging.tests.helpers import as_upload, child, ingest_spy, pet_files, stow
from registry import identity_crypto
from registry.access import HospitalRole
from registry.models import AuditEvent
from registry.services.consent import consent_withdraw
from registry.services.hospitals import membership_update

ASYNC = {"HTTP_PREFER": "respond-async"}


@pytest.fixture
def patient(actors: Actors):  # type: ignore[no-untyped-def]
    return child(actors.coordinator_a, actors.hospital_a)


def _arrivals(files: list[Path]) -> list[IncomingFile]:
    return [IncomingFile(p.name, p) for p in files]


def _post(client, patient, files: list[Path], **headers):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/imaging/uploads/", {"patient": patient.study_id, "files": [as_upload(p) for p in files]},
                       format="multipart", **headers)


def test_a_deferred_upload_is_answered_202_and_each_file_gets_its_outcome(actors: Actors, patient, tmp_path: Path, eager,  # type: ignore[no-untyped-def]
                                                                         django_capture_on_commit_callbacks) -> None:
    files = pet_files(tmp_path, patient, n=2)
    client = api_client(actors.coordinator_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, patient, files, HTTP_PREFER="wait=5, Respond-Async")
    assert response.status_code == 202, response.content
    assert response["Preference-Applied"] == "respond-async"
    answered = response.json()["receipts"]
    assert [r["file"] for r in answered] == [p.name for p in files]
    # Filed in the commit's hook (no broker); each receipt's URL says what became of its file.
    receipts = [client.get(f"/api/v1/imaging/receipts/{r['id']}/").json() for r in answered]
    assert {r["state"] for r in receipts} == {"filed"}
    assert [r["outcome"][0]["outcome"] for r in receipts] == ["accepted", "accepted"]
    upload = Upload.objects.get()
    assert upload.accepted == 2 and upload.receipts.count() == 2
    # The upload's items name the files as sent, each with its receipt.
    assert sorted((i["file"], i["receipt"]) for i in upload.items) == sorted((r["file"], r["id"]) for r in receipts)
    assert Instance.objects.filter(series__study__patient=patient).count() == 2
    # The files left the receipts with the filing.
    assert not IntakeSpool.objects.exists()
    # Audited when filed: the ingest of one upload, and the receipts it settled (no event per receipt).
    events = list(AuditEvent.objects.filter(action__in=["ingest", "intake_file"]).order_by("seq").values_list("action", "after"))
    assert [action for action, _after in events] == ["ingest", "intake_file"]
    assert events[1][1]["receipts"] == [r["id"] for r in answered] and events[1][1]["upload"] == upload.pk


def test_a_series_sent_an_instance_per_request_pays_the_checks_once(actors: Actors, patient, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                    django_assert_num_queries, monkeypatch) -> None:
    """The statements of a deferred one-instance request, pinned: the first of a series authenticates (the token, the
    user's roles), finds the patient with its scope and checks the consent; the next, within
    INTAKE_RECEIVE_CHECK_SECONDS, only inserts its receipt and its file (registry.api.deferred, imaging.services.receipts)."""
    files = pet_files(tmp_path, patient, n=3)
    client = APIClient()  # as a DICOMweb client or a forwarder signs in: a token, no session
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=actors.coordinator_a).key}")
    # The receipt and its file: one statement on PostgreSQL (receipts._insert_with_spool), two on SQLite.
    inserts = 1 if connection.vendor == "postgresql" else 2
    # token, scope (hospital and trial memberships), the patient with the upload scope, the consent, the inserts
    with django_assert_num_queries(5 + inserts):
        assert _post(client, patient, files[:1], **ASYNC).status_code == 202
    with django_assert_num_queries(inserts):
        assert _post(client, patient, files[1:2], **ASYNC).status_code == 202
    # A request that is decided now authenticates and reads the roles every time.
    with CaptureQueriesContext(connection) as read:
        assert client.get("/api/v1/imaging/receipts/").status_code == 200
    assert sum("authtoken_token" in q["sql"] or "membership" in q["sql"] for q in read.captured_queries) == 3
    # Past the window the token and the checks are asked again.
    later = time.monotonic() + settings.INTAKE_RECEIVE_CHECK_SECONDS + 1
    monkeypatch.setattr(time, "monotonic", lambda: later)
    with django_assert_num_queries(5 + inserts):
        assert _post(client, patient, files[2:], **ASYNC).status_code == 202


def test_a_role_taken_away_within_the_window_is_decided_at_filing(actors: Actors, patient, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                   django_capture_on_commit_callbacks) -> None:
    """What remembering a token allows, and no more: a receipt for a few seconds after the role is gone, refused when
    filed; a request decided at once (without the preference) is refused at once."""
    files = pet_files(tmp_path, patient, n=3)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=actors.coordinator_a).key}")
    assert _post(client, patient, files[:1], **ASYNC).status_code == 202
    membership = actors.coordinator_a.memberships.get(hospital=actors.hospital_a)
    membership_update(actor=actors.data_manager, membership=membership, data={"role": HospitalRole.MONITOR}, reason="moved")
    assert _post(client, patient, files[1:2]).status_code == 403
    assert _post(client, patient, files[1:2], **ASYNC).status_code == 202
    with django_capture_on_commit_callbacks(execute=True):
        assert receipts_file() == 2
    assert list(IntakeReceipt.objects.order_by("pk").values_list("state", flat=True)) == ["refused", "refused"]
    assert not Instance.objects.exists()


def test_stow_rs_with_respond_async_answers_receipts(actors: Actors, patient, tmp_path: Path, eager,  # type: ignore[no-untyped-def]
                                                     django_capture_on_commit_callbacks) -> None:
    files = pet_files(tmp_path, patient, n=2)
    client = api_client(actors.coordinator_a)
    with django_capture_on_commit_callbacks(execute=True):
        # The patient named by each part's PatientID (the synthetic files carry the study ID), as a PACS sends them.
        response = stow(client, "", *(p.read_bytes() for p in files), **ASYNC)
    assert response.status_code == 202 and response["Preference-Applied"] == "respond-async"
    body = response.json()
    assert body["refused"] == [] and [r["source"] for r in body["receipts"]] == ["stow", "stow"]
    assert {r.state for r in IntakeReceipt.objects.all()} == {"filed"}
    assert Upload.objects.get().source == "stow" and Instance.objects.count() == 2
    # No patient at all: every part refused with the code, nothing received.
    refused = stow(client, "?patient=NO-SUCH-1", files[0].read_bytes(), **ASYNC)
    assert refused.status_code == 409 and refused.json()["refused"][0]["code"] == "not_found"
    assert IntakeReceipt.objects.count() == 2


def test_without_the_preference_the_upload_is_filed_in_the_request(actors: Actors, patient, tmp_path: Path, eager) -> None:  # type: ignore[no-untyped-def]
    response = _post(api_client(actors.coordinator_a), patient, pet_files(tmp_path, patient, n=1), HTTP_PREFER="return=minimal")
    assert response.status_code == 201 and response.json()["accepted"] == 1
    assert not IntakeReceipt.objects.exists()


def test_the_written_out_answer_is_the_serializers(actors: Actors, patient, tmp_path: Path, eager,  # type: ignore[no-untyped-def]
                                                   django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(api_client(actors.coordinator_a), patient, pet_files(tmp_path, patient, n=1), **ASYNC)
    receipt = IntakeReceipt.objects.get()  # filed (an upload, an outcome): every field has a value to compare
    assert [r["id"] for r in response.json()["receipts"]] == [receipt.pk] and receipt.upload_id is not None
    assert receipt_answer(receipt, patient=patient, user=actors.coordinator_a) == IntakeReceiptSerializer(receipt).data


def test_a_refused_request_spools_nothing(actors: Actors, patient, tmp_path: Path, eager) -> None:  # type: ignore[no-untyped-def]
    files = pet_files(tmp_path, patient, n=2)
    # Another hospital's coordinator: the patient is not theirs (404), nothing received.
    assert _post(api_client(actors.coordinator_b), patient, files, **ASYNC).status_code == 404
    # One file of two too large to defer: 400 with its code, and neither is received.
    with override_settings(INTAKE_SPOOL_MAX_BYTES=files[0].stat().st_size):
        files[1].write_bytes(files[1].read_bytes() + b"\0" * 2)
        refused = _post(api_client(actors.coordinator_a), patient, files, **ASYNC)
    assert refused.status_code == 400 and refused.json()["code"] == "too_large_to_defer"
    assert not IntakeReceipt.objects.exists()


def test_the_spool_holds_no_identifier_in_clear(actors: Actors, patient, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Received, not yet filed (no filing here): the spooled bytes are encrypted; the child's DICOM name and ID (the
    synthetic files carry the study ID in both) are nowhere in them."""
    files = pet_files(tmp_path, patient, n=1)
    raw = files[0].read_bytes()
    assert patient.study_id.encode() in raw  # the identifier is there to be hidden
    receipts_receive(actor=actors.coordinator_a, patient=patient, source=Upload.Source.API, files=_arrivals(files))
    blob = bytes(IntakeSpool.objects.values_list("data", flat=True).get())
    assert len(blob) > len(raw) and b"DICM" not in blob and patient.study_id.encode() not in blob
    assert IntakeReceipt.objects.get().state == "received"


def test_consent_withdrawn_before_filing_refuses_the_receipts(actors: Actors, patient, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                              django_capture_on_commit_callbacks) -> None:
    files = pet_files(tmp_path, patient, n=2)
    receipts_receive(actor=actors.coordinator_a, patient=patient, source=Upload.Source.API, files=_arrivals(files))
    consent = patient.consents.get()
    consent_withdraw(actor=actors.coordinator_a, consent=consent, withdrawn_on=timezone.localdate(), scope="withdraw_data_use",
                     reason="family asked")
    with django_capture_on_commit_callbacks(execute=True):
        assert receipts_file() == 2
    assert list(IntakeReceipt.objects.values_list("state", "error_code")) == [("refused", "consent_missing")] * 2
    assert not Instance.objects.exists()
    assert not IntakeSpool.objects.exists()  # a refused file does not stay either
    assert AuditEvent.objects.filter(action="intake_refuse").count() == 1


def test_a_claim_whose_filer_died_is_filed_by_the_next_sweep(actors: Actors, patient, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    files = pet_files(tmp_path, patient, n=1)
    receipts_receive(actor=actors.coordinator_a, patient=patient, source=Upload.Source.API, files=_arrivals(files))
    assert not receipts_waiting()  # just received: its own message is on its way
    # A filer claimed it and died: the claim is older than the lease, so the beat's sweep asks for a filing.
    IntakeReceipt.objects.update(state="filing", attempts=1, claimed_at=timezone.now() - timedelta(hours=1))
    assert receipts_waiting()
    assert receipts_file() == 1
    receipt = IntakeReceipt.objects.get()
    assert (receipt.state, receipt.attempts, receipt.outcome[0]["outcome"]) == ("filed", 2, "accepted")
    # A second sweep finds nothing to do.
    assert not receipts_waiting() and receipts_file() == 0


def test_a_receipt_whose_file_cannot_be_read_back_is_refused_not_dropped(actors: Actors, patient, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                         settings, capsys) -> None:
    """A receipt whose file is missing (a waiting receipt whose blob was lost before the spool moved into the database) or was
    encrypted under a key no longer configured: listed by imaging_orphans while it waits, refused when filed, never
    dropped; the others of its group are filed."""
    settings.MEDIA_ROOT = tmp_path / "media"  # a storage folder of its own: the command lists the whole store
    files = pet_files(tmp_path, patient, n=3)
    receipts = receipts_receive(actor=actors.coordinator_a, patient=patient, source=Upload.Source.API, files=_arrivals(files))
    IntakeSpool.objects.filter(pk=receipts[0].pk).delete()
    IntakeSpool.objects.filter(pk=receipts[1].pk).update(data=b"NBB1" + b"\0" * 40)
    with pytest.raises(CommandError):
        call_command("imaging_orphans", "--min-age-minutes", "0")
    listed = capsys.readouterr().out
    assert f"row without file: imaging.IntakeReceipt {receipts[0].pk}" in listed and "1 row(s) without file" in listed
    assert receipts_file() == 3
    states = dict(IntakeReceipt.objects.values_list("pk", "error_code"))
    assert states == {receipts[0].pk: "spool_unreadable", receipts[1].pk: "spool_unreadable", receipts[2].pk: ""}
    assert Instance.objects.count() == 1


def test_files_are_read_back_a_bounded_amount_at_a_time(actors: Actors, patient, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                        django_assert_num_queries) -> None:
    """A claimed batch's files are read in queries of at most INTAKE_SPOOL_MAX_BYTES together, never all at once."""
    files = pet_files(tmp_path, patient, n=5)
    receipts = receipts_receive(actor=actors.coordinator_a, patient=patient, source=Upload.Source.API, files=_arrivals(files))
    claimed = list(IntakeReceipt.objects.order_by("pk"))
    with override_settings(INTAKE_SPOOL_MAX_BYTES=2 * max(p.stat().st_size for p in files)), \
            django_assert_num_queries(3):  # 2 + 2 + 1
        read = [(r.pk, identity_crypto.decrypt_bytes(bytes(blob))) for r, blob in _spooled(claimed)]
    assert read == [(r.pk, p.read_bytes()) for r, p in zip(receipts, files, strict=True)]


def test_a_bad_file_is_rejected_on_its_receipt(actors: Actors, patient, tmp_path: Path, eager,  # type: ignore[no-untyped-def]
                                               django_capture_on_commit_callbacks) -> None:
    bad = tmp_path / "notes.dcm"
    bad.write_bytes(b"not a DICOM file")
    good = pet_files(tmp_path, patient, n=1)
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(api_client(actors.coordinator_a), patient, [bad, *good], **ASYNC)
    assert response.status_code == 202
    outcomes = {r.file: r.outcome[0]["outcome"] for r in IntakeReceipt.objects.all()}
    assert outcomes == {"notes.dcm": "rejected", good[0].name: "accepted"}


@pytest.mark.redis
@pytest.mark.worker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_instance_requests_are_filed_together_by_a_real_worker(worker: str, reference_rows, actors: Actors,  # type: ignore[no-untyped-def]
                                                                    tmp_path: Path) -> None:
    patient = child(actors.coordinator_a, actors.hospital_a)
    files = pet_files(tmp_path, patient, n=6)
    client = api_client(actors.coordinator_a)
    with override_settings(INTAKE_FILING_DELAY_SECONDS=2.0):
        answers = [_post(client, patient, [p], **ASYNC) for p in files]
    assert {a.status_code for a in answers} == {202}
    ids = [a.json()["receipts"][0]["id"] for a in answers]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and IntakeReceipt.objects.filter(pk__in=ids, state="filed").count() < len(ids):
        time.sleep(0.2)
    receipts = list(IntakeReceipt.objects.filter(pk__in=ids).order_by("pk"))
    assert {r.state for r in receipts} == {"filed"}
    # Six requests sent within the filing delay: fewer uploads than requests (one per claimed batch), every file filed.
    assert Upload.objects.count() < len(ids)
    assert Series.objects.get().number_of_instances == 6
    assert not IntakeSpool.objects.filter(pk__in=ids).exists()


def test_a_group_is_handed_to_the_ingest_in_memory_up_to_the_budget_then_on_disk(actors: Actors, patient, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                                   monkeypatch) -> None:
    files = pet_files(tmp_path, patient, n=5)
    receipts_receive(actor=actors.coordinator_a, patient=patient, source=Upload.Source.API, files=_arrivals(files))
    handed = ingest_spy(monkeypatch, receipts_module)
    with override_settings(INTAKE_SPOOL_MAX_BYTES=2 * max(p.stat().st_size for p in files)):
        assert receipts_file() == 5
    assert handed == [(True, False)] * 2 + [(False, True)] * 3
    assert [r["outcome"] for r in Upload.objects.get().items] == ["accepted"] * 5


def test_only_a_view_that_takes_deferred_requests_remembers_the_token(actors: Actors) -> None:
    """The preference alone changes nothing elsewhere: a POST with it to another endpoint authenticates every time."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=actors.coordinator_a).key}")
    for _ in range(2):
        with CaptureQueriesContext(connection) as asked:
            assert client.post("/api/v1/imaging/receipts/", {}, **ASYNC).status_code == 405
        assert any("authtoken_token" in q["sql"] for q in asked.captured_queries)


def test_receipts_are_settled_in_the_uploads_transaction(actors: Actors, patient, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The filing's files are read outside any transaction; the receipts are settled in the one that writes the
    upload's rows (ingest's `recorded`): a failure there leaves no upload, no instance, and the receipts claimed, to
    be taken again after the lease."""
    files = pet_files(tmp_path, patient, n=2)
    receipts_receive(actor=actors.coordinator_a, patient=patient, source=Upload.Source.API, files=_arrivals(files))

    def broken(receipts, upload):  # type: ignore[no-untyped-def]
        raise RuntimeError("settling failed")

    monkeypatch.setattr(receipts_module, "_settle", broken)
    assert receipts_file() == 2
    assert not Upload.objects.exists() and not Instance.objects.exists()
    assert set(IntakeReceipt.objects.values_list("state", flat=True)) == {"filing"}
    assert IntakeSpool.objects.count() == 2  # the files wait with their receipts
