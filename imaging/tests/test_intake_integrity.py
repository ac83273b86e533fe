"""Intake keyed by the whole hierarchy, per-file outcomes for malformed values and broken zips, storage that follows
its rows (issue 14, reproducers 1 and 4, and the upload 500s of 6).

Hospital A plays BJYY, hospital B plays SHET. Files are the project's real samples and synthetic series; the
malformed ones are written with the raw bytes a broken scanner would send.
"""
import struct
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connections, transaction
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataelem import RawDataElement
from pydicom.tag import Tag

from conftest import Actors, api_client
from imaging import storage
from imaging.dicom.deid import remap_uid
from imaging.models import ImagingStudy, Instance, InstanceConflict, IntakeConflict, Series, Upload
from imaging.services.ingest import IncomingFile, ingest
from imaging.tests.helpers import as_upload, child, pet_files, sample, zip_of
from registry.access import Action, HospitalRole, forget_scope
from registry.errors import ApplicationError
from registry.models import AuditEvent, HospitalMembership

URL = "/api/v1/imaging/uploads/"
NEW_STUDY_UID = "1.2.826.0.1.3680043.8.498.14001"
NEW_SERIES_UID = "1.2.826.0.1.3680043.8.498.14002"
NEW_SOP_UID = "1.2.826.0.1.3680043.8.498.14003"


@pytest.fixture
def patients(actors: Actors):  # type: ignore[no-untyped-def]
    """BJYY-00001's stand-in at hospital A, SHET-00001's at hospital B."""
    return child(actors.coordinator_a, actors.hospital_a), child(actors.coordinator_b, actors.hospital_b)


def post(user, patient, files):  # type: ignore[no-untyped-def]
    return api_client(user).post(URL, {"patient": patient.study_id, "files": files}, format="multipart")


def items_by_file(response) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    assert response.status_code == 201, response.content
    return {i["file"]: i for i in response.json()["items"]}


def rewritten(source: Path, target: Path, **values: str) -> Path:
    """`source` with some attributes set (the PatientID too: the other hospital's file names its own patient)."""
    ds = pydicom.dcmread(source)
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    ds.save_as(target, enforce_file_format=True)
    return target


def stored_keys() -> set[str]:
    return set(storage.walk(storage.CONTENT))


def staged_keys() -> set[str]:
    return set(storage.walk(storage.STAGING))


def row_keys() -> set[str]:
    return {k for model in (Instance, InstanceConflict, IntakeConflict) for k in model.objects.values_list("storage_key", flat=True)}


@pytest.fixture
def own_media(settings, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    """These tests count the files in storage: a storage folder of their own (the test media folder is shared by
    every test process running at the same time)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


# ------------------------------------------------------------------------------------- reproducer 1: misfiling
@pytest.mark.parametrize("collide", ["series", "study", "instance"])
def test_uids_of_another_hospitals_patient_are_a_conflict_kept_aside_never_merged(actors: Actors, patients, tmp_path: Path,
                                                                                   collide: str, own_media) -> None:
    bjyy, shet = patients
    original = pet_files(tmp_path, bjyy, n=3)
    assert items_by_file(post(actors.coordinator_a, bjyy, [as_upload(p) for p in original]))[original[0].name]["outcome"] == "accepted"
    before = sorted(Instance.objects.values_list("pk", "series_id", "sha256"))
    # SHET's file shares one UID level with BJYY's first file (the same SeriesInstanceUID under a new study, ...).
    keep = {"series": ("SeriesInstanceUID",), "study": ("StudyInstanceUID",), "instance": ("SOPInstanceUID",)}[collide]
    fresh = {"StudyInstanceUID": NEW_STUDY_UID, "SeriesInstanceUID": NEW_SERIES_UID, "SOPInstanceUID": NEW_SOP_UID}
    fresh = {k: v for k, v in fresh.items() if k not in keep}
    theirs = rewritten(original[0], tmp_path / "shet.dcm", PatientID=shet.study_id, **fresh)

    response = post(actors.coordinator_b, shet, [as_upload(theirs)])

    item = items_by_file(response)["shet.dcm"]
    code = {"series": "series_of_another_study", "study": "study_of_another_patient", "instance": "instance_of_another_series"}[collide]
    assert (item["outcome"], item["code"]) == ("conflict", code) and response.json()["conflicts"] == 1
    # BJYY's data unchanged: the same instances in the same series, every one of them BJYY's in the database and in the file.
    assert sorted(Instance.objects.values_list("pk", "series_id", "sha256")) == before
    assert not InstanceConflict.objects.exists()
    for instance in Instance.objects.all():
        assert instance.patient_id == bjyy.pk and instance.series.patient_id == bjyy.pk
        with default_storage.open(instance.storage_key, "rb") as fh:
            assert pydicom.dcmread(fh).PatientID == bjyy.study_id
    assert not ImagingStudy.objects.filter(patient=shet).exists() and not Series.objects.filter(patient=shet).exists()
    # Kept aside with its de-identified bytes, visible to SHET (its own upload too), invisible to BJYY.
    conflict = IntakeConflict.objects.get()
    assert conflict.code == code and default_storage.exists(conflict.storage_key)
    assert IntakeConflict.objects.restrict(actors.coordinator_b, Action.VIEW).filter(pk=conflict.pk).exists()
    assert not IntakeConflict.objects.restrict(actors.coordinator_a, Action.VIEW).exists()
    assert api_client(actors.coordinator_b).get(f"{URL}{response.json()['id']}/").status_code == 200
    assert api_client(actors.coordinator_a).get(f"{URL}{response.json()['id']}/").status_code == 404
    assert stored_keys() == row_keys() and not staged_keys()


def test_a_series_belongs_to_one_study_even_of_the_same_patient(actors: Actors, patients, tmp_path: Path) -> None:
    bjyy, _shet = patients
    original = pet_files(tmp_path, bjyy, n=2)
    post(actors.coordinator_a, bjyy, [as_upload(original[0])])
    # Two scanners reusing a series UID: the second study's file is not added to the first study's series.
    again = rewritten(original[1], tmp_path / "again.dcm", StudyInstanceUID=NEW_STUDY_UID)
    item = items_by_file(post(actors.coordinator_a, bjyy, [as_upload(again)]))["again.dcm"]
    assert (item["outcome"], item["code"]) == ("conflict", "series_of_another_study")
    assert Series.objects.get().number_of_instances == 1 and ImagingStudy.objects.count() == 1
    # Within one request as well: the first study to name the new series keeps it.
    first = rewritten(original[1], tmp_path / "first.dcm", SeriesInstanceUID=NEW_SERIES_UID)
    second = rewritten(original[0], tmp_path / "second.dcm", SeriesInstanceUID=NEW_SERIES_UID, StudyInstanceUID=NEW_STUDY_UID,
                       SOPInstanceUID=NEW_SOP_UID)
    items = items_by_file(post(actors.coordinator_a, bjyy, [as_upload(first), as_upload(second)]))
    assert items["first.dcm"]["outcome"] == "accepted" and items["second.dcm"]["code"] == "series_of_another_study"


def test_the_database_refuses_a_mixed_hierarchy(on_postgres, actors: Actors, patients, tmp_path: Path) -> None:
    """The composite foreign keys: whatever a service does, an instance cannot sit in another patient's series or study."""
    bjyy, shet = patients
    post(actors.coordinator_a, bjyy, [as_upload(p) for p in pet_files(tmp_path, bjyy, n=1)])
    series, instance = Series.objects.get(), Instance.objects.get()
    shet_upload = Upload.objects.create(patient=shet, uploaded_by=actors.coordinator_b, source=Upload.Source.API)
    mixes = [
        lambda: Series.objects.create(study=series.study, patient=shet, series_uid=NEW_SERIES_UID, modality="PT"),
        lambda: Instance.objects.create(series=series, patient=shet, sop_instance_uid=NEW_SOP_UID, sop_class_uid="1.2",
                                        storage_key="k", size=1, sha256="0", upload=shet_upload),
        lambda: Instance.objects.create(series=series, patient=bjyy, sop_instance_uid=NEW_SOP_UID, sop_class_uid="1.2",
                                        storage_key="k", size=1, sha256="0", upload=shet_upload),
        lambda: ImagingStudy.objects.filter(pk=series.study_id).update(patient=shet),
    ]
    for mix in mixes:
        with pytest.raises(IntegrityError), transaction.atomic():
            mix()
    assert Instance.objects.get() == instance and instance.patient_id == bjyy.pk


def test_import_command_names_each_conflict(actors: Actors, patients, tmp_path: Path, capsys) -> None:
    bjyy, shet = patients
    original = pet_files(tmp_path, bjyy, n=1)[0]
    post(actors.coordinator_a, bjyy, [as_upload(original)])
    folder = tmp_path / "shet"
    folder.mkdir()
    rewritten(original, folder / "shet.dcm", PatientID=shet.study_id, StudyInstanceUID=NEW_STUDY_UID, SOPInstanceUID=NEW_SOP_UID)
    call_command("import_dicom", str(folder), patient=shet.study_id, actor="coordinator_b")
    out = capsys.readouterr()
    assert "conflicts 1" in out.out and "conflict shet.dcm (series_of_another_study)" in out.err


@pytest.mark.django_db(transaction=True)
def test_a_racing_double_submit_is_filed_against_the_winner(on_postgres, reference_rows, actors: Actors, tmp_path: Path,
                                                             settings) -> None:
    """Another upload of the same files creates the study and series after this one looked and commits while this one
    waits on the unique index: this one's insert fails, and the ingest files its files once more against the winner's
    rows (once a 500 IntegrityError)."""
    bjyy = child(actors.coordinator_a, actors.hospital_a)
    files = pet_files(tmp_path, bjyy, n=3)
    original = pydicom.dcmread(files[0])
    key = settings.DICOM_UID_KEY.encode()
    inserted = threading.Event()

    def winner() -> None:
        try:
            with transaction.atomic():
                study = ImagingStudy.objects.create(patient=bjyy, study_uid=remap_uid(str(original.StudyInstanceUID), key))
                Series.objects.create(study=study, series_uid=remap_uid(str(original.SeriesInstanceUID), key), modality="PT")
                inserted.set()
                time.sleep(3)  # the other upload de-identifies its files, looks, and waits on the study's unique index
        finally:
            connections.close_all()

    thread = threading.Thread(target=winner)
    thread.start()
    assert inserted.wait(30)
    upload = ingest(actor=actors.coordinator_a, patient=bjyy, files=[IncomingFile(p.name, p) for p in files], source=Upload.Source.API)
    thread.join()
    assert upload.accepted == 3 and Upload.objects.count() == 1
    assert ImagingStudy.objects.count() == 1 and Series.objects.get().number_of_instances == 3


# ------------------------------------------------------------------------------------- reproducer 4: one bad value
def with_raw(source: Path, target: Path, keyword: str, value: bytes, *, in_radiopharmaceutical: bool = False) -> Path:
    """`source` with one element's bytes replaced as read from disk (pydicom would refuse to write most of them)."""
    ds = pydicom.dcmread(source)
    holder = ds.RadiopharmaceuticalInformationSequence[0] if in_radiopharmaceutical else ds
    tag = tag_for_keyword(keyword)
    value += b" " * (len(value) % 2)
    holder._dict[tag] = RawDataElement(Tag(tag), dictionary_VR(tag), len(value), value, 0, False, True)
    ds.save_as(target, enforce_file_format=True)
    return target


def damaged_zip(good: bytes, bad: bytes, damage: str) -> bytes:
    """A zip of a good and a bad entry whose second entry is damaged: a flipped byte in its data, compression
    method 9 (Deflate64, which Python cannot read) or an uncompressed size under-declared in both headers."""
    data = bytearray(zip_of({"good.dcm": good, "bad.dcm": bad}))

    def second(signature: bytes) -> int:
        return [i for i in range(len(data) - 3) if data[i:i + 4] == signature][1]

    if damage == "flipped_byte":
        data[second(b"PK\x03\x04") + 30 + len("bad.dcm") + 500] ^= 0xFF
    elif damage == "method_9":
        for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
            data[second(signature) + offset:second(signature) + offset + 2] = struct.pack("<H", 9)
    else:
        for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
            data[second(signature) + offset:second(signature) + offset + 4] = struct.pack("<I", 100)
    return bytes(data)


def test_each_malformed_value_and_broken_zip_costs_its_file_only(actors: Actors, patients, tmp_path: Path,
                                                                  own_media) -> None:
    bjyy, _shet = patients
    files = pet_files(tmp_path, bjyy, n=12)
    bad = tmp_path / "bad"
    bad.mkdir()
    malformed = {
        "instance_number.dcm": with_raw(files[2], bad / "a.dcm", "InstanceNumber", b"abc"),
        "pixel_spacing.dcm": with_raw(files[3], bad / "b.dcm", "PixelSpacing", b"x\\y"),
        "half_life.dcm": with_raw(files[4], bad / "c.dcm", "RadionuclideHalfLife", b"zzz", in_radiopharmaceutical=True),
        "series_number.dcm": with_raw(files[5], bad / "d.dcm", "SeriesNumber", b"99999999999999999999"),
    }
    zips = {f"{damage}.zip": damaged_zip(files[6 + n].read_bytes(), files[9 + n].read_bytes(), damage)
            for n, damage in enumerate(("flipped_byte", "method_9", "under_declared"))}
    uploads = [as_upload(files[0]), as_upload(files[1])]
    uploads += [as_upload(path, name) for name, path in malformed.items()]
    uploads += [SimpleUploadedFile(name, data) for name, data in zips.items()]

    items = items_by_file(post(actors.coordinator_a, bjyy, uploads))

    for name, attribute in (("instance_number.dcm", "InstanceNumber"), ("pixel_spacing.dcm", "PixelSpacing"),
                            ("half_life.dcm", "RadionuclideHalfLife"), ("series_number.dcm", "SeriesNumber")):
        assert (items[name]["outcome"], items[name]["code"]) == ("rejected", "invalid_value")
        assert attribute in items[name]["reason"]
    assert items["flipped_byte.zip/bad.dcm"]["code"] == "zip_entry_corrupt"
    assert items["method_9.zip/bad.dcm"]["code"] == "zip_unsupported_compression"
    assert items["under_declared.zip/bad.dcm"]["code"] == "zip_entry_corrupt"
    accepted = [n for n, i in items.items() if i["outcome"] == "accepted"]
    assert sorted(accepted) == sorted([files[0].name, files[1].name, "flipped_byte.zip/good.dcm", "method_9.zip/good.dcm",
                                       "under_declared.zip/good.dcm"])
    assert Instance.objects.count() == 5 and Series.objects.get().number_of_instances == 5
    # Nothing left over: every stored file is a row's, nothing staged remains.
    assert stored_keys() == row_keys() and len(stored_keys()) == 5 and not staged_keys()


def test_a_control_character_in_a_file_name_is_not_stored(actors: Actors, patients, tmp_path: Path) -> None:
    bjyy, _shet = patients
    file = pet_files(tmp_path, bjyy, n=1)[0]
    items = items_by_file(post(actors.coordinator_a, bjyy, [as_upload(file, "scan\x00\x07.dcm")]))
    assert list(items) == ["scan.dcm"] and items["scan.dcm"]["outcome"] == "accepted"


def test_the_zips_of_one_request_share_one_temporary_disk_budget(actors: Actors, patients, tmp_path: Path, settings) -> None:
    bjyy, _shet = patients
    files = pet_files(tmp_path, bjyy, n=4)
    first, second = (zip_of({p.name: p.read_bytes() for p in pair}, compression=zipfile.ZIP_STORED)
                     for pair in (files[:2], files[2:]))
    settings.INGEST_TEMP_MAX_BYTES = sum(p.stat().st_size for p in files[:3])  # room for the first archive, not the second
    items = items_by_file(post(actors.coordinator_a, bjyy, [SimpleUploadedFile("one.zip", first),
                                                            SimpleUploadedFile("two.zip", second)]))
    assert items["two.zip"]["code"] == "zip_too_large"
    assert [n for n, i in items.items() if i["outcome"] == "accepted"] == [f"one.zip/{files[0].name}", f"one.zip/{files[1].name}"]


# ------------------------------------------------------------------------------------- storage follows the rows
def test_a_rolled_back_upload_leaves_no_file(actors: Actors, patients, tmp_path: Path, own_media) -> None:
    bjyy, _shet = patients
    files = pet_files(tmp_path, bjyy, n=3)
    coordinator = actors.coordinator_a

    def while_reading() -> Iterator[IncomingFile]:
        # The uploader's role changes while the files are de-identified and stored: the re-check inside the writing
        # transaction refuses the rows, and the transaction rolls back.
        HospitalMembership.objects.filter(user=coordinator).update(role=HospitalRole.MONITOR)
        forget_scope(coordinator)
        yield from (IncomingFile(p.name, p) for p in files)

    with pytest.raises(ApplicationError) as refused:
        ingest(actor=coordinator, patient=bjyy, files=while_reading(), source=Upload.Source.API)

    assert refused.value.code == "out_of_scope"
    assert not Upload.objects.exists() and not Instance.objects.exists()
    assert not stored_keys() and not staged_keys()


def test_orphans_command_lists_and_removes_files_without_rows_and_lists_rows_without_files(
        actors: Actors, patients, tmp_path: Path, own_media, capsys) -> None:
    bjyy, _shet = patients
    post(actors.coordinator_a, bjyy, [as_upload(p) for p in pet_files(tmp_path, bjyy, n=3)])
    lost = Instance.objects.order_by("pk").first()
    default_storage.delete(lost.storage_key)
    stray = storage.key_for("ab" * 32)
    default_storage.save(stray, SimpleUploadedFile("x", b"left by a failed commit"))
    # A transaction enclosing the ingest rolls back after the ingest published its files.
    with pytest.raises(RuntimeError), transaction.atomic():
        post(actors.coordinator_a, bjyy, [as_upload(p) for p in pet_files(tmp_path, bjyy, seed=2, n=2)])
        raise RuntimeError("the enclosing work failed")
    left = stored_keys() - row_keys()
    assert stray in left and len(left) == 3

    with pytest.raises(CommandError):
        call_command("imaging_orphans", "--min-age-minutes", "0")
    listed = capsys.readouterr().out
    assert all(f"file without row: {key}" in listed for key in left)
    assert f"row without file: imaging.Instance {lost.pk}" in listed
    assert stored_keys() - row_keys() == left  # listing deletes nothing

    young = call_command_output(["--delete"], capsys)  # the default grace period spares files an upload may still claim
    assert "0 file(s) without row" in young and stored_keys() - row_keys() == left
    with pytest.raises(CommandError):  # the row without a file is still reported
        call_command("imaging_orphans", "--delete", "--min-age-minutes", "0")
    assert "3 file(s) without row (3 removed)" in capsys.readouterr().out
    assert stored_keys() - row_keys() == set() and Instance.objects.count() == 3
    event = AuditEvent.objects.get(action="delete_orphan_files")
    assert event.after["files"] == 3 and sorted(event.after["keys"]) == sorted(left)


def call_command_output(args: list[str], capsys) -> str:  # type: ignore[no-untyped-def]
    try:
        call_command("imaging_orphans", *args)
    except CommandError:
        pass  # the row without a file keeps the exit status at 1; the output is what is checked
    return capsys.readouterr().out


# ------------------------------------------------------------------------------------- the upload 500s of 6
def test_upload_api_answers_400_for_a_null_visit_and_a_nul_in_the_patient(actors: Actors, patients) -> None:
    bjyy, _shet = patients
    client = api_client(actors.coordinator_a)
    pet = sample("tcia-acrin-flt-breast-pet-1.dcm")
    for value in ("null", "None", "99999999999999999999"):
        response = client.post(URL, {"patient": bjyy.study_id, "trial_visit_id": value, "files": [as_upload(pet)]}, format="multipart")
        assert response.status_code == 400 and "trial_visit_id" in response.json()["fields"], value
    response = client.post(URL, {"patient": bjyy.study_id, "trial_visit_id": "", "files": [as_upload(pet)]}, format="multipart")
    assert response.status_code == 201 and response.json()["trial_visit_id"] is None
    response = client.post(URL, {"patient": f"{bjyy.study_id}\x00", "files": [as_upload(pet)]}, format="multipart")
    assert response.status_code == 400 and "patient" in response.json()["fields"]


def test_stow_with_a_nul_in_the_patient_is_refused_not_a_500(actors: Actors, patients) -> None:
    bjyy, _shet = patients
    body, content_type = multipart_related([sample("tcia-acrin-flt-breast-pet-1.dcm").read_bytes()])
    for url in (f"/dicomweb/studies?patient={bjyy.study_id}%00", "/dicomweb/studies"):
        headers = {} if "patient=" in url else {"HTTP_X_PATIENT_ID": f"{bjyy.study_id}\x00"}
        response = api_client(actors.coordinator_a).generic("POST", url, body, content_type=content_type, **headers)
        assert response.status_code == 409, (url, response.status_code)
    assert not Instance.objects.exists()


def multipart_related(parts: list[bytes]) -> tuple[bytes, str]:
    boundary = "nbnm-intake-test"
    body = b"".join(f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode() + part + b"\r\n" for part in parts)
    return body + f"--{boundary}--\r\n".encode(), f'multipart/related; type="application/dicom"; boundary={boundary}'
