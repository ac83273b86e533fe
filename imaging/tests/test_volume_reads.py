"""The volume's reads: the fast walk of a slice's elements gives pydicom's values, the stacked rescale is bit for bit
the per-slice one, and the volume cache is written by the first request outside a pipeline run, not by the run."""
import copy
from datetime import date
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

from conftest import Actors
from imaging import synthetic, volume
from imaging.models import Instance, Series
from imaging.tests.analysis_helpers import ingest_datasets, pipeline_done
from imaging.tests.helpers import child, like, sample

CHILD = synthetic.PatientLike(study_id="NB-TEST-0001", sex="F", birth_date=date(2017, 5, 1), weight_kg=24.0, height_cm=121.0)


def _encoded(ds: pydicom.Dataset) -> bytes:
    return synthetic.encode(ds)


def _same(fast: volume._Slice, slow: volume._Slice) -> None:
    assert fast.position.tolist() == slow.position.tolist()
    assert (fast.row_dir.tolist(), fast.col_dir.tolist()) == (slow.row_dir.tolist(), slow.col_dir.tolist())
    assert (fast.frame_spacing, fast.slope, fast.intercept) == (slow.frame_spacing, slow.slope, slow.intercept)
    assert [float(v) for v in fast.pixel_spacing or []] == [float(v) for v in slow.pixel_spacing or []]
    assert (fast.slice_thickness is None) == (slow.slice_thickness is None)
    if fast.slice_thickness is not None:
        assert fast.slice_thickness == float(slow.slice_thickness)
    assert fast.stored.dtype == slow.stored.dtype and np.array_equal(fast.stored, slow.stored)


@pytest.mark.parametrize("make", [
    lambda: synthetic.pet_series(tracer="F18_FDG", patient=CHILD, seed=1, n_slices=3, rows=16, cols=16),
    lambda: synthetic.ct_series(patient=CHILD, seed=1, n_slices=3, rows=16, cols=16),
    lambda: synthetic.pet_series(tracer="F18_FDG", patient=CHILD, seed=2, n_slices=2, rows=8, cols=8,
                                 defects=synthetic.Defects(ge_private=True, philips_private=True, private_phi=True)),
], ids=["pet", "ct", "pet-private-elements"])
def test_the_fast_walk_gives_pydicoms_values(make) -> None:  # type: ignore[no-untyped-def]
    for ds in make():
        data = _encoded(ds)
        fast = volume._fast_slice(data)
        assert fast is not None, "an explicit VR little endian slice is walked without pydicom"
        _same(fast, volume._dataset_slice(data))


def test_files_the_walk_does_not_handle_go_to_pydicom() -> None:
    nm = synthetic.mibg_spect_series(patient=CHILD, seed=1, n_slices=4, rows=8, cols=8)
    assert volume._fast_slice(_encoded(nm[0])) is None  # NM: the geometry is in the detector module
    pet = synthetic.pet_series(tracer="F18_FDG", patient=CHILD, seed=1, n_slices=1, rows=8, cols=8)[0]
    implicit = copy.deepcopy(pet)
    implicit.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    assert volume._fast_slice(_encoded(implicit)) is None
    _same(volume._dataset_slice(_encoded(pet)), volume._dataset_slice(_encoded(implicit)))
    # Unusual encodings of a wanted element: two values where one is expected, an IS frame count that is not an integer.
    two_slopes = copy.deepcopy(pet)
    two_slopes.RescaleSlope = ["1.5", "2"]
    frames = copy.deepcopy(pet)
    frames.NumberOfFrames = "1.0"
    for ds in (two_slopes, frames):
        assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
        assert volume._fast_slice(_encoded(ds)) is None
    assert volume._fast_slice(b"not a DICOM file" * 20) is None
    truncated = _encoded(pet)[:-100]
    assert volume._fast_slice(truncated) is None  # pixel data shorter than Rows x Columns: pydicom's error


@pytest.mark.parametrize("name", ["tcia-acrin-flt-breast-pet-1.dcm", "tcia-acrin-flt-breast-pet-2.dcm",
                                  "cornerstone-ct-multiframe.dcm", "cornerstone-deflated-sc.dcm", "tcia-prostate-mri.dcm"])
def test_real_files_walked_or_left_to_pydicom_give_the_same_slice(name: str) -> None:
    data = Path(sample(name)).read_bytes()
    fast = volume._fast_slice(data)
    try:
        slow = volume._dataset_slice(data)
    except (volume.VolumeError, AttributeError, ValueError):
        assert fast is None  # whatever pydicom refuses, the walk does not accept either
        return
    if fast is not None:
        _same(fast, slow)


def _old_rescale(datasets: list[pydicom.Dataset]) -> np.ndarray:
    """The per-slice code the stacked rescale replaced: cast, multiply unless the slope is 1, add unless 0."""
    slices = []
    for ds in datasets:
        stored = np.frombuffer(ds.PixelData, dtype="<i2").reshape(int(ds.Rows), int(ds.Columns))
        rescaled = stored.astype(np.float32)
        slope, intercept = float(ds.RescaleSlope), float(ds.RescaleIntercept)
        if slope != 1.0:
            rescaled *= np.float32(slope)
        if intercept != 0.0:
            rescaled += np.float32(intercept)
        slices.append((float(ds.ImagePositionPatient[2]), rescaled))
    slices.sort(key=lambda s: s[0])
    return np.stack([s[1] for s in slices])


def test_the_stacked_rescale_is_bit_for_bit_the_per_slice_one(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    datasets = synthetic.pet_series(tracer="F18_FDG", patient=CHILD, seed=3, n_slices=6, rows=8, cols=8)
    # Slopes of 1 and not, a negative slope over zeros (-0.0 must stay -0.0), intercepts on some slices only.
    for ds, slope, intercept in zip(datasets, ["1", "0.25", "-2", "1", "3.3", "0.001"], ["0", "0", "0", "-1024", "0", "7.5"],
                                    strict=True):
        ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
        pixels = np.frombuffer(ds.PixelData, dtype="<i2").copy()
        pixels[:4] = 0
        ds.PixelData = pixels.tobytes()
    files = {f"k{n}": _encoded(ds) for n, ds in enumerate(datasets)}
    monkeypatch.setattr(volume, "open_bytes", files.__getitem__)
    instances = [Instance(pk=n + 1, storage_key=f"k{n}") for n in range(len(datasets))]
    built = volume.build_volume(instances).data
    expected = _old_rescale(datasets)
    assert built.dtype == np.float32 and built.tobytes() == expected.tobytes()
    assert np.signbit(built).any() and (built == 0).any()
    # Every intercept non-zero: one add of the column.
    for ds in datasets:
        ds.RescaleIntercept = "-3"
    files.update({f"k{n}": _encoded(ds) for n, ds in enumerate(datasets)})
    assert volume.build_volume(instances).data.tobytes() == _old_rescale(datasets).tobytes()


@pytest.fixture
def patient(actors: Actors):  # type: ignore[no-untyped-def]
    return child(actors.coordinator_a, actors.hospital_a)


def test_the_volume_cache_is_written_by_the_first_request_after_the_run(eager, actors, patient, tmp_path, settings,  # type: ignore[no-untyped-def]
                                                                        django_capture_on_commit_callbacks, monkeypatch) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    datasets = synthetic.pet_series(tracer="F18_FDG", patient=like(patient), seed=11, n_slices=5, rows=16, cols=16)
    study = ingest_datasets(actors.coordinator_a, patient, datasets, tmp_path / "in", django_capture_on_commit_callbacks)
    pipeline_done(study)
    series = study.series.get()
    folder = Path(settings.MEDIA_ROOT) / "analysis" / "volumes" / series.series_uid
    assert not folder.exists(), "the pipeline run keeps its volume in memory: no cache written"
    first = volume.series_volume(series)  # a VOI request: reads the files and writes the cache
    assert len(list(folder.glob("*.npy"))) == 1

    def no_file_read(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("the cached volume should have been used")

    monkeypatch.setattr(volume, "read_slice", no_file_read)
    cached = volume.series_volume(Series.objects.get(pk=series.pk))
    assert cached.data.tobytes() == first.data.tobytes() and np.array_equal(cached.affine, first.affine)
    assert cached.instance_ids == first.instance_ids
