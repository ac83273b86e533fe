"""The preview step (coronal MIP and axial slices as PNG), the shared series volume, and the preview API."""
import io

import numpy as np
import pydicom
import pytest
from PIL import Image

from conftest import Actors, api_client
from imaging import synthetic, volume
from imaging.models import Preview, SuvResult
from imaging.previews import PET_SUV_WINDOW
from imaging.tests.analysis_helpers import ingest_datasets, pipeline_done, sphere_phantom
from imaging.tests.helpers import child, like

pytestmark = pytest.mark.usefixtures("eager")


@pytest.fixture
def patient(actors: Actors):  # type: ignore[no-untyped-def]
    return child(actors.coordinator_a, actors.hospital_a)


@pytest.fixture
def phantom_study(actors, patient, tmp_path, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    phantom = sphere_phantom(like(patient))
    study = ingest_datasets(actors.coordinator_a, patient, phantom.datasets, tmp_path / "p", django_capture_on_commit_callbacks)
    pipeline_done(study)
    return phantom, study


def _png(preview: Preview) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(volume.open_bytes(preview.storage_key))))


def test_pet_previews_in_suv_with_the_fixed_window(phantom_study) -> None:  # type: ignore[no-untyped-def]
    phantom, study = phantom_study
    series = study.series.get()
    previews = list(Preview.objects.filter(series=series))
    kinds = [p.kind for p in previews]
    assert kinds.count("coronal_mip") == 1 and kinds.count("axial") == 5
    assert all(p.units == "SUV" and p.window == list(PET_SUV_WINDOW) for p in previews)
    mip = next(p for p in previews if p.kind == "coronal_mip")
    image = _png(mip)
    assert image.shape == (mip.height, mip.width) and image.dtype == np.uint8
    # Cubic voxels: the MIP of 16 slices x 32 columns is half as tall as wide. Inverted: SUV 8 (above the
    # window) is black, SUV 1.0 is 255 - int(255/6).
    assert mip.height * 2 == mip.width
    assert image.min() == 0 and image.max() == 255 - int(255 * phantom.background_suv / PET_SUV_WINDOW[1])
    axial = [p for p in previews if p.kind == "axial"]
    assert [p.slice_position_mm for p in axial] == sorted((p.slice_position_mm for p in axial), reverse=True)  # superior first


def test_volume_is_read_once_and_shared(phantom_study, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    phantom, study = phantom_study
    series = study.series.get()

    def no_reading(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("the cached volume should have been used")

    volume.series_volume(series)  # the first request after the run reads the files and writes the cache
    monkeypatch.setattr(volume, "read_slice", no_reading)
    cached = volume.series_volume(series)
    monkeypatch.undo()
    fresh = volume.build_volume(volume.published_instances(series))
    assert np.array_equal(cached.data, fresh.data) and np.allclose(cached.affine, fresh.affine)
    # The volume is the rescaled pixel data, each slice with its own slope, in ascending z.
    by_z = sorted(phantom.datasets, key=lambda ds: float(ds.ImagePositionPatient[2]))
    for k, ds in enumerate(by_z):
        expected = np.frombuffer(ds.PixelData, dtype="<i2").reshape(ds.Rows, ds.Columns) * float(ds.RescaleSlope)
        assert np.allclose(cached.data[k], expected, rtol=1e-6)
    # The affine maps voxel indices to patient millimetres.
    first = by_z[0]
    assert cached.to_patient(0, 0, 0) == pytest.approx([float(v) for v in first.ImagePositionPatient])
    assert cached.voxel_ml == pytest.approx(phantom.voxel_mm**3 / 1000)


def test_new_instances_give_a_new_volume(actors, patient, tmp_path, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    datasets = synthetic.pet_series(tracer="F18_FDG", patient=like(patient), seed=9, n_slices=6, rows=16, cols=16)
    study = ingest_datasets(actors.coordinator_a, patient, datasets[:3], tmp_path / "a", django_capture_on_commit_callbacks)
    series = study.series.get()
    assert volume.series_volume(series).data.shape == (3, 16, 16)
    ingest_datasets(actors.coordinator_a, patient, datasets[3:], tmp_path / "b", django_capture_on_commit_callbacks)
    series.refresh_from_db()
    assert volume.series_volume(series).data.shape == (6, 16, 16)
    assert series.pipeline_state == "done" and Preview.objects.filter(series=series, kind="coronal_mip").get().height > 0


def test_spect_previews_in_counts(actors, patient, tmp_path, django_capture_on_commit_callbacks, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    nm, ct = synthetic.spect_ct_study(patient=like(patient), seed=2, n_slices=8, rows=16, cols=16, ct_rows=16, ct_cols=16)
    study = ingest_datasets(actors.coordinator_a, patient, [*nm, *ct], tmp_path / "s", django_capture_on_commit_callbacks)
    pipeline_done(study)
    nm_series = study.series.get(modality="NM")
    previews = Preview.objects.filter(series=nm_series)
    assert {p.units for p in previews} == {"counts"} and previews.filter(kind="coronal_mip").count() == 1
    assert not SuvResult.objects.filter(series=nm_series).exists()
    # Only PET volumes are kept (SPECT and CT are read once, by the preview step).
    monkeypatch.setattr(volume, "_save", lambda *args: pytest.fail("a SPECT/CT volume was cached"))
    for series in study.series.all():
        volume.series_volume(series)
    frames = pydicom.dcmread(volume.io.BytesIO(volume.open_bytes(nm_series.instances.get().storage_key))).pixel_array
    assert volume.series_volume(nm_series).data.shape == frames.shape


def test_preview_api_serves_the_png_in_scope_only(phantom_study, actors) -> None:  # type: ignore[no-untyped-def]
    _, study = phantom_study
    series = study.series.get()
    client = api_client(actors.monitor_a)
    listed = client.get("/api/v1/imaging/previews/", {"series": series.pk, "kind": "coronal_mip"}).json()["results"]
    assert len(listed) == 1 and listed[0]["image"].endswith(f"/api/v1/imaging/previews/{listed[0]['id']}/image/")
    response = client.get(f"/api/v1/imaging/previews/{listed[0]['id']}/image/")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(response.content)).size == (listed[0]["width"], listed[0]["height"])
    assert api_client(actors.coordinator_b).get(f"/api/v1/imaging/previews/{listed[0]['id']}/image/").status_code == 404
