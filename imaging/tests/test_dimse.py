"""The DICOM listener with real sockets: dcmtk's echoscu/storescu as the independent peer, a pynetdicom SCU for the
association dropped mid-way. The listener runs in a thread of the test process on a free port."""
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from pynetdicom import AE
from pynetdicom.sop_class import PositronEmissionTomographyImageStorage

from conftest import Actors, build_actors, require
from imaging import synthetic
from imaging.dimse import handlers, listener
from imaging.models import DicomNode, ImagingStudy, Instance, UnmatchedInstance, Upload
from imaging.services.network import dicom_node_register, unmatched_assign, unmatched_discard, unmatched_identity
from imaging.tests.helpers import child, like, pet_files
from registry.errors import ApplicationError
from registry.models import AuditEvent

pytestmark = [pytest.mark.dicom_tools, pytest.mark.django_db(transaction=True)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dcmtk() -> None:
    require(shutil.which("storescu") is not None, "needs dcmtk (make dicom-tools)")


@pytest.fixture
def world(reference_rows: None, tmp_path: Path) -> Iterator[dict[str, Any]]:
    actors = build_actors()
    node = dicom_node_register(actor=actors.data_manager, hospital=actors.hospital_a, ae_title="PETCT_A")
    port = _free_port()
    with override_settings(DICOM_SPOOL_DIR=tmp_path / "spool", DICOM_UNMATCHED_DIR=tmp_path / "unmatched", INGEST_WORKERS=0):
        server = listener.start(ae_title="NBNM", host="127.0.0.1", port=port, block=False)
        try:
            yield {"actors": actors, "node": node, "port": port, "tmp": tmp_path}
        finally:
            server.shutdown()


def _filed(n: int) -> Callable[[], bool]:
    """The listener has filed its n-th association since the test began (waiting on the database would lock SQLite)."""
    start = handlers.associations_filed
    return lambda: handlers.associations_filed >= start + n


def _wait(condition: Callable[[], bool], seconds: float = 60) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting for the listener to file the association")


def _run(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool, *args], capture_output=True, text=True, timeout=120)


def test_echo_from_a_registered_sender_and_refusal_of_an_unknown_ae_title(dcmtk: None, world: dict[str, Any]) -> None:
    port = str(world["port"])
    assert _run("echoscu", "-aet", "PETCT_A", "-aec", "NBNM", "127.0.0.1", port).returncode == 0
    refused = _run("echoscu", "-aet", "STRANGER", "-aec", "NBNM", "127.0.0.1", port)
    assert refused.returncode != 0
    assert "Calling AE Title Not Recognized" in refused.stdout + refused.stderr


def test_a_registered_address_must_match(dcmtk: None, world: dict[str, Any]) -> None:
    DicomNode.objects.filter(pk=world["node"].pk).update(address="10.9.9.9")
    assert _run("echoscu", "-aet", "PETCT_A", "-aec", "NBNM", "127.0.0.1", str(world["port"])).returncode != 0


def test_storescu_sends_300_slices_filed_through_the_ingest_with_the_association_as_source(dcmtk: None, world: dict[str, Any]) -> None:
    actors: Actors = world["actors"]
    patient = child(actors.coordinator_a, actors.hospital_a)
    files = pet_files(world["tmp"], patient, n=300)
    done = _filed(1)
    sent = _run("storescu", "-aet", "PETCT_A", "-aec", "NBNM", "127.0.0.1", str(world["port"]), *map(str, files))
    assert sent.returncode == 0, sent.stderr
    _wait(done)
    upload = Upload.objects.get(patient=patient, source=Upload.Source.DIMSE)
    assert (upload.accepted, upload.rejected, upload.uploaded_by) == (300, 0, world["node"].device_user)
    assert Instance.objects.filter(patient=patient).count() == 300
    event = AuditEvent.objects.get(action="ingest", object_id=str(upload.pk))
    assert event.source == "dimse" and event.after["source"] == "dimse" and len(event.request_id) == 32
    assert not list((world["tmp"] / "spool").rglob("*.dcm"))  # the spool is emptied once filed
    # The same association again: every instance is a duplicate, nothing new is filed.
    done = _filed(1)
    assert _run("storescu", "-aet", "PETCT_A", "-aec", "NBNM", "127.0.0.1", str(world["port"]), *map(str, files[:10])).returncode == 0
    _wait(done)
    assert Upload.objects.filter(patient=patient).first().duplicates == 10


def test_unknown_patient_goes_to_the_unmatched_queue_and_is_resolved(dcmtk: None, world: dict[str, Any]) -> None:
    actors: Actors = world["actors"]
    patient = child(actors.coordinator_a, actors.hospital_a)
    other = child(actors.coordinator_b, actors.hospital_b)
    datasets = synthetic.pet_series(tracer="F18_FDG", patient=like(patient, study_id="MRN-778899"), seed=3, n_slices=4, rows=32, cols=32)
    files = synthetic.write_series(datasets, world["tmp"] / "unknown")
    # Hospital B's child's study ID sent by hospital A's scanner: not hospital A's patient, so unmatched too.
    files += synthetic.write_series(synthetic.pet_series(tracer="F18_FDG", patient=like(other), seed=4, n_slices=1, rows=32, cols=32),
                                    world["tmp"] / "other-hospital")
    done = _filed(1)
    assert _run("storescu", "-aet", "PETCT_A", "-aec", "NBNM", "127.0.0.1", str(world["port"]), *map(str, files)).returncode == 0
    _wait(done)
    assert not ImagingStudy.objects.exists()  # nothing filed under a guess, nothing under another hospital's child
    assert UnmatchedInstance.objects.filter(hospital=actors.hospital_a).count() == 5
    items = list(UnmatchedInstance.objects.filter(study_uid=datasets[0].StudyInstanceUID))
    assert {i.cause for i in items} == {"unknown_patient"} and "MRN-778899" not in items[0].identity
    assert unmatched_identity(items[0])["patient_id"] == "MRN-778899"
    ids = [i.pk for i in items]
    assert UnmatchedInstance.objects.restrict(actors.coordinator_b).count() == 0
    with pytest.raises(ApplicationError) as refused:
        unmatched_assign(actor=actors.coordinator_b, ids=ids, patient=other)
    assert refused.value.code == "not_found"
    with pytest.raises(ApplicationError) as refused:
        unmatched_assign(actor=actors.coordinator_a, ids=ids[:2], patient=other)
    assert refused.value.code == "other_hospital"  # received by hospital A: never filed under another hospital's child
    upload = unmatched_assign(actor=actors.coordinator_a, ids=ids[:3], patient=patient)
    assert upload.accepted == 3 and upload.uploaded_by == actors.coordinator_a
    assert unmatched_discard(actor=actors.coordinator_a, ids=ids[3:], reason="Test shot of the phantom") == 1
    states = dict(UnmatchedInstance.objects.values_list("pk", "state"))
    assert [states[i] for i in ids] == ["assigned"] * 3 + ["discarded"]
    assert len(list((world["tmp"] / "unmatched").glob("*.dcm"))) == 1  # only the still-waiting one: resolved files are removed


def test_non_conformant_file_is_refused_with_a_reason_and_the_rest_kept(dcmtk: None, world: dict[str, Any]) -> None:
    actors: Actors = world["actors"]
    patient = child(actors.coordinator_a, actors.hospital_a)
    files = pet_files(world["tmp"], patient, n=3)
    import pydicom

    bad = pydicom.dcmread(files[0])
    bad.SOPInstanceUID = bad.SOPInstanceUID + ".9"  # longer than the 64 characters a UID may have
    bad.save_as(world["tmp"] / "bad.dcm")
    done = _filed(1)
    assert _run("storescu", "-aet", "PETCT_A", "-aec", "NBNM", "127.0.0.1", str(world["port"]),
                *map(str, files), str(world["tmp"] / "bad.dcm")).returncode == 0
    _wait(done)
    upload = Upload.objects.get(patient=patient)
    assert (upload.accepted, upload.rejected) == (3, 1), [(i["outcome"], i["code"]) for i in upload.items]
    assert next(i for i in upload.items if i["outcome"] == "rejected")["reason"]


def test_connection_dropped_mid_association_keeps_what_arrived(world: dict[str, Any]) -> None:
    actors: Actors = world["actors"]
    patient = child(actors.coordinator_a, actors.hospital_a)
    datasets = synthetic.pet_series(tracer="F18_FDG", patient=like(patient), seed=5, n_slices=8, rows=32, cols=32)
    ae = AE(ae_title="PETCT_A")
    ae.add_requested_context(PositronEmissionTomographyImageStorage)
    done = _filed(1)
    assoc = ae.associate("127.0.0.1", world["port"], ae_title="NBNM")
    assert assoc.is_established
    for ds in datasets[:5]:
        assert assoc.send_c_store(ds).Status == 0
    assoc.dul.socket.socket.close()  # the cable is pulled: no release, no abort
    _wait(done)
    assert Upload.objects.get(patient=patient).accepted == 5
    assert Instance.objects.filter(patient=patient).count() == 5
    assert not list((world["tmp"] / "spool").rglob("*.part"))


def _findscu(port: int, tmp: Path, *keys: str) -> list[Any]:
    """findscu's worklist query (-W); the answers written as files (-X) and read back."""
    import pydicom

    out = tmp / f"find-{time.monotonic_ns()}"
    out.mkdir()
    done = _run("findscu", "-W", "-aet", "PETCT_A", "-aec", "NBNM", "-X", "-od", str(out), "127.0.0.1", str(port),
                "-k", "PatientID", "-k", "PatientName", "-k", "PatientSex", "-k", "PatientBirthDate", "-k", "PatientWeight",
                "-k", "AccessionNumber", "-k", "ScheduledProcedureStepSequence[0].Modality",
                "-k", "ScheduledProcedureStepSequence[0].ScheduledStationAETitle",
                "-k", "ScheduledProcedureStepSequence[0].ScheduledProcedureStepDescription",
                "-k", "ScheduledProcedureStepSequence[0].CommentsOnTheScheduledProcedureStep", *keys)
    assert done.returncode == 0, done.stderr
    return [pydicom.dcmread(p) for p in sorted(out.iterdir())]


def test_worklist_gives_the_childs_recommended_activity_and_images_close_the_exam(dcmtk: None, world: dict[str, Any]) -> None:
    from datetime import datetime

    from django.utils import timezone

    from imaging.models import ScheduledExam
    from imaging.services.network import scheduled_exam_schedule
    from nucmed.dosage import recommended_activity

    actors: Actors = world["actors"]
    patient = child(actors.coordinator_a, actors.hospital_a)
    other = child(actors.coordinator_b, actors.hospital_b)
    when = timezone.make_aware(datetime(2026, 12, 7, 9, 30))
    exam = scheduled_exam_schedule(actor=actors.coordinator_a, patient=patient, scheduled_for=when, tracer="I123_MIBG",
                                   modality="NM", station_ae_title="PETCT_A", weight_kg=18.0)
    scheduled_exam_schedule(actor=actors.coordinator_b, patient=other, scheduled_for=when, tracer="I123_MIBG", modality="NM",
                            weight_kg=20.0)
    expected = recommended_activity(agent_code="I123_MIBG", weight_kg=18.0, table=actors.hospital_a.dosage_table).activity_mbq
    assert expected and exam.recommended_mbq == round(expected, 1)
    items = _findscu(world["port"], world["tmp"], "-k", "ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartDate=20261207")
    assert [i.PatientID for i in items] == [patient.study_id]  # hospital B's exam is not on hospital A's worklist
    item = items[0]
    assert (item.PatientName, item.PatientSex, item.PatientBirthDate, item.AccessionNumber) == (
        patient.study_id, "F", "20190315", exam.accession_number)
    assert float(item.PatientWeight) == 18.0
    step = item.ScheduledProcedureStepSequence[0]
    assert step.Modality == "NM" and f"{exam.recommended_mbq:.1f} MBq" in step.ScheduledProcedureStepDescription
    assert not _findscu(world["port"], world["tmp"], "-k", "ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartDate=20261208")
    # The images come back with the accession number (and the scanner's own PatientID): matched to the exam, which is done.
    datasets = synthetic.pet_series(tracer="F18_FDG", patient=like(patient, study_id="SCANNER-42"), seed=9, n_slices=3, rows=32,
                                    cols=32)
    for ds in datasets:
        ds.AccessionNumber = exam.accession_number
    files = synthetic.write_series(datasets, world["tmp"] / "returned")
    done = _filed(1)
    assert _run("storescu", "-aet", "PETCT_A", "-aec", "NBNM", "127.0.0.1", str(world["port"]), *map(str, files)).returncode == 0
    _wait(done)
    exam.refresh_from_db()
    assert exam.state == ScheduledExam.State.DONE and exam.study is not None and exam.study.patient == patient
    assert not UnmatchedInstance.objects.exists()
    assert not _findscu(world["port"], world["tmp"])  # a done exam leaves the worklist


def test_an_ended_association_leaves_no_database_session_open(on_postgres: None, dcmtk: None, world: dict[str, Any]) -> None:
    """Each association runs in a thread that ends with it: its connections are closed there, not left to the garbage
    collector (a connection's wrapper sits in reference cycles), which kept a session per ended association open."""
    def others() -> set[int]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
            return {pid for (pid,) in cursor.fetchall()}

    before = others()  # another test's live server may hold one: only sessions the associations open count
    port = str(world["port"])
    done = _filed(1)  # an accepted association is settled (its empty spool included) when it ends
    assert _run("echoscu", "-aet", "PETCT_A", "-aec", "NBNM", "127.0.0.1", port).returncode == 0
    assert _run("echoscu", "-aet", "STRANGER", "-aec", "NBNM", "127.0.0.1", port).returncode != 0  # refused
    _wait(done)
    end = time.monotonic() + 5
    while others() - before and time.monotonic() < end:
        time.sleep(0.1)
    assert not others() - before, "a session of an ended association is still open"
