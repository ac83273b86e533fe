"""nucmed.image_similarity against numpy computations of the published definitions and scikit-image's own functions."""
import math

import numpy as np
import pytest
from skimage.metrics import structural_similarity

from nucmed import image_similarity as sim
from nucmed import voi

AFFINE = np.diag([2.0, 2.0, 2.0, 1.0])  # 2 mm voxels


def _phantom(shape: tuple[int, int, int] = (24, 32, 32)) -> np.ndarray:
    """A body ellipse (SUV 1) with a hot sphere (SUV 8) and air (0) around it."""
    k, j, i = np.indices(shape)
    body = ((j - 16) / 13.0) ** 2 + ((i - 16) / 14.0) ** 2 <= 1.0
    img = np.where(body, 1.0, 0.0)
    img[(k - 12) ** 2 + (j - 16) ** 2 + (i - 12) ** 2 <= 9] = 8.0
    return img


def test_body_mask_fills_cold_holes_and_leaves_air_out() -> None:
    img = _phantom()
    img[10:14, 14:18, 20:24] = 0.0  # a cold region inside the body
    mask = sim.body_mask(img)
    assert mask[12, 16, 22]  # the hole is in
    assert not mask[12, 0, 0]  # air is out
    assert mask.sum() == (_phantom() > 0).sum()


def test_nrmse_and_psnr_equal_numpy_definitions_inside_the_mask() -> None:
    rng = np.random.default_rng(3)
    ref = _phantom()
    test = ref + rng.normal(0, 0.2, ref.shape)
    mask = ref > 0
    r, t = ref[mask], test[mask]
    got = sim.image_similarity(ref, test, mask)
    assert got.nrmse == pytest.approx(np.sqrt(np.mean((t - r) ** 2)) / np.sqrt(np.mean(r**2)), rel=1e-12)
    data_range = r.max() - r.min()
    assert got.data_range == pytest.approx(7.0)
    assert got.psnr_db == pytest.approx(10 * np.log10(data_range**2 / np.mean((t - r) ** 2)), rel=1e-12)
    assert got.n_voxels == mask.sum()
    # The noise outside the mask does not count.
    noisy_air = test.copy()
    noisy_air[~mask] += 5.0
    assert sim.image_similarity(ref, noisy_air, mask).nrmse == pytest.approx(got.nrmse, rel=1e-12)


def test_ssim_with_a_full_mask_is_scikit_images_mean_ssim() -> None:
    rng = np.random.default_rng(7)
    ref = _phantom() + 0.1
    test = ref + rng.normal(0, 0.3, ref.shape)
    full = np.ones(ref.shape, dtype=bool)
    expected = structural_similarity(ref, test, win_size=7, data_range=float(ref.max() - ref.min()))
    assert sim.image_similarity(ref, test, full).ssim == pytest.approx(expected, rel=1e-12)


def test_identical_images_give_ssim_one_nrmse_zero_and_no_psnr() -> None:
    ref = _phantom()
    got = sim.image_similarity(ref, ref.copy())
    assert got.ssim == pytest.approx(1.0, abs=1e-12)
    assert got.nrmse == 0.0
    assert got.psnr_db is None


def test_more_noise_is_worse_on_every_metric() -> None:
    rng = np.random.default_rng(11)
    ref = _phantom()
    low = sim.image_similarity(ref, ref + rng.normal(0, 0.1, ref.shape))
    high = sim.image_similarity(ref, ref + rng.normal(0, 0.5, ref.shape))
    assert high.nrmse > low.nrmse and high.psnr_db < low.psnr_db and high.ssim < low.ssim


def test_voi_bias_is_exact_on_a_known_sphere() -> None:
    ref = _phantom()
    test = ref.copy()
    sphere = ref == 8.0
    test[sphere] = 9.0  # the sphere 12.5 % hotter
    mask = voi.sphere_mask(ref.shape, AFFINE, (24.0, 32.0, 24.0), 8.0)  # centre i=12, j=16, k=12 in mm
    got = sim.voi_bias(ref, test, mask, AFFINE, label="sphere")
    assert got.reference["suv_max"] == 8.0 and got.test["suv_max"] == 9.0
    assert got.bias_percent["suv_max"] == pytest.approx(12.5)
    ref_mean, test_mean = ref[mask].mean(), test[mask].mean()
    assert got.bias_percent["suv_mean"] == pytest.approx(100 * (test_mean - ref_mean) / ref_mean)
    assert got.bias_percent["suv_peak"] is not None and got.bias_percent["suv_peak"] > 0
    same = sim.voi_bias(ref, ref.copy(), mask, AFFINE)
    assert all(v == 0.0 for v in same.bias_percent.values())


def test_liver_noise_is_mean_over_sample_sd() -> None:
    rng = np.random.default_rng(5)
    ref = np.full((20, 20, 20), 2.0) + rng.normal(0, 0.1, (20, 20, 20))
    test = np.full((20, 20, 20), 2.0) + rng.normal(0, 0.4, (20, 20, 20))
    centre = (20.0, 20.0, 20.0)
    got = sim.liver_noise(ref, test, AFFINE, centre, radius_mm=10.0)
    values = test[voi.sphere_mask(test.shape, AFFINE, centre, 10.0)]
    assert got.test_snr == pytest.approx(values.mean() / values.std(ddof=1))
    assert got.test_cv == pytest.approx(values.std(ddof=1) / values.mean())
    assert got.reference_snr > got.test_snr


def test_bland_altman_is_mean_difference_and_196_sd() -> None:
    ref = [4.0, 6.0, 8.0, 10.0, 12.0]
    test = [4.4, 5.7, 8.9, 10.2, 12.6]
    d = np.array(test) - np.array(ref)
    got = sim.bland_altman(ref, test)
    assert got.bias == pytest.approx(d.mean())
    assert got.sd == pytest.approx(d.std(ddof=1))
    assert got.lower_loa == pytest.approx(d.mean() - 1.96 * d.std(ddof=1))
    assert got.upper_loa == pytest.approx(d.mean() + 1.96 * d.std(ddof=1))
    one = sim.bland_altman([1.0], [1.5])
    assert one.bias == 0.5 and one.lower_loa is None and one.not_computable_reason


def test_bias_percent_and_refusals() -> None:
    assert sim.bias_percent(10.0, 9.0) == pytest.approx(-10.0)
    assert sim.bias_percent(0.0, 1.0) is None and sim.bias_percent(None, 1.0) is None
    with pytest.raises(ValueError, match="one shape"):
        sim.image_similarity(np.zeros((8, 8, 8)), np.zeros((8, 8, 9)))
    with pytest.raises(ValueError, match="no voxel"):
        sim.image_similarity(_phantom(), _phantom(), np.zeros((24, 32, 32), dtype=bool))
    with pytest.raises(ValueError, match="unequal"):
        sim.bland_altman([1.0], [1.0, 2.0])
    assert sim.finite_or_none(math.inf) is None and sim.finite_or_none(1.5) == 1.5
