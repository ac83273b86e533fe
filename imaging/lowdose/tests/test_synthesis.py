"""The low-count synthesis (imaging.lowdose.synthesis) on flat phantoms with a fixed seed: the mean is kept within its
Poisson error, the variance grows as 1/f, less activity lowers the concentration by f (so the SUV stays), and the
DICOM copies carry the scaled activity or frame time in a new series of the same study and frame of reference."""
from datetime import date

import numpy as np
import pytest

from imaging import synthetic
from imaging.lowdose import synthesis

SHAPE = (40, 64, 64)  # 163,840 voxels


def _measured_flat(counts: float, rng: np.random.Generator) -> np.ndarray:
    """A flat phantom as a scanner measures it: Poisson counts of mean `counts` in each voxel."""
    return rng.poisson(counts, SHAPE).astype(np.float64)


@pytest.mark.parametrize("fraction", [1 / 6, 1 / 2])
def test_time_thinning_keeps_the_mean_and_variance_grows_as_one_over_f(fraction: float) -> None:
    rng = np.random.default_rng(20261206)
    counts, sensitivity, frame_s = 100.0, 0.5, 120.0
    activity = _measured_flat(counts, rng) / (sensitivity * frame_s)  # Bq/ml whose counts are Poisson(100)
    a = counts / (sensitivity * frame_s)
    low = synthesis.low_count(activity, sensitivity=sensitivity, frame_s=frame_s, rng=rng, time_fraction=fraction)
    n = low.size
    # Poisson counts of mean f*N, scaled back by 1/(s*f*t): mean a, variance a / (s*f*t) = a^2 / (f*N).
    expected_var = a * a / (fraction * counts)
    assert abs(low.mean() - a) < 4 * np.sqrt(expected_var / n)  # within 4 standard errors of the mean
    assert low.var() == pytest.approx(expected_var, rel=0.03)
    assert activity.var() == pytest.approx(a * a / counts, rel=0.03)  # the input's own Poisson variance


def test_variance_ratio_between_two_fractions_is_their_inverse_ratio() -> None:
    rng = np.random.default_rng(7)
    activity = _measured_flat(60.0, rng)
    sixth = synthesis.low_count(activity, sensitivity=1.0, frame_s=1.0, rng=np.random.default_rng(1), time_fraction=1 / 6)
    half = synthesis.low_count(activity, sensitivity=1.0, frame_s=1.0, rng=np.random.default_rng(1), time_fraction=1 / 2)
    assert sixth.var() / half.var() == pytest.approx(3.0, rel=0.04)
    # The same seed gives the same image; another seed another one.
    again = synthesis.low_count(activity, sensitivity=1.0, frame_s=1.0, rng=np.random.default_rng(1), time_fraction=1 / 6)
    assert np.array_equal(sixth, again)
    other = synthesis.low_count(activity, sensitivity=1.0, frame_s=1.0, rng=np.random.default_rng(2), time_fraction=1 / 6)
    assert not np.array_equal(sixth, other)


def test_less_activity_lowers_the_concentration_by_f_with_the_same_noise_as_less_time() -> None:
    rng = np.random.default_rng(3)
    counts, sensitivity, frame_s, f = 90.0, 2.0, 60.0, 1 / 6
    activity = _measured_flat(counts, rng) / (sensitivity * frame_s)
    a = counts / (sensitivity * frame_s)
    low = synthesis.low_count(activity, sensitivity=sensitivity, frame_s=frame_s, rng=rng, activity_fraction=f)
    assert abs(low.mean() / f - a) < 4 * np.sqrt(a * a / (f * counts) / low.size)
    # Divided by f (what the SUV does, the injected activity being f times smaller): the variance of the short scan.
    assert (low / f).var() == pytest.approx(a * a / (f * counts), rel=0.03)


def test_a_noise_free_image_thinned_has_the_binomial_variance() -> None:
    """No noise in: the thinned counts are Binomial(N, f), variance N f (1 - f) before scaling."""
    flat = np.full(SHAPE, 50.0)
    low = synthesis.low_count(flat, sensitivity=1.0, frame_s=1.0, rng=np.random.default_rng(4), time_fraction=0.25)
    assert low.mean() == pytest.approx(50.0, abs=4 * np.sqrt(50 * 0.75 / 0.25 / low.size))
    assert low.var() == pytest.approx(50 * 0.25 * 0.75 / 0.25**2, rel=0.03)


def test_fractions_and_sensitivity() -> None:
    assert synthesis.short_scan_fraction(frame_s_per_bed=120, beds=8) == pytest.approx(180 / 960)
    assert synthesis.short_scan_fraction(frame_s_per_bed=120, beds=1) == 1.0  # a scan already shorter is not lengthened
    assert synthesis.whole_body_beds(1100.0) == 8 and synthesis.whole_body_beds(100.0) == 1
    image = np.zeros(SHAPE)
    image[10:30, 20:40, 20:40] = 5000.0
    assert synthesis.sensitivity_for(image, frame_s=100.0, counts_at_mean=80.0) == pytest.approx(80.0 / (5000.0 * 100.0))
    with pytest.raises(ValueError):
        synthesis.sensitivity_for(np.zeros(SHAPE), frame_s=100.0)
    with pytest.raises(ValueError):
        synthesis.thin_counts(image, 0.0, np.random.default_rng(0))


def test_low_count_series_is_a_new_series_of_the_same_study_with_scaled_attributes() -> None:
    kid = synthetic.PatientLike(study_id="NB-TEST-1", sex="F", birth_date=date(2020, 1, 1), weight_kg=18.0)
    ctx = synthetic.study_context(patient=kid, seed=5)
    standard = synthetic.pet_series(tracer="F18_FDG", patient=kid, seed=5, study=ctx, n_slices=6, rows=32, cols=32)
    before = [ds.PixelData for ds in standard]
    sixth = synthesis.low_count_series(standard, seed=9, series_number=30, label="1/6 ACTIVITY", activity_fraction=1 / 6)
    short = synthesis.low_count_series(standard, seed=9, series_number=31, label="3 MIN", time_fraction=0.2)
    assert [ds.PixelData for ds in standard] == before  # the source is not changed
    dose = float(standard[0].RadiopharmaceuticalInformationSequence[0].RadionuclideTotalDose)
    for series, activity, frame in ((sixth, dose / 6, 120_000), (short, dose, 24_000)):
        assert len(series) == len(standard)
        assert len({ds.SeriesInstanceUID for ds in series}) == 1 and series[0].SeriesInstanceUID != standard[0].SeriesInstanceUID
        assert len({ds.SOPInstanceUID for ds in series}) == len(series)
        for ds, src in zip(series, standard, strict=True):
            assert ds.StudyInstanceUID == src.StudyInstanceUID and ds.FrameOfReferenceUID == src.FrameOfReferenceUID
            assert ds.ImagePositionPatient == src.ImagePositionPatient
            assert float(ds.RadiopharmaceuticalInformationSequence[0].RadionuclideTotalDose) == pytest.approx(activity, abs=1)
            assert int(ds.ActualFrameDuration) == frame
    # Less activity: lower Bq/ml by about 1/6 in the body; a shorter scan: about the same.
    def body_mean(series) -> float:  # type: ignore[no-untyped-def]
        volume = np.stack([ds.pixel_array * float(ds.RescaleSlope) for ds in series])
        ref = np.stack([ds.pixel_array * float(ds.RescaleSlope) for ds in standard])
        return float(volume[ref > 0.05 * ref.max()].mean())
    standard_mean = body_mean(standard)
    assert body_mean(sixth) == pytest.approx(standard_mean / 6, rel=0.05)
    assert body_mean(short) == pytest.approx(standard_mean, rel=0.05)
    # Same seed, same series; the UIDs too.
    again = synthesis.low_count_series(standard, seed=9, series_number=30, label="1/6 ACTIVITY", activity_fraction=1 / 6)
    assert [ds.SOPInstanceUID for ds in again] == [ds.SOPInstanceUID for ds in sixth]
    assert [ds.PixelData for ds in again] == [ds.PixelData for ds in sixth]
