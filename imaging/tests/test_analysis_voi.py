"""VOI endpoint: a reader's sphere or box on a PET series -> nucmed statistics; liver image quality."""
import numpy as np
import pytest

from conftest import Actors, api_client
from imaging import synthetic
from imaging.models import SuvResult, VoiMeasurement
from imaging.tests.analysis_helpers import ingest_datasets, pipeline_done, sphere_phantom
from imaging.tests.helpers import child, like
from imaging.volume import series_volume
from registry.models import AuditEvent

pytestmark = pytest.mark.usefixtures("eager")
URL = "/api/v1/imaging/vois/"


@pytest.fixture
def patient(actors: Actors):  # type: ignore[no-untyped-def]
    return child(actors.coordinator_a, actors.hospital_a)


@pytest.fixture
def phantom_series(actors, patient, tmp_path, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    phantom = sphere_phantom(like(patient))
    study = ingest_datasets(actors.coordinator_a, patient, phantom.datasets, tmp_path / "p", django_capture_on_commit_callbacks)
    pipeline_done(study)
    return phantom, study.series.get()


def _centres(series):  # type: ignore[no-untyped-def]
    """Patient mm of every voxel centre, computed here from the DICOM geometry (independently of nucmed)."""
    vol = series_volume(series)
    k, j, i = np.meshgrid(*(np.arange(n) for n in vol.data.shape), indexing="ij")
    xyz = np.stack([i, j, k, np.ones_like(i)]).reshape(4, -1).astype(float)
    return (vol.affine @ xyz)[:3].reshape(3, *vol.data.shape), vol


def test_sphere_voi_of_a_sphere_of_known_suv(actors, phantom_series) -> None:  # type: ignore[no-untyped-def]
    phantom, series = phantom_series
    response = api_client(actors.investigator_a).post(URL, {
        "series": series.pk, "shape": "sphere", "centre_mm": list(phantom.centre_mm), "radius_mm": 45.0, "label": "primary",
        "threshold": "41pct"})
    assert response.status_code == 201, response.content
    body = response.json()
    centres, vol = _centres(series)
    distance2 = ((centres - np.array(phantom.centre_mm)[:, None, None, None]) ** 2).sum(axis=0)
    voi, lesion = distance2 <= 45.0**2, distance2 <= phantom.radius_mm**2
    suv = vol.data * SuvResult.objects.get(series=series).suv_bw_factor
    voxel_ml = phantom.voxel_mm**3 / 1000
    assert body["voxels"] == int(voi.sum()) and body["volume_ml"] == pytest.approx(voi.sum() * voxel_ml)
    assert body["suv_max"] == pytest.approx(phantom.sphere_suv, rel=1e-3)
    assert body["suv_mean"] == pytest.approx(float(suv[voi].mean()), rel=1e-4)
    assert body["suv_sd"] == pytest.approx(float(suv[voi].std(ddof=1)), rel=1e-3)
    # 41 % of SUVmax 8 = 3.28: exactly the lesion's voxels; MTV in ml, TLG = MTV x 8; a uniform lesion: CoV ~ 0, AUC-CSH ~ 1.
    assert body["mtv_ml"] == pytest.approx(lesion.sum() * voxel_ml)
    assert body["tlg"] == pytest.approx(lesion.sum() * voxel_ml * phantom.sphere_suv, rel=1e-3)
    assert body["cov"] == pytest.approx(0, abs=1e-3) and body["auc_csh"] == pytest.approx(1, abs=1e-3)
    # 10 mm voxels: the 1 cm3 peak sphere (r 6.2 mm) holds only the maximum voxel, inside the lesion.
    assert body["suv_peak"] == pytest.approx(phantom.sphere_suv, rel=1e-3)
    voi_row = VoiMeasurement.objects.get(pk=body["id"])
    assert voi_row.created_by == actors.investigator_a
    assert AuditEvent.objects.filter(action="create", object_type="imaging.voimeasurement", object_id=str(voi_row.pk)).exists()


def test_box_voi_with_the_absolute_threshold(actors, phantom_series) -> None:  # type: ignore[no-untyped-def]
    phantom, series = phantom_series
    low = [c - 60 for c in phantom.centre_mm]
    high = [c + 60 for c in phantom.centre_mm]
    body = api_client(actors.coordinator_a).post(URL, {"series": series.pk, "shape": "box", "box_min_mm": low, "box_max_mm": high,
                                                       "threshold": "suv2.5"}).json()
    centres, _ = _centres(series)
    lesion = ((centres - np.array(phantom.centre_mm)[:, None, None, None]) ** 2).sum(axis=0) <= phantom.radius_mm**2
    assert body["mtv_ml"] == pytest.approx(lesion.sum() * phantom.voxel_mm**3 / 1000)
    in_box = np.all((centres >= np.array(low)[:, None, None, None]) & (centres <= np.array(high)[:, None, None, None]), axis=0)
    assert body["voxels"] == int(in_box.sum()) == 13**3  # 10 mm voxels, +/- 60 mm around a voxel centre


def test_liver_voi_gives_snr_and_cov(actors, patient, tmp_path, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    datasets = synthetic.pet_series(tracer="F18_FDG", patient=like(patient), seed=11, n_slices=24, rows=64, cols=64)
    study = ingest_datasets(actors.coordinator_a, patient, datasets, tmp_path / "l", django_capture_on_commit_callbacks)
    series = study.series.get()
    h = 1080.0  # the child's height in mm: the phantom's liver is centred at (-0.04, -0.005, -0.345) x height
    centre = [-0.04 * h, -0.005 * h, -0.345 * h]
    body = api_client(actors.coordinator_a).post(URL, {"series": series.pk, "shape": "sphere", "kind": "liver",
                                                       "centre_mm": centre}).json()
    assert body["radius_mm"] == 15.0 and body["kind"] == "liver"
    centres, vol = _centres(series)
    inside = ((centres - np.array(centre)[:, None, None, None]) ** 2).sum(axis=0) <= 15.0**2
    suv = vol.data * SuvResult.objects.get(series=series).suv_bw_factor
    mean, sd = float(suv[inside].mean()), float(suv[inside].std(ddof=1))
    assert mean == pytest.approx(2.0, rel=0.05)  # the generator's liver SUV for FDG
    assert body["snr"] == pytest.approx(mean / sd, rel=1e-3) and body["cov"] == pytest.approx(sd / mean, rel=1e-3)
    assert body["mtv_ml"] is None and body["tlg"] is None


@pytest.mark.parametrize(("payload", "field"), [
    ({"shape": "sphere", "radius_mm": 10}, "centre_mm"),
    ({"shape": "sphere", "centre_mm": [0, 0, 0]}, "radius_mm"),
    ({"shape": "box", "box_min_mm": [0, 0, 0]}, "box_min_mm"),
    ({"shape": "sphere", "centre_mm": [5000, 0, 0], "radius_mm": 10}, "centre_mm"),  # outside the image
    ({"shape": "sphere", "centre_mm": [0, 0], "radius_mm": 10}, "centre_mm"),
])
def test_bad_voi_is_refused_with_its_field(actors, phantom_series, payload, field) -> None:  # type: ignore[no-untyped-def]
    _, series = phantom_series
    response = api_client(actors.coordinator_a).post(URL, {"series": series.pk, **payload})
    assert response.status_code == 400 and field in response.json()["fields"], response.json()
    assert not VoiMeasurement.objects.exists()


def test_voi_on_an_unquantifiable_series_is_refused(actors, patient, tmp_path, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    datasets = synthetic.pet_series(tracer="F18_FDG", patient=like(patient), seed=12, n_slices=3, rows=16, cols=16)
    for ds in datasets:
        ds.DecayCorrection = "NONE"
    study = ingest_datasets(actors.coordinator_a, patient, datasets, tmp_path / "n", django_capture_on_commit_callbacks)
    response = api_client(actors.coordinator_a).post(URL, {"series": study.series.get().pk, "shape": "sphere",
                                                           "centre_mm": [0, 0, -350], "radius_mm": 20})
    assert response.status_code == 400 and response.json()["code"] == "not_quantifiable"


def test_voi_scope(actors, phantom_series) -> None:  # type: ignore[no-untyped-def]
    phantom, series = phantom_series
    payload = {"series": series.pk, "shape": "sphere", "centre_mm": list(phantom.centre_mm), "radius_mm": 20}
    assert api_client(actors.coordinator_b).post(URL, payload).status_code == 400  # the series "does not exist" for them
    assert api_client(actors.monitor_a).post(URL, payload).status_code == 403
    created = api_client(actors.coordinator_a).post(URL, payload).json()
    assert api_client(actors.monitor_a).get(f"{URL}{created['id']}/").status_code == 200
    assert api_client(actors.coordinator_b).get(f"{URL}{created['id']}/").status_code == 404
