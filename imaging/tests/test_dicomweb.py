"""DICOMweb with a real client (dicomweb-client) against the live test server: STOW, QIDO, WADO round trip."""
from pathlib import Path

import pydicom
import pytest
from dicomweb_client.api import DICOMwebClient
from requests import HTTPError, Session
from rest_framework.authtoken.models import Token

from conftest import Actors, api_client
from imaging.models import Instance, Upload
from imaging.tests.helpers import child, pet_files, sample


@pytest.fixture
def patient(reference_rows, actors: Actors):  # type: ignore[no-untyped-def]
    return child(actors.coordinator_a, actors.hospital_a)


def client_for(live_server, user) -> DICOMwebClient:  # type: ignore[no-untyped-def]
    session = Session()
    session.headers["Authorization"] = f"Token {Token.objects.get_or_create(user=user)[0].key}"
    return DICOMwebClient(url=f"{live_server.url}/dicomweb", session=session)


@pytest.mark.django_db(transaction=True)
def test_stow_qido_wado_round_trip(live_server, actors: Actors, patient, tmp_path: Path) -> None:
    files = pet_files(tmp_path, patient, n=3)
    datasets = [pydicom.dcmread(p) for p in files]
    mr = pydicom.dcmread(sample("tcia-prostate-mri.dcm"))
    mr.PatientID = patient.study_id
    client = client_for(live_server, actors.coordinator_a)
    response = client.store_instances(datasets + [mr])
    stored = response.get("ReferencedSOPSequence", [])
    failed = response.get("FailedSOPSequence", [])
    assert len(stored) == 3 and len(failed) == 1
    assert failed[0].ReferencedSOPInstanceUID == mr.SOPInstanceUID and failed[0].FailureReason == 0x0122
    assert Upload.objects.get().source == "stow"

    studies = client.search_for_studies(search_filters={"PatientID": patient.study_id})
    assert len(studies) == 1
    study_uid = studies[0]["0020000D"]["Value"][0]
    assert study_uid not in {ds.StudyInstanceUID for ds in datasets}  # de-identified UID
    series = client.search_for_series(study_uid)
    series_uid = series[0]["0020000E"]["Value"][0]
    instances = client.search_for_instances(study_uid, series_uid)
    assert len(instances) == 3
    sop_uid = instances[0]["00080018"]["Value"][0]
    retrieved = client.retrieve_instance(study_uid, series_uid, sop_uid)
    stored_row = Instance.objects.get(sop_instance_uid=sop_uid)
    assert retrieved.SOPInstanceUID == sop_uid and retrieved.PatientID == patient.study_id
    assert len(retrieved.PixelData) == len(datasets[0].PixelData) and stored_row.size > 0
    whole = client.retrieve_series(study_uid, series_uid)
    assert sorted(ds.SOPInstanceUID for ds in whole) == sorted(i["00080018"]["Value"][0] for i in instances)
    metadata = client.retrieve_series_metadata(study_uid, series_uid)
    assert len(metadata) == 3 and "7FE00010" not in metadata[0]


@pytest.mark.django_db(transaction=True)
def test_other_hospital_sees_nothing_and_cannot_store(live_server, actors: Actors, patient, tmp_path: Path) -> None:
    files = pet_files(tmp_path, patient, n=1)
    client_for(live_server, actors.coordinator_a).store_instances([pydicom.dcmread(files[0])])
    outsider = client_for(live_server, actors.coordinator_b)
    assert outsider.search_for_studies() == []
    with pytest.raises(HTTPError, match="409"):  # every instance failed
        outsider.store_instances([pydicom.dcmread(files[0])])
    uid = Instance.objects.get()
    anonymous = api_client(None).get(f"/dicomweb/studies/{uid.series.study.study_uid}")
    assert anonymous.status_code == 401
    hidden = api_client(actors.coordinator_b).get(
        f"/dicomweb/studies/{uid.series.study.study_uid}/series/{uid.series.series_uid}/instances/{uid.sop_instance_uid}")
    assert hidden.status_code == 404


def test_stow_without_patient_reference_fails_each_part(actors: Actors, patient, tmp_path: Path) -> None:
    files = pet_files(tmp_path, patient, n=1)
    ds = pydicom.dcmread(files[0])
    ds.PatientID = "NOT-A-STUDY-ID"
    ds.save_as(tmp_path / "other.dcm", enforce_file_format=True)
    body = b"--XYZ\r\nContent-Type: application/dicom\r\n\r\n" + (tmp_path / "other.dcm").read_bytes() + b"\r\n--XYZ--\r\n"
    response = api_client(actors.coordinator_a).generic(
        "POST", "/dicomweb/studies", body, content_type='multipart/related; type="application/dicom"; boundary=XYZ')
    assert response.status_code == 409
    assert response.json()["00081198"]["Value"][0]["00081197"]["Value"] == [0x0110]
    assert "No such patient" in response["Warning"]


def test_stow_needs_multipart_related(actors: Actors) -> None:
    response = api_client(actors.coordinator_a).generic("POST", "/dicomweb/studies", b"x", content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "unsupported_media_type"
