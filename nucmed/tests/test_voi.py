import math

import numpy as np
import pytest

from nucmed.voi import (
    PEAK_SPHERE_RADIUS_MM,
    PeakMethod,
    Threshold,
    auc_csh,
    box_mask,
    hottest_sphere,
    liver_image_quality,
    sphere_mask,
    voi_statistics,
    voxel_volume_ml,
)

SHAPE = (40, 60, 64)  # [k, j, i]
# i (column) along x every 2 mm, j (row) along y every 2.5 mm, k (slice) along z every 3 mm
AFFINE = np.array([[2.0, 0, 0, -64.0], [0, 2.5, 0, -75.0], [0, 0, 3.0, -60.0], [0, 0, 0, 1]])
VOXEL_ML = 2.0 * 2.5 * 3.0 / 1000
CENTRE = np.array([0.0, 0.0, 0.0])  # patient mm: voxel (i, j, k) = (32, 30, 20) exactly


def centres_mm() -> np.ndarray:
    """Brute force, independent of nucmed: the mm coordinates of every voxel centre, shape SHAPE + (3,)."""
    k, j, i = np.indices(SHAPE)
    return np.stack([-64.0 + 2.0 * i, -75.0 + 2.5 * j, -60.0 + 3.0 * k], axis=-1)


def distance_mm(point: np.ndarray) -> np.ndarray:
    return np.linalg.norm(centres_mm() - point, axis=-1)


def phantom(lesion_suv: float = 10.0, background: float = 1.0, radius: float = 15.0) -> np.ndarray:
    volume = np.full(SHAPE, background)
    volume[distance_mm(CENTRE) <= radius] = lesion_suv
    return volume


def test_voxel_volume() -> None:
    assert voxel_volume_ml(AFFINE) == pytest.approx(VOXEL_ML)


def test_sphere_mask_matches_brute_force_and_geometry() -> None:
    mask = sphere_mask(SHAPE, AFFINE, CENTRE, 15.0)
    assert np.array_equal(mask, distance_mm(CENTRE) <= 15.0)
    expected_ml = 4 / 3 * math.pi * 1.5**3  # 14.14 ml
    assert mask.sum() * VOXEL_ML == pytest.approx(expected_ml, rel=0.05)
    # off-centre and partly outside the image: clipped, still equal to brute force
    edge = np.array([-60.0, 70.0, 55.0])
    assert np.array_equal(sphere_mask(SHAPE, AFFINE, edge, 12.0), distance_mm(edge) <= 12.0)
    assert not sphere_mask(SHAPE, AFFINE, [500, 500, 500], 10.0).any()


def test_box_mask() -> None:
    mask = box_mask(SHAPE, AFFINE, [10, 5, 9], [-10, -5, -9])  # corners in any order
    # x -10..10 every 2 mm: 11 columns; y -5..5 every 2.5: 5 rows; z -9..9 every 3: 7 slices
    assert mask.sum() == 11 * 5 * 7
    assert mask[20, 30, 32] and not mask[20, 30, 38]


def test_sphere_of_known_suv_in_uniform_background() -> None:
    volume = phantom()
    volume[20, 30, 32] = 12.0  # a hot centre voxel makes the maximum unique
    lesion = distance_mm(CENTRE) <= 15.0
    voi = sphere_mask(SHAPE, AFFINE, CENTRE, 25.0)
    stats = voi_statistics(volume, voi, VOXEL_ML, affine=AFFINE, threshold=Threshold.PERCENT_41)

    assert stats.n_voxels == int(voi.sum()) and stats.volume_ml == pytest.approx(voi.sum() * VOXEL_ML)
    assert stats.suv_max == 12.0 and stats.suv_max_index == (20, 30, 32)
    inside = volume[voi]
    assert stats.suv_mean == pytest.approx(inside.mean()) and stats.suv_sd == pytest.approx(inside.std(ddof=1))
    # thresholded at 41 % of 12 = 4.92: exactly the lesion voxels
    assert stats.threshold_suv == pytest.approx(4.92) and stats.mtv_n_voxels == int(lesion.sum())
    assert stats.mtv_ml == pytest.approx(4 / 3 * math.pi * 1.5**3, rel=0.05)
    expected_mean = (12.0 + 10.0 * (lesion.sum() - 1)) / lesion.sum()
    assert stats.mtv_suv_mean == pytest.approx(expected_mean)
    assert stats.tlg == pytest.approx(stats.mtv_ml * expected_mean)
    # SUVpeak: mean over the 1 cm³ sphere around the hot voxel, all inside the lesion
    in_peak = distance_mm(CENTRE) <= PEAK_SPHERE_RADIUS_MM
    assert stats.suv_peak_n_voxels == int(in_peak.sum())
    assert stats.suv_peak == pytest.approx((12.0 + 10.0 * (in_peak.sum() - 1)) / in_peak.sum())
    assert stats.heterogeneity_region == "threshold"


def test_absolute_threshold_and_no_threshold() -> None:
    volume = phantom()
    voi = sphere_mask(SHAPE, AFFINE, CENTRE, 25.0)
    lesion = distance_mm(CENTRE) <= 15.0
    absolute = voi_statistics(volume, voi, VOXEL_ML, threshold="suv2.5")
    assert absolute.mtv_n_voxels == int(lesion.sum()) and absolute.tlg == pytest.approx(absolute.mtv_ml * 10.0)
    assert absolute.cov == pytest.approx(0.0) and absolute.auc_csh == pytest.approx(1.0)  # uniform tumour
    assert absolute.suv_peak is None  # no affine given
    plain = voi_statistics(volume, voi, VOXEL_ML, threshold=None)
    assert plain.mtv_ml is None and plain.tlg is None and plain.heterogeneity_region == "voi"
    assert plain.cov == pytest.approx(volume[voi].std(ddof=1) / volume[voi].mean())
    nothing_hot = voi_statistics(np.ones(SHAPE), voi, VOXEL_ML, threshold="suv2.5")
    assert nothing_hot.mtv_ml == 0 and nothing_hot.tlg == 0 and nothing_hot.cov is None and nothing_hot.auc_csh is None


def test_auc_csh_against_the_histogram_definition() -> None:
    rng = np.random.default_rng(7)
    values = rng.gamma(4.0, 2.0, size=2000)
    # the definition: fraction of voxels with SUV >= x SUVmax for x in [0, 1], integrated numerically
    xs = np.linspace(0.0, 1.0, 20001)
    curve = [(values >= x * values.max()).mean() for x in xs]
    assert auc_csh(values) == pytest.approx(np.trapezoid(curve, xs), abs=1e-3)
    assert 0 < auc_csh(values) < 1
    halves = np.array([10.0] * 50 + [5.0] * 50)
    assert auc_csh(halves) == pytest.approx(0.75)
    assert auc_csh(np.array([])) is None


def test_liver_image_quality() -> None:
    rng = np.random.default_rng(11)
    volume = rng.normal(2.0, 0.2, size=SHAPE)
    quality = liver_image_quality(volume, AFFINE, [10.0, -10.0, 6.0])
    inside = volume[distance_mm(np.array([10.0, -10.0, 6.0])) <= 15.0]
    assert quality.n_voxels == inside.size and quality.radius_mm == 15.0
    assert quality.snr == pytest.approx(inside.mean() / inside.std(ddof=1))
    assert quality.cov == pytest.approx(inside.std(ddof=1) / inside.mean())
    assert quality.snr == pytest.approx(10.0, rel=0.15)


def test_bad_input() -> None:
    voi = sphere_mask(SHAPE, AFFINE, CENTRE, 10.0)
    with pytest.raises(ValueError, match="no voxel"):
        voi_statistics(np.ones(SHAPE), np.zeros(SHAPE, dtype=bool), VOXEL_ML)
    with pytest.raises(ValueError, match="same shape"):
        voi_statistics(np.ones((2, 2, 2)), voi, VOXEL_ML)
    with pytest.raises(ValueError, match="radius"):
        sphere_mask(SHAPE, AFFINE, CENTRE, 0)
    with pytest.raises(ValueError, match="affine"):
        sphere_mask(SHAPE, np.zeros((4, 4)), CENTRE, 5)
    with pytest.raises(ValueError):
        voi_statistics(np.ones(SHAPE), voi, VOXEL_ML, threshold="50pct")


def _brute_force_peak(volume: np.ndarray, voi: np.ndarray, affine: np.ndarray) -> float:
    """Independent of hottest_sphere: one sphere_mask per VOI voxel centre, the best mean kept."""
    best = -math.inf
    for k, j, i in np.argwhere(voi):
        centre = (affine @ np.array([i, j, k, 1.0]))[:3]
        best = max(best, float(volume[sphere_mask(volume.shape, affine, centre, PEAK_SPHERE_RADIUS_MM)].mean()))
    return best


def test_percist_suvpeak_is_the_hottest_sphere_not_the_one_on_the_maximum_voxel() -> None:
    """PERCIST 1.0 (Wahl et al., J Nucl Med 2009;50 Suppl 1:122S-150S): SUVpeak is the mean of a 1 cm³ spherical VOI
    (1.2 cm diameter) placed on the hottest part of the tumour; Lodge, Chaudhry & Wahl (J Nucl Med 2012;53:1041):
    "positioned so as to maximize the enclosed average". It need not contain the maximum voxel.

    Lesion VOI (a box) holding a uniform SUV 10 region (radius 12 mm) and, 30 mm away, one noisy voxel of SUV 20 in
    SUV 3 tissue. SUVmax is the noisy voxel; a sphere centred there averages about 3.6; the hottest sphere lies wholly
    in the SUV 10 region: SUVpeak = 10 exactly. The old method stays available as the "centred_on_max" variant.
    """
    volume = np.full(SHAPE, 3.0)
    hot_centre = np.array([-14.0, 0.0, 0.0])
    volume[distance_mm(hot_centre) <= 12.0] = 10.0
    volume[20, 30, 40] = 20.0  # x = -64 + 2 x 40 = 16 mm: 30 mm from the hot region's centre
    voi = box_mask(SHAPE, AFFINE, [-30, -15, -15], [25, 15, 15])
    percist = voi_statistics(volume, voi, VOXEL_ML, affine=AFFINE)
    assert percist.suv_max == 20.0 and percist.suv_max_index == (20, 30, 40)
    assert percist.suv_peak_method == "percist" and percist.suv_peak == pytest.approx(10.0)
    assert percist.suv_peak_centre_index != percist.suv_max_index
    assert np.linalg.norm(AFFINE[:3, :3] @ np.array(percist.suv_peak_centre_index[::-1]) + AFFINE[:3, 3] - hot_centre) <= 12.0
    old = voi_statistics(volume, voi, VOXEL_ML, affine=AFFINE, peak_method=PeakMethod.CENTRED_ON_MAX)
    in_peak = distance_mm(centres_mm()[20, 30, 40]) <= PEAK_SPHERE_RADIUS_MM
    assert old.suv_peak_method == "centred_on_max" and old.suv_peak_centre_index == (20, 30, 40)
    assert old.suv_peak == pytest.approx((20.0 + 3.0 * (in_peak.sum() - 1)) / in_peak.sum())
    assert old.suv_peak < 4.0 < percist.suv_peak


def test_hottest_sphere_matches_brute_force_on_an_oblique_grid() -> None:
    """The lattice offsets equal one sphere_mask per centre, also for a sheared (gantry-tilted) affine and at the image edge."""
    rng = np.random.default_rng(7)
    shape = (12, 14, 16)
    affine = np.array([[2.0, 0.3, 0, -10.0], [0, 2.5, 0.8, -12.0], [0.2, 0, 3.0, 5.0], [0, 0, 0, 1]])
    volume = rng.gamma(2.0, 2.0, size=shape)
    voi = np.zeros(shape, dtype=bool)
    voi[:4, 5:11, 9:16] = True  # touches the image's first slice and last column
    peak, n_voxels, centre = hottest_sphere(volume, voi, affine)
    assert peak == pytest.approx(_brute_force_peak(volume, voi, affine))
    centre_mm = (affine @ np.array([centre[2], centre[1], centre[0], 1.0]))[:3]
    assert n_voxels == int(sphere_mask(shape, affine, centre_mm, PEAK_SPHERE_RADIUS_MM).sum())
