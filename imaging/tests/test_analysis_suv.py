"""The SUV step: header extraction into nucmed's SuvHeader, factors, whole-series SUVmax, refusals that do not stop the pipeline."""
from pathlib import Path

import numpy as np
import pydicom
import pytest

from conftest import Actors, api_client
from imaging import synthetic
from imaging.dicom.suv_headers import pet_header
from imaging.models import Preview, Series, SuvResult
from imaging.tests.analysis_helpers import ingest_datasets, pipeline_done, qiba_factor, sphere_phantom
from imaging.tests.helpers import child, like, sample
from imaging.volume import series_volume
from nucmed.suv import suv_factor

pytestmark = pytest.mark.usefixtures("eager")


@pytest.fixture
def patient(actors: Actors):  # type: ignore[no-untyped-def]
    return child(actors.coordinator_a, actors.hospital_a)


@pytest.mark.parametrize("name", ["tcia-acrin-flt-breast-pet-1.dcm", "tcia-acrin-flt-breast-pet-2.dcm"])
def test_real_pet_files_give_the_factor_derived_from_their_attributes(name: str) -> None:
    ds = pydicom.dcmread(sample(name))
    header = pet_header(ds, acquisitions=[f"{ds.AcquisitionDate}{ds.AcquisitionTime}"])
    assert (header.units, header.decay_correction, header.weight_kg) == ("BQML", "START", float(ds.PatientWeight))
    result = suv_factor(header)
    # Both files: the series time is not after the acquisition time, so the scan time is the series time
    # (file 2: series time = injection time, acquisition 16 min later -> almost no decay).
    assert result.scan_time_source == "series"
    assert result.factor == pytest.approx(qiba_factor(ds), rel=1e-6)


def test_sphere_of_known_suv_through_the_step(actors, patient, tmp_path, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    phantom = sphere_phantom(like(patient))
    study = ingest_datasets(actors.coordinator_a, patient, phantom.datasets, tmp_path / "p", django_capture_on_commit_callbacks)
    pipeline_done(study)
    series = study.series.get()
    result = SuvResult.objects.get(series=series)
    assert result.quantifiable and result.suv_bw_factor == pytest.approx(phantom.factor, rel=1e-9)
    assert result.suv_max == pytest.approx(phantom.sphere_suv, rel=1e-3)
    # The maximum lies inside the sphere.
    assert np.linalg.norm(np.array(result.suv_max_position_mm) - np.array(phantom.centre_mm)) <= phantom.radius_mm
    # Per-slice rescale: every slice's background reads SUV 1.0 although every slice has its own slope.
    volume = series_volume(series)
    suv = volume.data * result.suv_bw_factor
    assert np.allclose(suv[:, 0, 0], phantom.background_suv, rtol=1e-3)
    assert len({float(ds.RescaleSlope) for ds in phantom.datasets}) == len(phantom.datasets)
    # Height known (108 cm): the SUVlbm and SUVbsa factors are there too.
    assert result.suv_lbm_factor and result.suv_lbm_janma_factor and result.suv_bsa_factor
    # The decay times were read on the platform zone (the phantom's headers carry no offset) and the details say so.
    assert (result.details["time_offsets"]["injection"], result.details["time_offsets"]["scan"]) == ("platform_zone", "platform_zone")
    step = series.pipeline_steps["suv"]
    assert step["state"] == "done" and step["progress"] == 100 and step["result"]["quantifiable"] is True


def test_not_decay_corrected_series_gets_the_reason_and_the_pipeline_continues(actors, patient, tmp_path,  # type: ignore[no-untyped-def]
                                                                                django_capture_on_commit_callbacks) -> None:
    datasets = synthetic.pet_series(tracer="F18_FDG", patient=like(patient), seed=3, n_slices=4, rows=16, cols=16)
    for ds in datasets:
        ds.DecayCorrection = "NONE"
    study = ingest_datasets(actors.coordinator_a, patient, datasets, tmp_path / "n", django_capture_on_commit_callbacks)
    pipeline_done(study)
    series = study.series.get()
    result = SuvResult.objects.get(series=series)
    assert not result.quantifiable and result.suv_bw_factor is None and result.suv_max is None
    assert "NONE" in result.not_quantifiable_reason
    assert series.pipeline_steps["suv"]["result"] == {"quantifiable": False, "reason": result.not_quantifiable_reason}
    assert set(Preview.objects.filter(series=series).values_list("units", flat=True)) == {"Bq/ml"}


def test_missing_weight_is_refused_with_its_reason(actors, patient, tmp_path, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    datasets = synthetic.pet_series(tracer="F18_FDG", patient=like(patient), seed=4, n_slices=3, rows=16, cols=16)
    for ds in datasets:
        del ds.PatientWeight
    study = ingest_datasets(actors.coordinator_a, patient, datasets, tmp_path / "w", django_capture_on_commit_callbacks)
    pipeline_done(study)
    result = SuvResult.objects.get(series__study=study)
    assert not result.quantifiable and "weight" in result.not_quantifiable_reason


def test_ct_series_has_no_suv_step_work(actors, patient, tmp_path, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    pet, ct = synthetic.pet_ct_study(tracer="F18_FDG", patient=like(patient), seed=6, n_slices=3, rows=16, cols=16, ct_rows=16,
                                     ct_cols=16)
    study = ingest_datasets(actors.coordinator_a, patient, [*pet, *ct], tmp_path / "c", django_capture_on_commit_callbacks)
    pipeline_done(study)
    ct_series = study.series.get(modality="CT")
    assert "not_applicable" in ct_series.pipeline_steps["suv"]["result"]
    assert not SuvResult.objects.filter(series=ct_series).exists()
    assert set(Preview.objects.filter(series=ct_series).values_list("units", flat=True)) == {"HU"}


def test_suv_results_and_pipeline_steps_through_the_api(actors, patient, tmp_path, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    phantom = sphere_phantom(like(patient), n=6, size=16, radius_mm=20)
    study = ingest_datasets(actors.coordinator_a, patient, phantom.datasets, tmp_path / "a", django_capture_on_commit_callbacks)
    series = Series.objects.get(study=study)
    client = api_client(actors.investigator_a)
    body = client.get(f"/api/v1/imaging/series/{series.pk}/").json()
    assert [s["name"] for s in body["steps"]] == ["index", "suv", "dose", "preview", "enhance"]
    assert all(s["state"] == "done" and s["progress"] == 100 for s in body["steps"]) and body["pipeline_progress"] == 100
    listed = client.get("/api/v1/imaging/suv-results/", {"series": series.pk}).json()["results"]
    assert len(listed) == 1 and listed[0]["suv_max"] == pytest.approx(phantom.sphere_suv, rel=1e-3)
    assert api_client(actors.coordinator_b).get(f"/api/v1/imaging/suv-results/{listed[0]['id']}/").status_code == 404


def test_real_file_without_acquisition_rows_still_reads(tmp_path: Path) -> None:
    """No acquisition times known (none recorded at ingest): the series time alone is the scan time."""
    ds = pydicom.dcmread(sample("tcia-acrin-flt-breast-pet-1.dcm"))
    result = suv_factor(pet_header(ds, acquisitions=[]))
    assert result.factor == pytest.approx(qiba_factor(ds), rel=1e-6)
