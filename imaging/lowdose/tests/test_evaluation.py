"""A standard PET series, its one-sixth-activity version and a derived copy of one child at one time point, as real
synthetic DICOM through ingest and the pipeline; pairs found from their attributes and evaluated by a real run of the
work engine (eager Celery on SQLite)."""
import copy

import numpy as np
import pytest
from pydicom.uid import generate_uid

from conftest import Actors, api_client
from imaging import synthetic
from imaging.lowdose.evaluation import on_reference_grid
from imaging.lowdose.models import EvaluationPair, PairMetrics
from imaging.models import Series, SuvResult, VoiMeasurement
from imaging.tests.analysis_helpers import ingest_datasets, pipeline_done
from imaging.tests.helpers import child, like
from imaging.volume import Volume, series_volume
from nucmed import image_similarity as sim
from registry.models import AuditEvent

pytestmark = pytest.mark.usefixtures("eager")
API = "/api/v1/lowdose/"


def _derived(datasets, series_number: int, *, description: str = "", frame_of_reference: str | None = None):  # type: ignore[no-untyped-def]
    """The same pixels as a new series (new UIDs), optionally with a DerivationDescription or another frame of reference."""
    series_uid, out = generate_uid(), []
    for ds in datasets:
        c = copy.deepcopy(ds)
        c.SeriesInstanceUID, c.SOPInstanceUID, c.SeriesNumber = series_uid, generate_uid(), series_number
        c.file_meta.MediaStorageSOPInstanceUID = c.SOPInstanceUID
        if description:
            c.DerivationDescription = description  # removed by the de-identification at ingest; ImageType stays
            c.ImageType = ["DERIVED", "SECONDARY"]
        if frame_of_reference:
            c.FrameOfReferenceUID = frame_of_reference
        out.append(c)
    return out


@pytest.fixture
def study(actors: Actors, tmp_path, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    patient = child(actors.coordinator_a, actors.hospital_a)
    kid = like(patient)
    ctx = synthetic.study_context(patient=kid, seed=41)
    size = {"n_slices": 16, "rows": 32, "cols": 32}
    standard = synthetic.pet_series(tracer="F18_FDG", patient=kid, seed=41, study=ctx, series_number=5, **size)
    low = synthetic.pet_series(tracer="F18_FDG", patient=kid, seed=41, study=ctx, series_number=3, low_dose=True, **size)
    copy_ = _derived(standard, 7, description="Identity copy (test)")
    elsewhere = _derived(standard, 9, description="Other frame (test)", frame_of_reference=generate_uid())
    study = ingest_datasets(actors.coordinator_a, patient, [*standard, *low, *copy_, *elsewhere], tmp_path / "s",
                            django_capture_on_commit_callbacks)
    pipeline_done(study)
    by_number = {s.series_number: s for s in study.series.all()}
    # A lesion VOI on the reference: a 20 mm sphere around the series' hottest voxel.
    ref = by_number[5]
    VoiMeasurement.objects.create(series=ref, created_by=actors.data_manager, label="hottest", kind="lesion", shape="sphere",
                                  centre_mm=ref.suv.suv_max_position_mm, radius_mm=20.0)
    return study, by_number


def _protocol(actors: Actors, name: str, test_role: str) -> int:
    response = api_client(actors.data_manager).post(f"{API}protocols/", {
        "name": name, "test_role": test_role,
        "acceptance_criteria": [{"metric": "voi_suv_mean_bias_percent", "max_abs": 10}, {"metric": "ssim", "min": 0.99}]}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def test_pairs_found_from_attributes_and_evaluated_by_the_engine(actors, study, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    imaging_study, series = study
    low_protocol = _protocol(actors, "1/6 activity vs standard", "low_activity")
    client = api_client(actors.data_manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{API}pairs/find/", {"protocol": low_protocol, "study": imaging_study.pk}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["roles"] == {str(series[5].pk): "standard", str(series[3].pk): "low_activity", str(series[7].pk): "enhanced",
                             str(series[9].pk): "enhanced"}
    [pair] = body["pairs"]
    assert (pair["reference"], pair["test"]) == (series[5].pk, series[3].pk)

    detail = client.get(f"{API}pairs/{pair['id']}/").json()
    assert detail["status"] == "succeeded", detail
    m = detail["metrics"]
    assert m["grid"] == "same grid" and m["method_version"].startswith(sim.METHOD_VERSION)
    # Independently: the stored numbers are the nucmed functions' on the two SUV volumes read here.
    ref_suv = series_volume(series[5]).data * SuvResult.objects.get(series=series[5]).suv_bw_factor
    low_suv = series_volume(series[3]).data * SuvResult.objects.get(series=series[3]).suv_bw_factor
    expected = sim.image_similarity(ref_suv, low_suv)
    assert m["nrmse"] == pytest.approx(expected.nrmse) and m["ssim"] == pytest.approx(expected.ssim)
    assert m["psnr_db"] == pytest.approx(expected.psnr_db)
    assert 0 < m["ssim"] < 1 and m["nrmse"] > 0.05  # six times fewer counts: visibly noisier
    [lesion] = m["vois"]
    # The same child, the same uptake: the VOI's mean SUV agrees within the noise (one-sixth counts, ~100 voxels).
    assert abs(lesion["bias_percent"]["suv_mean"]) < 10
    criteria = {c["metric"]: c for c in m["criteria"]}
    assert criteria["voi_suv_mean_bias_percent"]["met"] is True and criteria["ssim"]["met"] is False
    assert AuditEvent.objects.filter(action="lowdose_evaluate", object_id=str(pair["id"])).exists()


def test_identical_images_give_ssim_one_and_no_bias(actors, study, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    imaging_study, series = study
    protocol = _protocol(actors, "standard vs enhanced", "enhanced")
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client(actors.data_manager).post(f"{API}pairs/", {"protocol": protocol, "reference": series[5].pk,
                                                                         "test": series[7].pk}, format="json")
    assert response.status_code == 201, response.content
    metrics = PairMetrics.objects.get(pair_id=response.json()["id"])
    assert metrics.ssim == pytest.approx(1.0, abs=1e-9) and metrics.nrmse == 0.0 and metrics.psnr_db is None
    assert metrics.suv_max_bias_percent == 0.0
    assert metrics.vois[0]["bias_percent"] == {"suv_max": 0.0, "suv_mean": 0.0, "suv_peak": 0.0}
    assert all(c["met"] for c in metrics.criteria)


def test_a_copy_in_another_frame_of_reference_is_registered_onto_itself(actors, study, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    """The same pixels filed under another FrameOfReferenceUID: registered (grid "rigid"), the identity found, SSIM ~1.
    (A moved copy, and a registration that fails: test_evaluation_registration.py.)"""
    _, series = study
    protocol = _protocol(actors, "standard vs other frame", "enhanced")
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client(actors.data_manager).post(f"{API}pairs/", {"protocol": protocol, "reference": series[5].pk,
                                                                         "test": series[9].pk}, format="json")
    pair = EvaluationPair.objects.get(pk=response.json()["id"])
    assert pair.status == "succeeded", pair.error
    metrics = PairMetrics.objects.get(pair=pair)
    assert metrics.grid == "rigid" and metrics.registration["method"] in metrics.method_version
    assert max(abs(v) for v in metrics.registration["rotation_deg"]) < 0.2
    assert np.abs(np.array(metrics.registration["matrix"])[:3, 3]).max() < 1.5  # mm, far from origin: rotation x lever
    # Measured: SSIM 0.99998, VOI SUVmean bias -0.006 %. (Before edge voxels within half a voxel of the field of view kept
    # their value, an edge slice 0.01 voxel outside read 0: SSIM 0.974, SUVmean bias -9.8 %.)
    assert metrics.ssim > 0.999 and abs(metrics.vois[0]["bias_percent"]["suv_mean"]) < 0.5


def test_bad_input_is_400_with_a_code(actors, study) -> None:  # type: ignore[no-untyped-def]
    _, series = study
    client = api_client(actors.data_manager)
    protocol = _protocol(actors, "p", "low_activity")
    same = client.post(f"{API}pairs/", {"protocol": protocol, "reference": series[5].pk, "test": series[5].pk}, format="json")
    assert same.status_code == 400 and same.json()["code"] == "invalid"
    bad = client.post(f"{API}protocols/", {"name": "q", "test_role": "low_activity", "acceptance_criteria": [{"metric": "x", "min": 1}]},
                      format="json")
    assert bad.status_code == 400 and "acceptance_criteria" in bad.json()["fields"]
    dup = client.post(f"{API}protocols/", {"name": "p", "test_role": "short_scan"}, format="json")
    assert dup.status_code == 400 and "name" in dup.json()["fields"]
    assert Series.objects.count() == 4


def test_pair_list_query_count_is_pinned(actors, study, django_capture_on_commit_callbacks, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    imaging_study, _ = study
    client = api_client(actors.data_manager)
    for name, role in (("a", "low_activity"), ("b", "enhanced")):
        with django_capture_on_commit_callbacks(execute=True):
            client.post(f"{API}pairs/find/", {"protocol": _protocol(actors, name, role), "study": imaging_study.pk}, format="json")
    assert EvaluationPair.objects.count() == 3
    with django_assert_max_num_queries(9):
        response = client.get(f"{API}pairs/")
    assert response.status_code == 200 and response.json()["count"] == 3


def test_resampling_aligns_a_shifted_grid() -> None:
    """A test grid offset by whole voxels is put back on the reference's voxel centres exactly (linear interpolation)."""
    rng = np.random.default_rng(2)
    data = rng.random((10, 12, 14))
    affine = np.diag([2.0, 2.0, 3.0, 1.0])
    shifted = affine.copy()
    shifted[:3, 3] = [4.0, -2.0, 3.0]  # +2 columns, -1 row, +1 slice in mm
    ref = Volume(data=data, affine=affine, positions_mm=[], pixel_spacing=(2.0, 2.0), slice_spacing=3.0, instance_ids=[])
    # The test volume holds the same object on the shifted grid: its voxel (k, j, i) is the reference's (k+1, j-1, i+2).
    moved = np.zeros_like(data)
    moved[:-1, 1:, :-2] = data[1:, :-1, 2:]
    test = Volume(data=moved, affine=shifted, positions_mm=[], pixel_spacing=(2.0, 2.0), slice_spacing=3.0, instance_ids=[])
    out, how = on_reference_grid(ref, test)
    assert how.startswith("resampled")
    np.testing.assert_allclose(out[1:, :-1, 2:], data[1:, :-1, 2:], atol=1e-12)
