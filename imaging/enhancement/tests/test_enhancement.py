"""The enhancement step end to end: a 3x3x3 mean-filter ONNX graph built here, registered through the API by a data
manager, run by the real pipeline (eager Celery on SQLite) on a synthetic one-sixth-activity PET series; the derived
series is checked against scipy.ndimage.uniform_filter, read back as DICOM, and analysed like any series. Models whose
checksum, modality or voxel size do not match refuse, with the reason on the series' step and on their run row."""
import io

import numpy as np
import pydicom
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from scipy import ndimage

from conftest import Actors, api_client
from imaging import synthetic
from imaging.enhancement.models import EnhancementModel, EnhancementRun
from imaging.enhancement.tests.onnx_graphs import mean_filter_onnx, sha256
from imaging.models import Series
from imaging.tests.analysis_helpers import ingest_datasets
from imaging.tests.helpers import child, like
from imaging.volume import published_instances, read_dataset, series_volume
from registry.models import AuditEvent

pytestmark = pytest.mark.usefixtures("eager")
API = "/api/v1/enhancement/"


def _register(actor, data: bytes, **fields):  # type: ignore[no-untyped-def]
    body = {"file": io.BytesIO(data), "sha256": sha256(data), "name": "mean3", "version": "1.0", "tracer": "F18_FDG",
            "max_activity_mbq_per_kg": 1.0, "normalisation": "body_mean", **fields}
    body["file"].name = "model.onnx"
    return api_client(actor).post(f"{API}models/", body, format="multipart")


@pytest.fixture
def low_dose_pet(actors: Actors):  # type: ignore[no-untyped-def]
    patient = child(actors.coordinator_a, actors.hospital_a)
    kid = like(patient)
    datasets = synthetic.pet_series(tracer="F18_FDG", patient=kid, seed=7, n_slices=8, rows=24, cols=24, low_dose=True,
                                    series_number=3)
    first, second = datasets[0], datasets[1]
    spacing = [float(v) for v in first.PixelSpacing] + [abs(float(first.ImagePositionPatient[2]) - float(second.ImagePositionPatient[2]))]
    mbq_per_kg = float(first.RadiopharmaceuticalInformationSequence[0].RadionuclideTotalDose) / 1e6 / float(first.PatientWeight)
    return patient, datasets, spacing, mbq_per_kg


def test_mean_filter_model_makes_a_derived_series_equal_to_scipy(actors, low_dose_pet, tmp_path,
                                                                  django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    patient, datasets, spacing, mbq_per_kg = low_dose_pet
    good = mean_filter_onnx()
    tampered = mean_filter_onnx(name="mean3_tampered")  # other bytes, so its own stored file
    contract = {"voxel_size_mm": spacing, "max_activity_mbq_per_kg": mbq_per_kg * 1.01}
    for data, extra in ((good, {}), (tampered, {"version": "tampered"}), (good, {"version": "nm", "modality": "NM"}),
                        (good, {"version": "4mm", "voxel_size_mm": [4.0, 4.0, 4.0]})):
        response = _register(actors.data_manager, data, **{**contract, **extra})
        assert response.status_code == 201, response.content
    # The tampered model's stored file changes after registration: the run must refuse it.
    name = EnhancementModel.objects.get(version="tampered").file
    default_storage.delete(name)
    default_storage.save(name, ContentFile(b"not the registered model"))

    study = ingest_datasets(actors.coordinator_a, patient, datasets, tmp_path / "s", django_capture_on_commit_callbacks)
    source = study.series.get(series_number=3)  # the derived series (903) is filed in this study too
    assert source.pipeline_state == Series.PipelineState.DONE, source.pipeline_steps
    step = source.pipeline_steps["enhance"]
    assert step["state"] == "done"
    by_model = {r["model"]: r for r in step["result"]["models"]}
    assert "SHA-256" in by_model["mean3 tampered"]["refused"]
    assert "expects modality NM; this series is PT" in by_model["mean3 nm"]["refused"]
    assert "expects voxels of 4 x 4 x 4 mm" in by_model["mean3 4mm"]["refused"]
    runs = {r.model.version: r for r in EnhancementRun.objects.select_related("model")}
    assert {v: r.outcome for v, r in runs.items()} == {"1.0": "done", "tampered": "refused", "nm": "refused", "4mm": "refused"}
    assert runs["nm"].reason == by_model["mean3 nm"]["refused"] and runs["nm"].derived is None

    derived = runs["1.0"].derived
    assert by_model["mean3 1.0"]["derived_series"] == derived.pk and by_model["mean3 1.0"]["provider"] == "CPUExecutionProvider"
    # Analysed like any series: its own pipeline ran to the end, and the enhance step does not enhance it again.
    derived.refresh_from_db()
    assert derived.pipeline_state == Series.PipelineState.DONE, derived.pipeline_steps
    assert derived.pipeline_steps["enhance"]["result"]["not_applicable"] == "A derived series is not enhanced again."
    assert derived.suv.suv_max is not None and derived.patient_id == patient.pk
    # Filed as the platform's own output (no second de-identification): in its source's study, frame of reference kept.
    assert derived.study_id == source.study_id and derived.frame_of_reference_uid == source.frame_of_reference_uid
    # No evaluation protocol compares enhanced series here: the hook ran and paired nothing.
    assert derived.pipeline_steps["enhance"]["result"]["source"] == source.pk
    assert derived.pipeline_steps["enhance"]["result"]["lowdose"] == {"pairs": []}

    # The pixels: the source volume through uniform_filter with the same (zero) boundary, to the 16-bit storage step.
    source_volume, derived_volume = series_volume(source), series_volume(derived)
    expected = ndimage.uniform_filter(source_volume.data.astype(np.float64), size=3, mode="constant", cval=0.0)
    step_size = expected.max(axis=(1, 2)) / 65535.0
    assert derived_volume.data.shape == expected.shape
    assert np.all(np.abs(derived_volume.data - expected) <= step_size[:, None, None] * 0.51 + 1e-4 * expected.max())
    assert not np.allclose(derived_volume.data, source_volume.data, rtol=0.01)  # it did smooth
    assert derived_volume.pixel_spacing == source_volume.pixel_spacing and derived_volume.positions_mm == source_volume.positions_mm

    # The stored DICOM: new UIDs under the platform's root, DERIVED, the source's SUV attributes.
    source_files = [read_dataset(i, pixels=False) for i in published_instances(source)]
    derived_files = [read_dataset(i, pixels=False) for i in published_instances(derived)]
    assert len(derived_files) == len(source_files) == 8
    source_uids = {str(ds.SOPInstanceUID) for ds in source_files}
    derived_uids = {str(ds.SOPInstanceUID) for ds in derived_files}
    assert len(derived_uids) == 8 and not derived_uids & source_uids
    assert derived.series_uid.startswith("2.25.") and derived.series_uid != source.series_uid
    assert all(uid.startswith("2.25.") for uid in derived_uids)
    for ds in derived_files:
        assert list(ds.ImageType)[:2] == ["DERIVED", "SECONDARY"]
        assert ds.Units == source_files[0].Units == "BQML"
        assert ds.DecayCorrection == source_files[0].DecayCorrection
        assert ds.RadiopharmaceuticalInformationSequence[0].RadionuclideTotalDose == \
            source_files[0].RadiopharmaceuticalInformationSequence[0].RadionuclideTotalDose
        assert ds.SeriesNumber == 903
    # Ingested like an upload: audited as the model's registrant, the source's de-identified header (the study id as the
    # patient id), DerivationDescription kept and each image naming its source image (SourceImageSequence).
    assert derived_files[0].PatientID == patient.study_id
    source_by_position = {float(ds.ImagePositionPatient[2]): str(ds.SOPInstanceUID) for ds in source_files}
    for ds in derived_files:
        assert ds.DerivationDescription.startswith("Enhanced by mean3 1.0 (ONNX, sha256 ")
        assert ds.SourceImageSequence[0].ReferencedSOPInstanceUID == source_by_position[float(ds.ImagePositionPatient[2])]
    assert AuditEvent.objects.filter(actor=actors.data_manager, object_type__icontains="upload").exists()


def test_derived_dataset_before_ingest_names_model_and_sources(actors, low_dose_pet, tmp_path,
                                                               django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    """What the step writes before the ingest's de-identification: DerivationDescription and SourceImageSequence."""
    from imaging.enhancement.derived import derivation_description, derived_datasets

    patient, datasets, spacing, _ = low_dose_pet
    study = ingest_datasets(actors.coordinator_a, patient, datasets, tmp_path / "s", django_capture_on_commit_callbacks)
    source = study.series.get()
    data = mean_filter_onnx()
    assert _register(actors.data_manager, data, voxel_size_mm=spacing, max_activity_mbq_per_kg=0.0001).status_code == 201
    model = EnhancementModel.objects.get()
    instances, volume = published_instances(source), series_volume(source)
    out = derived_datasets(instances=instances, volume=volume, enhanced=volume.data, model=model)
    by_id = {i.pk: read_dataset(i, pixels=False) for i in instances}
    assert derivation_description(model) == f"Enhanced by mean3 1.0 (ONNX, sha256 {sha256(data)[:12]})"
    for k, ds in enumerate(out):
        src = by_id[volume.instance_ids[k]]
        assert ds.DerivationDescription == derivation_description(model)
        assert ds.SourceImageSequence[0].ReferencedSOPInstanceUID == src.SOPInstanceUID
        assert ds.SourceImageSequence[0].ReferencedSOPClassUID == src.SOPClassUID
        assert ds.StudyInstanceUID == src.StudyInstanceUID and ds.FrameOfReferenceUID == src.FrameOfReferenceUID
        assert ds.SeriesInstanceUID.startswith("2.25.") and ds.SOPInstanceUID.startswith("2.25.")
        back = pydicom.dcmread(io.BytesIO(_bytes(ds)))
        assert np.allclose(back.pixel_array * float(back.RescaleSlope), volume.data[k], atol=float(back.RescaleSlope))
    # The model was above this series' activity threshold: the pipeline skipped it (low-dose only), no run row.
    assert source.pipeline_steps["enhance"]["result"] == {"models": []}
    assert not EnhancementRun.objects.exists()


def test_a_model_registered_later_runs_when_the_series_is_enhanced_again(actors, low_dose_pet, tmp_path,
                                                                        django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    patient, datasets, spacing, mbq_per_kg = low_dose_pet
    study = ingest_datasets(actors.coordinator_a, patient, datasets, tmp_path / "s", django_capture_on_commit_callbacks)
    source = study.series.get()
    assert source.pipeline_steps["enhance"]["result"] == {"models": []}  # no model yet
    response = _register(actors.data_manager, mean_filter_onnx(), voxel_size_mm=spacing, max_activity_mbq_per_kg=mbq_per_kg * 1.01)
    assert response.status_code == 201
    suv_finished = source.pipeline_steps["suv"]["finished_at"]
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client(actors.data_manager).post(f"{API}runs/enhance-again/", {"series": source.pk}, format="json")
    assert response.status_code == 202, response.content
    source.refresh_from_db()
    assert source.pipeline_state == Series.PipelineState.DONE
    assert source.pipeline_steps["suv"]["finished_at"] == suv_finished  # the other steps were not run again
    run = EnhancementRun.objects.get()
    assert run.outcome == "done" and source.pipeline_steps["enhance"]["result"]["models"][0]["derived_series"] == run.derived_id
    assert AuditEvent.objects.filter(actor=actors.data_manager, action="enhance_again").count() == 1
    # A series whose pipeline is not done (here: running) is refused; a monitor cannot change the series at all.
    Series.objects.filter(pk=source.pk).update(pipeline_state=Series.PipelineState.RUNNING)
    again = api_client(actors.data_manager).post(f"{API}runs/enhance-again/", {"series": source.pk}, format="json")
    assert again.status_code == 400 and again.json()["code"] == "invalid_transition"
    monitor = api_client(actors.monitor_a).post(f"{API}runs/enhance-again/", {"series": source.pk}, format="json")
    assert monitor.status_code == 400 and "series" in monitor.json()["fields"]


def _bytes(ds) -> bytes:  # type: ignore[no-untyped-def]
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def test_register_refuses_a_wrong_checksum_and_a_file_that_is_no_model(actors) -> None:  # type: ignore[no-untyped-def]
    data = mean_filter_onnx()
    client = api_client(actors.data_manager)
    body = {"file": io.BytesIO(data), "sha256": "0" * 64, "name": "m", "version": "1", "voxel_size_mm": [2, 2, 2],
            "max_activity_mbq_per_kg": 1}
    body["file"].name = "m.onnx"
    response = client.post(f"{API}models/", body, format="multipart")
    assert response.status_code == 400 and response.json()["code"] == "checksum_mismatch", response.content
    junk = b"this is not onnx"
    body = {**body, "file": io.BytesIO(junk), "sha256": sha256(junk)}
    body["file"].name = "m.onnx"
    response = client.post(f"{API}models/", body, format="multipart")
    assert response.status_code == 400 and response.json()["code"] == "invalid_model", response.content
    assert not EnhancementModel.objects.exists()
    assert _register(actors.coordinator_a, data, voxel_size_mm=[2, 2, 2]).status_code == 403
    assert _register(actors.data_manager, data, voxel_size_mm=[2, 2, 2]).status_code == 201
    again = _register(actors.data_manager, data, voxel_size_mm=[2, 2, 2])
    assert again.status_code == 400 and again.json()["code"] == "duplicate"


def test_model_list_query_count(actors) -> None:  # type: ignore[no-untyped-def]
    """The list costs the same number of queries for one model and for three (authentication, scope, page, count)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    data, client, counts = mean_filter_onnx(), api_client(actors.investigator_a), []
    for versions in (("1",), ("2", "3")):
        for version in versions:
            assert _register(actors.data_manager, data, version=version, voxel_size_mm=[2, 2, 2]).status_code == 201
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"{API}models/")
        assert response.status_code == 200
        counts.append((len(response.json()["results"]), len(queries)))
    assert counts[0][0] == 1 and counts[1][0] == 3
    assert counts[0][1] == counts[1][1] <= 9, counts
