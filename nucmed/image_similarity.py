"""How close a test PET image is to its reference (low-dose, short-scan or enhanced vs standard; issue 18).

Both volumes are on one grid ([k, j, i], the same shape; resampling is the caller's) and in SUV.

- body mask: the reference above a fraction (default 5 %) of its 99.9th percentile, holes filled in each axial slice
  (scipy.ndimage.binary_fill_holes), so cold organs inside the body stay in;
- NRMSE = ||test - ref||_2 / ||ref||_2 over the mask's voxels (scikit-image normalized_root_mse, "euclidean");
- PSNR = 10 log10(R^2 / MSE) over the mask's voxels, R the reference's range inside the mask
  (scikit-image peak_signal_noise_ratio with data_range=R);
- SSIM: Wang Z, Bovik AC, Sheikh HR, Simoncelli EP, IEEE Trans Image Process 2004;13(4):600-612, the 3-D SSIM map of
  scikit-image structural_similarity (7-voxel uniform window, K1 0.01, K2 0.03, data_range R) averaged over the mask's
  voxels at least half a window from the volume's edge (scikit-image's own mean crops that border too, so with a full
  mask the two are the same number);
- SUVmax, SUVmean and SUVpeak bias per VOI: 100 x (test - ref) / ref, per cent, with the statistics of nucmed.voi
  (SUVpeak: PERCIST hottest 1 cm3 sphere);
- liver SNR = SUVmean / SD and CV = SD / SUVmean in the liver VOI (nucmed.voi.liver_image_quality's definitions);
- Bland-Altman agreement of paired measurements: bias = mean of the differences, 95 % limits of agreement
  bias +/- 1.96 SD (sample SD). Bland JM, Altman DG. Statistical methods for assessing agreement between two methods
  of clinical measurement. Lancet 1986;1(8476):307-310.

Pure numpy/scipy/scikit-image; raises ValueError on malformed input (shapes differ, an empty mask, a zero reference).
"""
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage.metrics import normalized_root_mse, peak_signal_noise_ratio, structural_similarity

from nucmed import voi

METHOD_VERSION = "lowdose/nbnm-2026.1"
SSIM_WINDOW = 7
BODY_FRACTION = 0.05
LOA_Z = 1.96


def _pair(reference: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ref, tst = np.asarray(reference, dtype=float), np.asarray(test, dtype=float)
    if ref.ndim != 3 or ref.shape != tst.shape:
        raise ValueError(f"reference and test must be 3-D arrays of one shape, got {ref.shape} and {tst.shape}")
    if not (np.isfinite(ref).all() and np.isfinite(tst).all()):
        raise ValueError("the images contain non-finite values")
    return ref, tst


def body_mask(reference: np.ndarray, fraction: float = BODY_FRACTION) -> np.ndarray:
    """The voxels of the body: reference > fraction x its 99.9th percentile, holes filled in each axial slice.

    (A 3-D fill after it changed nothing on the phantoms and cost as much again: bench/lowdose.py.)"""
    ref = np.asarray(reference, dtype=float)
    if ref.ndim != 3:
        raise ValueError(f"the reference must be 3-D, got {ref.ndim} dimensions")
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be in (0, 1), got {fraction!r}")
    cut = fraction * float(np.percentile(ref, 99.9))
    mask = ref > cut
    for k in range(mask.shape[0]):
        mask[k] = ndimage.binary_fill_holes(mask[k])
    return mask


@dataclass(frozen=True)
class Similarity:
    n_voxels: int
    data_range: float
    nrmse: float
    psnr_db: float | None  # None when the images are identical inside the mask (MSE 0: PSNR is infinite)
    ssim: float
    method_version: str = METHOD_VERSION


def image_similarity(reference: np.ndarray, test: np.ndarray, mask: np.ndarray | None = None) -> Similarity:
    """NRMSE, PSNR and SSIM of `test` against `reference` inside `mask` (default: body_mask(reference))."""
    ref, tst = _pair(reference, test)
    selection = body_mask(ref) if mask is None else np.asarray(mask, dtype=bool)
    if selection.shape != ref.shape:
        raise ValueError(f"the mask's shape {selection.shape} is not the images' {ref.shape}")
    if min(ref.shape) < SSIM_WINDOW:
        raise ValueError(f"SSIM needs at least {SSIM_WINDOW} voxels along every axis, got {ref.shape}")
    r, t = ref[selection], tst[selection]
    if r.size == 0:
        raise ValueError("the mask contains no voxel")
    if not np.any(r):
        raise ValueError("the reference is zero inside the mask")
    data_range = float(r.max() - r.min())
    if data_range <= 0:
        raise ValueError("the reference is constant inside the mask (no range for PSNR and SSIM)")
    nrmse = float(normalized_root_mse(r, t, normalization="euclidean"))
    mse = float(np.mean((r - t) ** 2))
    psnr = float(peak_signal_noise_ratio(r, t, data_range=data_range)) if mse > 0 else None
    _, ssim_map = structural_similarity(ref, tst, win_size=SSIM_WINDOW, data_range=data_range, full=True)
    pad = (SSIM_WINDOW - 1) // 2
    interior = np.zeros_like(selection)
    interior[pad:-pad, pad:-pad, pad:-pad] = True
    inside = selection & interior
    if not inside.any():
        raise ValueError("the mask has no voxel half a window away from the volume's edge")
    return Similarity(n_voxels=int(r.size), data_range=data_range, nrmse=nrmse, psnr_db=psnr, ssim=float(ssim_map[inside].mean()))


def bias_percent(reference: float | None, test: float | None) -> float | None:
    """100 x (test - reference) / reference; None when either is missing or the reference is not positive."""
    if reference is None or test is None or not reference > 0:
        return None
    return 100.0 * (test - reference) / reference


@dataclass(frozen=True)
class VoiBias:
    label: str
    reference: dict[str, float | None]  # suv_max, suv_mean, suv_peak of the reference
    test: dict[str, float | None]
    bias_percent: dict[str, float | None]  # the same keys
    method_version: str = METHOD_VERSION


SUV_KEYS = ("suv_max", "suv_mean", "suv_peak")


def voi_bias(reference: np.ndarray, test: np.ndarray, mask: np.ndarray, affine: np.ndarray, *, label: str = "") -> VoiBias:
    """SUVmax, SUVmean and SUVpeak of one VOI in both images, and their per cent bias (test against reference)."""
    ref, tst = _pair(reference, test)
    ml = voi.voxel_volume_ml(affine)
    a = voi.voi_statistics(ref, mask, ml, affine=affine, threshold=None)
    b = voi.voi_statistics(tst, mask, ml, affine=affine, threshold=None)
    ra = {k: getattr(a, k) for k in SUV_KEYS}
    rb = {k: getattr(b, k) for k in SUV_KEYS}
    return VoiBias(label=label, reference=ra, test=rb, bias_percent={k: bias_percent(ra[k], rb[k]) for k in SUV_KEYS})


@dataclass(frozen=True)
class LiverNoise:
    reference_snr: float | None
    test_snr: float | None
    reference_cv: float | None
    test_cv: float | None
    n_voxels: int


def liver_noise(reference: np.ndarray, test: np.ndarray, affine: np.ndarray, centre_mm: Sequence[float],
                radius_mm: float = voi.LIVER_SPHERE_RADIUS_MM) -> LiverNoise:
    """Liver SNR (SUVmean/SD) and CV (SD/SUVmean) of both images in one spherical liver VOI."""
    ref, tst = _pair(reference, test)
    a = voi.liver_image_quality(ref, affine, centre_mm, radius_mm)
    b = voi.liver_image_quality(tst, affine, centre_mm, radius_mm)
    return LiverNoise(reference_snr=a.snr, test_snr=b.snr, reference_cv=a.cov, test_cv=b.cov, n_voxels=a.n_voxels)


@dataclass(frozen=True)
class BlandAltman:
    n: int
    bias: float | None  # mean of (test - reference)
    sd: float | None  # sample SD of the differences
    lower_loa: float | None  # bias - 1.96 SD
    upper_loa: float | None  # bias + 1.96 SD
    not_computable_reason: str | None


def bland_altman(reference: Sequence[float], test: Sequence[float]) -> BlandAltman:
    """Bias and 95 % limits of agreement of paired measurements (Bland & Altman, Lancet 1986;1(8476):307-310).

    Differences are test - reference. Needs two pairs for the SD; one pair gives the bias alone.
    """
    if len(reference) != len(test):
        raise ValueError(f"unequal numbers of measurements ({len(reference)} and {len(test)})")
    a, b = np.asarray(reference, dtype=float), np.asarray(test, dtype=float)
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("the measurements contain non-finite values")
    n = int(a.size)
    if n == 0:
        return BlandAltman(0, None, None, None, None, "no pairs")
    d = b - a
    bias = float(d.mean())
    if n < 2:
        return BlandAltman(n, bias, None, None, None, "one pair: no SD, so no limits of agreement")
    sd = float(d.std(ddof=1))
    return BlandAltman(n, bias, sd, bias - LOA_Z * sd, bias + LOA_Z * sd, None)


def finite_or_none(value: float | None) -> float | None:
    """JSON-safe: NaN and infinities become None."""
    return value if value is not None and math.isfinite(value) else None
