"""The ENHANCE source: a series the platform derives itself from already de-identified instances is filed without a
second de-identification (its UIDs kept, so it lands in its source's study), still validated, deduplicated, audited,
indexed and analysed; only the system path can use that source, never a client of the upload API or STOW-RS."""
from pathlib import Path

import pydicom
import pytest
from django.core.files.storage import default_storage
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import generate_uid

from conftest import Actors, api_client
from imaging.models import ImagingStudy, Instance, Series, Upload
from imaging.services.ingest import IncomingFile, ingest
from imaging.tests.helpers import as_upload, child, pet_files, stow
from registry.models import AuditEvent

DESCRIPTION = "Enhanced by mean3 1.0 (ONNX, sha256 0123456789ab)"


@pytest.fixture
def patient(actors: Actors):  # type: ignore[no-untyped-def]
    return child(actors.coordinator_a, actors.hospital_a)


@pytest.fixture
def source(actors: Actors, patient, tmp_path: Path, eager, django_capture_on_commit_callbacks) -> Series:  # type: ignore[no-untyped-def]
    """A PET series uploaded (and so de-identified) the ordinary way."""
    files = pet_files(tmp_path, patient, n=3)
    with django_capture_on_commit_callbacks(execute=True):
        ingest(actor=actors.coordinator_a, patient=patient, source=Upload.Source.API,
               files=[IncomingFile(p.name, p) for p in files])
    return Series.objects.get(patient=patient)


def _derived_files(source: Series, folder: Path) -> list[Path]:
    """What imaging.enhancement.derived writes: each stored instance, copied with new series and instance UIDs under the
    platform's root, DERIVED, naming its model and its source instance."""
    folder.mkdir()
    series_uid = generate_uid(prefix=None)
    paths = []
    for n, instance in enumerate(source.instances.order_by("instance_number")):
        with default_storage.open(instance.storage_key, "rb") as fh:
            ds = pydicom.dcmread(fh)
        ref = Dataset()
        ref.ReferencedSOPClassUID, ref.ReferencedSOPInstanceUID = ds.SOPClassUID, ds.SOPInstanceUID
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid(prefix=None)
        ds.SeriesInstanceUID = series_uid
        ds.SeriesNumber = int(ds.SeriesNumber) + 900
        ds.ImageType = ["DERIVED", "SECONDARY"]
        ds.DerivationDescription = DESCRIPTION
        ds.SourceImageSequence = Sequence([ref])
        path = folder / f"{n:05d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def _enhance(actors: Actors, patient, paths: list[Path]) -> Upload:  # type: ignore[no-untyped-def]
    return ingest(actor=actors.coordinator_a, patient=patient, source=Upload.Source.ENHANCE,
                  files=[IncomingFile(p.name, p) for p in paths])


def test_an_enhance_source_file_keeps_its_uids_and_lands_in_the_source_study(
        actors: Actors, patient, source: Series, tmp_path: Path, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    paths = _derived_files(source, tmp_path / "derived")
    given = [pydicom.dcmread(p) for p in paths]
    with django_capture_on_commit_callbacks(execute=True):
        upload = _enhance(actors, patient, paths)
    assert (upload.accepted, upload.rejected, upload.source) == (3, 0, "enhance"), upload.items

    derived = Series.objects.get(series_uid=given[0].SeriesInstanceUID)
    assert derived.pk != source.pk and derived.study_id == source.study_id  # the source's study, not one of its own
    assert ImagingStudy.objects.filter(patient=patient).count() == 1
    assert derived.frame_of_reference_uid == source.frame_of_reference_uid != ""
    assert {i.sop_instance_uid for i in derived.instances.all()} == {str(ds.SOPInstanceUID) for ds in given}
    source_uids = set(source.instances.values_list("sop_instance_uid", flat=True))
    for instance in derived.instances.all():
        with default_storage.open(instance.storage_key, "rb") as fh:
            stored = pydicom.dcmread(fh)
        assert stored.StudyInstanceUID == source.study.study_uid and stored.SeriesInstanceUID == derived.series_uid
        assert stored.FrameOfReferenceUID == source.frame_of_reference_uid
        assert list(stored.ImageType)[:2] == ["DERIVED", "SECONDARY"] and stored.DerivationDescription == DESCRIPTION
        assert stored.SourceImageSequence[0].ReferencedSOPInstanceUID in source_uids
        assert stored.PatientID == patient.study_id and stored.PatientIdentityRemoved == "YES"
    # Indexed and analysed like any series; audited as an upload of its own source.
    assert derived.number_of_instances == 3 and derived.geometry["rows"] == 32
    assert derived.pipeline_state == Series.PipelineState.DONE, derived.pipeline_steps
    event = AuditEvent.objects.filter(action="ingest").latest("id")
    assert event.after["source"] == "enhance" and event.after["accepted"] == 3

    again = _enhance(actors, patient, paths)  # deduplicated as any upload
    assert (again.accepted, again.duplicates) == (0, 3)
    assert derived.instances.count() == 3


def test_an_enhance_source_file_without_the_platforms_de_identification_is_refused(
        actors: Actors, patient, source: Series, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    raw = pet_files(tmp_path, patient, seed=2, n=1)  # a scanner's file: its own UIDs, never de-identified here
    derived = _derived_files(source, tmp_path / "derived")[:1]
    ds = pydicom.dcmread(derived[0])
    ds.PatientName = "Doe^Jane"
    other_patient = tmp_path / "named.dcm"
    ds.save_as(other_patient, enforce_file_format=True)
    upload = _enhance(actors, patient, [*raw, other_patient])
    assert [(i["outcome"], i["code"]) for i in upload.items] == [("rejected", "not_deidentified")] * 2
    assert not Instance.objects.filter(upload=upload).exists()


def test_clients_cannot_use_the_enhance_source(actors: Actors, patient, source: Series, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A platform-derived file sent by a client, even asking for the ENHANCE source, is an ordinary upload: de-identified
    again, its UIDs remapped."""
    paths = _derived_files(source, tmp_path / "derived")
    given = {str(pydicom.dcmread(p).SOPInstanceUID) for p in paths}
    client = api_client(actors.coordinator_a)

    response = client.post("/api/v1/imaging/uploads/", {"patient": patient.study_id, "source": "enhance",
                                                         "files": [as_upload(paths[0])]}, format="multipart")
    assert response.status_code == 201, response.content
    assert response.json()["source"] == "api"
    assert response.json()["items"][0]["sop_instance_uid"] not in given

    response = stow(client, f"?patient={patient.study_id}&source=enhance", paths[1].read_bytes(),
                    HTTP_X_UPLOAD_SOURCE="enhance")
    assert response.status_code == 200, response.content
    stored = response.json()["00081199"]["Value"][0]["00081155"]["Value"][0]
    assert stored not in given
    assert Upload.objects.filter(source=Upload.Source.ENHANCE).count() == 0
    assert Upload.objects.latest("id").source == Upload.Source.STOW
