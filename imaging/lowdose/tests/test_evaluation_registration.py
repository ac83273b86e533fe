"""Pairs without a common frame of reference (issue 18): the test series is registered rigidly onto the reference and
evaluated on its grid. Real synthetic DICOM through ingest and the pipeline, evaluated by a real run of the work engine
(eager Celery on SQLite)."""
import copy

import numpy as np
import pytest
from pydicom.uid import generate_uid

from conftest import Actors, api_client
from imaging import synthetic
from imaging.lowdose import evaluation
from imaging.lowdose.models import EvaluationPair, PairMetrics
from imaging.tests.analysis_helpers import ingest_datasets, pipeline_done
from imaging.tests.helpers import child, like
from nucmed import registration

pytestmark = [pytest.mark.usefixtures("eager"), pytest.mark.filterwarnings("ignore::UserWarning:pydicom")]
pytest.importorskip("SimpleITK")
API = "/api/v1/lowdose/"
ANGLE_DEG = 3.0  # the other scanner's frame is turned by this about the patient's z axis ...
SHIFT_MM = np.array([7.3, -4.6, 2.2])  # ... and moved by this (non-integer voxels: pixels ~6 mm, slices 3 mm)


def _rz(deg: float) -> np.ndarray:
    a = np.radians(deg)
    return np.array([[np.cos(a), -np.sin(a), 0.0], [np.sin(a), np.cos(a), 0.0], [0.0, 0.0, 1.0]])


def _in_another_frame(datasets, series_number: int):  # type: ignore[no-untyped-def]
    """The same pixels as a new series in another frame of reference: its patient coordinates are the first frame's
    turned by ANGLE_DEG about z and moved by SHIFT_MM, as another scanner or a re-positioned child would give.

    A point at x (first frame) is at R x + SHIFT_MM in the new one, so each slice's position and row/column directions are
    carried over by that motion; the pixels are untouched."""
    rotation, frame, series_uid, out = _rz(ANGLE_DEG), generate_uid(), generate_uid(), []
    for ds in datasets:
        c = copy.deepcopy(ds)
        c.SeriesInstanceUID, c.SOPInstanceUID, c.SeriesNumber, c.FrameOfReferenceUID = series_uid, generate_uid(), series_number, frame
        c.file_meta.MediaStorageSOPInstanceUID = c.SOPInstanceUID
        position = rotation @ np.array([float(v) for v in ds.ImagePositionPatient]) + SHIFT_MM
        iop = [float(v) for v in ds.ImageOrientationPatient]
        c.ImagePositionPatient = [round(float(v), 4) for v in position]
        c.ImageOrientationPatient = [round(float(v), 6) for v in (*(rotation @ iop[:3]), *(rotation @ iop[3:]))]
        out.append(c)
    return out


@pytest.fixture
def series(actors: Actors, tmp_path, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    patient = child(actors.coordinator_a, actors.hospital_a)
    kid = like(patient)
    ctx = synthetic.study_context(patient=kid, seed=43)
    size = {"n_slices": 24, "rows": 48, "cols": 48}
    standard = synthetic.pet_series(tracer="F18_FDG", patient=kid, seed=43, study=ctx, series_number=5, **size)
    low = synthetic.pet_series(tracer="F18_FDG", patient=kid, seed=43, study=ctx, series_number=3, low_dose=True, **size)
    moved = _in_another_frame(low, 11)
    study = ingest_datasets(actors.coordinator_a, patient, [*standard, *low, *moved], tmp_path / "s", django_capture_on_commit_callbacks)
    pipeline_done(study)
    return {s.series_number: s for s in study.series.all()}


def _evaluate(actors: Actors, protocol: int, reference: int, test: int, capture) -> EvaluationPair:  # type: ignore[no-untyped-def]
    with capture(execute=True):
        response = api_client(actors.data_manager).post(f"{API}pairs/", {"protocol": protocol, "reference": reference, "test": test},
                                                        format="json")
    assert response.status_code == 201, response.content
    return EvaluationPair.objects.get(pk=response.json()["id"])


@pytest.fixture
def protocol(actors: Actors) -> int:
    response = api_client(actors.data_manager).post(f"{API}protocols/", {"name": "1/6 activity vs standard", "test_role": "low_activity"},
                                                    format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def test_another_frame_is_registered_and_scores_like_the_same_frame(actors, series, protocol, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    assert series[11].frame_of_reference_uid != series[5].frame_of_reference_uid == series[3].frame_of_reference_uid
    same = _evaluate(actors, protocol, series[5].pk, series[3].pk, django_capture_on_commit_callbacks)
    other = _evaluate(actors, protocol, series[5].pk, series[11].pk, django_capture_on_commit_callbacks)
    assert (same.status, other.status) == ("succeeded", "succeeded"), (same.error, other.error)
    same_m, other_m = PairMetrics.objects.get(pair=same), PairMetrics.objects.get(pair=other)
    assert same_m.grid == "same grid" and same_m.registration is None
    assert other_m.grid == "rigid" and other_m.method_version == evaluation.METHOD_VERSION
    assert registration.METHOD_VERSION in evaluation.METHOD_VERSION

    # The transform found is the motion built into the other frame (reference mm -> test mm: R x + SHIFT_MM), to well
    # within a voxel at every corner of a 200 mm box around the body (centred on the reference's centre of mass).
    found = other_m.registration
    # (Measured: 3.15 degrees about z; 0.12 and -0.38 about x and y, which a 72 mm long volume pins less well.)
    assert found["rotation_deg"][2] == pytest.approx(ANGLE_DEG, abs=0.5)
    assert max(abs(found["rotation_deg"][0]), abs(found["rotation_deg"][1])) < 0.75
    matrix = np.array(found["matrix"])
    truth = np.eye(4)
    truth[:3, :3], truth[:3, 3] = _rz(ANGLE_DEG), SHIFT_MM
    corners = np.array([[*(np.array(found["centre_mm"]) + [x, y, z]), 1.0] for x in (-100, 100) for y in (-100, 100) for z in (-100, 100)])
    assert np.abs((corners @ matrix.T - corners @ truth.T)[:, :3]).max() < 1.5  # mm; pixels are ~6 mm, slices 3 mm
    assert found["metric"] < 0 and found["iterations"] > 0

    # The same low-dose pixels, registered, score as they do in the same frame (measured: SSIM 0.792 and 0.812, NRMSE 0.262
    # and 0.240): the linear interpolation smooths the noise a little, which flatters the registered copy slightly.
    assert other_m.ssim == pytest.approx(same_m.ssim, abs=0.03)
    assert other_m.nrmse == pytest.approx(same_m.nrmse, rel=0.15)
    assert other_m.suv_max_bias_percent is not None


def test_a_registration_that_fails_keeps_the_refusal_with_its_reason(actors, series, protocol, django_capture_on_commit_callbacks,
                                                                      monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def no_convergence(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise registration.RegistrationError("not converged after 200 iterations at full resolution")

    monkeypatch.setattr(registration, "register_rigid", no_convergence)
    pair = _evaluate(actors, protocol, series[5].pk, series[11].pk, django_capture_on_commit_callbacks)
    assert pair.status == "failed" and pair.error_code == "no_common_frame"
    assert "rigid registration" in pair.error and "not converged after 200 iterations" in pair.error
    assert not PairMetrics.objects.filter(pair=pair).exists()
