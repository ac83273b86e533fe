"""Ingest through the upload API: real and synthetic files, bad input, de-identification, dedup, the guard."""
from pathlib import Path

import pydicom
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from conftest import Actors, api_client
from imaging import synthetic
from imaging.models import ImagingStudy, Instance, InstanceConflict, Series, Upload
from imaging.tests.helpers import as_upload, child, like, pet_files, sample, zip_of
from registry.models import AuditEvent
from registry.tests.builders import make_patient

URL = "/api/v1/imaging/uploads/"


@pytest.fixture
def patient(actors: Actors):  # type: ignore[no-untyped-def]
    return child(actors.coordinator_a, actors.hospital_a)


def upload(actors: Actors, patient, files, user=None):  # type: ignore[no-untyped-def]
    client = api_client(user or actors.coordinator_a)
    return client.post(URL, {"patient": patient.study_id, "files": files}, format="multipart")


def outcomes(response) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(i["outcome"], i["code"]) for i in response.json()["items"]]


def test_synthetic_pet_is_stored_de_identified_and_indexed(eager, actors: Actors, patient, tmp_path: Path,
                                                            django_capture_on_commit_callbacks) -> None:
    files = pet_files(tmp_path, patient, n=5)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(actors, patient, [as_upload(p) for p in files])
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["accepted"] == 5 and body["rejected"] == 0 and body["files_received"] == 5
    study = ImagingStudy.objects.get(patient=patient)
    assert study.status == ImagingStudy.Status.READY and study.tracer == "F18_FDG" and study.modality_group == "pet_ct"
    series = Series.objects.get(study=study)
    assert series.number_of_instances == 5 and series.pipeline_state == Series.PipelineState.DONE
    assert series.geometry["rows"] == 32 and len(series.geometry["z_range"]) == 2
    originals = {pydicom.dcmread(p).SOPInstanceUID for p in files}
    for inst in Instance.objects.filter(series=series):
        assert inst.sop_instance_uid not in originals and inst.sop_instance_uid.startswith("2.25.")
        with default_storage.open(inst.storage_key, "rb") as fh:
            stored = pydicom.dcmread(fh)
        assert stored.PatientID == patient.study_id and stored.PatientIdentityRemoved == "YES"
        assert stored.RadiopharmaceuticalInformationSequence[0].RadionuclideTotalDose
    event = AuditEvent.objects.get(action="ingest")
    assert event.after["accepted"] == 5 and event.hospital_id == actors.hospital_a.pk


def test_real_samples_pet_accepted_mr_refused_deflated_read(actors: Actors, patient) -> None:
    names = ["tcia-acrin-flt-breast-pet-1.dcm", "tcia-acrin-flt-breast-pet-2.dcm", "tcia-prostate-mri.dcm",
             "cornerstone-deflated-sc.dcm", "cornerstone-ct-multiframe.dcm"]
    response = upload(actors, patient, [as_upload(sample(n)) for n in names])
    assert response.status_code == 201
    by_file = {i["file"]: i for i in response.json()["items"]}
    assert by_file[names[0]]["outcome"] == "accepted" and by_file[names[1]]["outcome"] == "accepted"
    assert by_file[names[2]]["outcome"] == "rejected" and "MR" in by_file[names[2]]["reason"]
    assert by_file[names[3]]["outcome"] == "quarantined"  # a secondary capture may carry burned-in text
    assert by_file[names[4]]["outcome"] == "accepted"
    assert Instance.objects.filter(quarantine_reason="").count() == 3


def test_bad_input_corpus_each_rejected_with_reason_and_good_files_kept(actors: Actors, patient, tmp_path: Path,
                                                                        settings) -> None:
    good = pet_files(tmp_path, patient, n=2)
    pet = sample("tcia-acrin-flt-breast-pet-1.dcm").read_bytes()
    bomb = zip_of({"zeros.dcm": b"\0" * 5_000_000})
    traversal = zip_of({"../../etc/evil.dcm": pet})
    settings.DICOM_MAX_FILE_BYTES = len(pet) + 10
    big = tmp_path / "big.dcm"
    big.write_bytes(pet + b"\0" * 100)
    files = [
        as_upload(good[0]), as_upload(good[1]),
        _named("truncated.dcm", pet[: len(pet) // 2]),
        _named("random.dcm", bytes(range(256)) * 40),
        _named("bomb.zip", bomb), _named("traversal.zip", traversal), as_upload(big),
    ]
    response = upload(actors, patient, files)
    assert response.status_code == 201
    items = {i["file"]: i for i in response.json()["items"]}
    assert items["truncated.dcm"]["code"] in ("truncated", "corrupt")
    assert items["random.dcm"]["code"] == "not_dicom"
    assert items["bomb.zip"]["code"] == "zip_bomb"
    assert items["traversal.zip"]["code"] == "zip_unsafe_path"
    assert items["big.dcm"]["code"] == "too_large"
    assert all(items[n]["reason"] for n in ("truncated.dcm", "random.dcm", "bomb.zip", "traversal.zip", "big.dcm"))
    assert response.json()["accepted"] == 2 and Instance.objects.count() == 2


def _named(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


def test_zip_of_a_series_is_expanded(actors: Actors, patient, tmp_path: Path) -> None:
    files = pet_files(tmp_path, patient, n=4)
    archive = zip_of({f"series/{p.name}": p.read_bytes() for p in files})
    response = upload(actors, patient, [_named("study.zip", archive)])
    assert response.json()["accepted"] == 4


def test_reupload_is_a_duplicate_and_changed_bytes_a_conflict(actors: Actors, patient, tmp_path: Path) -> None:
    files = pet_files(tmp_path, patient, n=3)
    upload(actors, patient, [as_upload(p) for p in files])
    again = upload(actors, patient, [as_upload(p) for p in files])
    assert again.json()["duplicates"] == 3 and Instance.objects.count() == 3
    changed = pydicom.dcmread(files[0])
    pixels = bytearray(changed.PixelData)
    pixels[0] ^= 0xFF  # the same instance UID, different image content
    changed.PixelData = bytes(pixels)
    changed.save_as(tmp_path / "changed.dcm", enforce_file_format=True)
    conflict = upload(actors, patient, [as_upload(tmp_path / "changed.dcm")])
    assert outcomes(conflict) == [("conflict", "uid_conflict")]
    assert InstanceConflict.objects.count() == 1 and Instance.objects.count() == 3


def test_same_original_uid_maps_to_the_same_new_uid_across_uploads(actors: Actors, patient, tmp_path: Path) -> None:
    files = pet_files(tmp_path, patient, n=2)
    upload(actors, patient, [as_upload(files[0])])
    upload(actors, patient, [as_upload(files[1])])
    assert ImagingStudy.objects.count() == 1 and Series.objects.count() == 1 and Instance.objects.count() == 2


def test_wrong_patient_guard_holds_the_study_without_identifiers(eager, actors: Actors, patient, tmp_path: Path,
                                                                 django_capture_on_commit_callbacks) -> None:
    datasets = synthetic.pet_series(tracer="F18_FDG", patient=like(patient), seed=5, n_slices=2, rows=32, cols=32,
                                    defects=synthetic.Defects(wrong_sex=True))
    files = synthetic.write_series(datasets, tmp_path)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(actors, patient, [as_upload(p) for p in files])
    study = ImagingStudy.objects.get()
    assert study.status == ImagingStudy.Status.ON_HOLD and any("PatientSex" in r for r in study.hold_reasons)
    assert Series.objects.get().pipeline_state == Series.PipelineState.HELD
    assert response.json()["accepted"] == 2
    listing = api_client(actors.coordinator_a).get("/dicomweb/studies")
    assert listing.json() == []  # not published while on hold
    released = api_client(actors.investigator_a).post(f"/api/v1/imaging/studies/{study.pk}/release/",
                                                     {"reason": "checked against the ward list"}, format="json")
    assert released.status_code == 200 and released.json()["status"] == "ready"


def test_upload_for_another_hospitals_patient_is_404_and_without_consent_refused(actors: Actors, patient,
                                                                                 tmp_path: Path) -> None:
    files = pet_files(tmp_path, patient, n=1)
    assert upload(actors, patient, [as_upload(files[0])], user=actors.coordinator_b).status_code == 404
    assert upload(actors, patient, [as_upload(files[0])], user=actors.monitor_a).status_code == 403
    unconsented = make_patient(actors.coordinator_a, actors.hospital_a)
    refused = upload(actors, unconsented, [as_upload(files[0])])
    assert refused.status_code == 400 and refused.json()["code"] == "consent_missing"
    assert "image upload" in refused.json()["detail"] and Upload.objects.count() == 0 and Instance.objects.count() == 0


def test_import_command(actors: Actors, patient, tmp_path: Path, capsys) -> None:
    pet_files(tmp_path, patient, n=3)
    call_command("import_dicom", str(tmp_path), patient=patient.study_id, actor="coordinator_a")
    assert "accepted 3" in capsys.readouterr().out
    assert Upload.objects.get().source == "command"


def test_upload_list_is_scoped(actors: Actors, patient, tmp_path: Path) -> None:
    upload(actors, patient, [as_upload(p) for p in pet_files(tmp_path, patient, n=1)])
    assert api_client(actors.coordinator_a).get(URL).json()["count"] == 1
    assert api_client(actors.coordinator_b).get(URL).json()["count"] == 0

