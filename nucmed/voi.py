"""Volume-of-interest statistics on SUV volumes (reference sections 5 and 6; issue 6 item 3).

Index convention (the same as imaging.volume.Volume): a volume is a numpy array indexed [k, j, i] =
[slice, row, column]; the 4x4 `affine` maps the column vector (i, j, k, 1) to patient coordinates
(x, y, z, 1) in millimetres (DICOM LPS). A voxel is "in" a shape when its CENTRE is.

Measures:
- SUVmean, SD (sample SD, ddof=1), SUVmax over the VOI;
- SUVpeak (PeakMethod): the mean SUV of the image voxels whose centres lie in a 1 cm³ sphere (radius 6.20 mm);
  voxels outside the VOI inside that sphere count too. Two named methods:
  - "percist" (default): the hottest such sphere anywhere within the lesion VOI, i.e. the sphere centre is moved
    over every voxel centre of the VOI and the highest mean is kept; it need not contain the maximum voxel.
    PERCIST 1.0: Wahl RL, Jacene H, Kasamon Y, Lodish MA, J Nucl Med 2009;50(Suppl 1):122S-150S (SUVpeak: a
    1 cm³ spherical VOI, 1.2 cm diameter, on the hottest part of the tumour); the same definition as "a 12-mm
    diameter spheric ROI positioned so as to maximize the enclosed average": Lodge MA, Chaudhry MA, Wahl RL,
    J Nucl Med 2012;53:1041-1047.
  - "centred_on_max": the sphere centred on the VOI's maximum voxel (the platform's method until voi/nbnm-2026.1).
- with a threshold (41 % of the VOI's SUVmax, or SUV >= 2.5) inside the VOI: metabolic tumour volume (MTV),
  total lesion glycolysis TLG = MTV x SUVmean of the thresholded voxels;
- heterogeneity on the tumour region (the thresholded voxels, or the whole VOI without a threshold):
  coefficient of variation SD/mean, and the area under the cumulative SUV-volume histogram (van Velden et al.,
  EJNMMI 2011: fraction of the volume above each threshold from 0 to 100 % of SUVmax, area in [0, 1]; lower
  means more heterogeneous). The continuous area equals mean(clip(SUV, 0, SUVmax) / SUVmax), computed exactly.
- liver image quality: 3 cm (diameter) sphere: SNR = SUVmean/SD and CoV = SD/SUVmean (reference section 6).
"""
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

METHOD_VERSION = "voi/nbnm-2026.2"  # 2026.2: SUVpeak by the PERCIST hottest sphere (2026.1: centred on the maximum)
PEAK_SPHERE_RADIUS_MM = (3.0 / (4.0 * math.pi)) ** (1.0 / 3.0) * 10.0  # 1 cm³ sphere: 6.2035 mm
LIVER_SPHERE_RADIUS_MM = 15.0  # 3 cm diameter


class PeakMethod(StrEnum):
    """Values stored with a VOI measurement (details["suv_peak_method"])."""

    PERCIST = "percist"  # hottest 1 cm³ sphere centred anywhere within the VOI (Wahl 2009)
    CENTRED_ON_MAX = "centred_on_max"  # 1 cm³ sphere centred on the VOI's maximum voxel


class Threshold(StrEnum):
    """Values match imaging.models.VoiMeasurement.Threshold."""

    PERCENT_41 = "41pct"  # 41 % of the VOI's SUVmax
    SUV_2_5 = "suv2.5"  # absolute SUV >= 2.5


def _check_affine(affine: np.ndarray) -> np.ndarray:
    matrix = np.asarray(affine, dtype=float)
    if matrix.shape != (4, 4) or abs(np.linalg.det(matrix[:3, :3])) == 0:
        raise ValueError("affine must be an invertible 4x4 voxel -> patient-mm matrix")
    return matrix


def voxel_volume_ml(affine: np.ndarray) -> float:
    """Volume of one voxel (ml = cm³) from the affine's column spacings."""
    return abs(float(np.linalg.det(_check_affine(affine)[:3, :3]))) / 1000.0


def _index_block(shape: Sequence[int], affine: np.ndarray, low_mm: np.ndarray, high_mm: np.ndarray) -> tuple[slice, slice, slice] | None:
    """The [k, j, i] index block that holds every voxel whose centre may lie in the mm box [low, high]."""
    corners = np.array([[x, y, z, 1.0] for x in (low_mm[0], high_mm[0]) for y in (low_mm[1], high_mm[1]) for z in (low_mm[2], high_mm[2])])
    ijk = (np.linalg.inv(affine) @ corners.T)[:3]
    lower = np.maximum(np.floor(ijk.min(axis=1)).astype(int), 0)
    upper = np.minimum(np.ceil(ijk.max(axis=1)).astype(int) + 1, [shape[2], shape[1], shape[0]])
    if np.any(upper <= lower):
        return None
    return slice(lower[2], upper[2]), slice(lower[1], upper[1]), slice(lower[0], upper[0])


def _block_centres_mm(affine: np.ndarray, block: tuple[slice, slice, slice]) -> np.ndarray:
    """Patient mm of the voxel centres of a block, shape (3, nk, nj, ni)."""
    k, j, i = np.meshgrid(np.arange(block[0].start, block[0].stop), np.arange(block[1].start, block[1].stop),
                          np.arange(block[2].start, block[2].stop), indexing="ij")
    return np.tensordot(affine[:3, :3], np.stack([i, j, k]).astype(float), axes=1) + affine[:3, 3, None, None, None]


def sphere_mask(shape: Sequence[int], affine: np.ndarray, centre_mm: Sequence[float], radius_mm: float) -> np.ndarray:
    """Boolean [k, j, i] mask of the voxels whose centres are within `radius_mm` of `centre_mm` (patient mm)."""
    matrix = _check_affine(affine)
    if not (math.isfinite(radius_mm) and radius_mm > 0):
        raise ValueError(f"radius must be a positive number of mm, got {radius_mm!r}")
    centre = np.asarray(centre_mm, dtype=float)
    if centre.shape != (3,) or not np.all(np.isfinite(centre)):
        raise ValueError("centre must be three finite patient coordinates in mm")
    mask = np.zeros(tuple(shape), dtype=bool)
    block = _index_block(shape, matrix, centre - radius_mm, centre + radius_mm)
    if block is not None:
        offsets = _block_centres_mm(matrix, block) - centre[:, None, None, None]
        mask[block] = (offsets**2).sum(axis=0) <= radius_mm**2
    return mask


def box_mask(shape: Sequence[int], affine: np.ndarray, corner_a_mm: Sequence[float], corner_b_mm: Sequence[float]) -> np.ndarray:
    """Boolean [k, j, i] mask of the voxels whose centres lie in the patient-axis-aligned box between two corners (mm)."""
    matrix = _check_affine(affine)
    a, b = np.asarray(corner_a_mm, dtype=float), np.asarray(corner_b_mm, dtype=float)
    if a.shape != (3,) or b.shape != (3,) or not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("box corners must be three finite patient coordinates in mm each")
    low, high = np.minimum(a, b), np.maximum(a, b)
    mask = np.zeros(tuple(shape), dtype=bool)
    block = _index_block(shape, matrix, low, high)
    if block is not None:
        centres = _block_centres_mm(matrix, block)
        tolerance = 1e-6  # voxel centres exactly on a face count as inside despite float rounding
        mask[block] = np.all((centres >= low[:, None, None, None] - tolerance) & (centres <= high[:, None, None, None] + tolerance), axis=0)
    return mask


def _sphere_offsets(affine: np.ndarray, radius_mm: float) -> np.ndarray:
    """The (dk, dj, di) index offsets whose voxel centres lie within `radius_mm` of a voxel centre, shape (n, 3).

    Voxel centres form a lattice, so the set is the same around every voxel: offset d is at A·d mm, A the affine's
    3x3 part. Along index axis a, |d_a| <= radius x |row a of A⁻¹| bounds the search.
    """
    linear = affine[:3, :3]
    reach = np.ceil(radius_mm * np.linalg.norm(np.linalg.inv(linear), axis=1)).astype(int)  # per i, j, k
    di, dj, dk = np.meshgrid(*(np.arange(-r, r + 1) for r in reach), indexing="ij")
    ijk = np.stack([di.ravel(), dj.ravel(), dk.ravel()])
    inside = ((linear @ ijk) ** 2).sum(axis=0) <= radius_mm**2
    return ijk[::-1, inside].T  # as (dk, dj, di)


def hottest_sphere(data: np.ndarray, mask: np.ndarray, affine: np.ndarray,
                   radius_mm: float = PEAK_SPHERE_RADIUS_MM) -> tuple[float, int, tuple[int, int, int]]:
    """PERCIST SUVpeak: the highest mean over spheres of `radius_mm` centred on each voxel centre of the mask.

    Returns (mean, number of image voxels in that sphere, its centre [k, j, i]). Image voxels outside the mask count
    when they fall in the sphere; a sphere reaching past the image edge averages the voxels it has. Ties go to the
    first centre in [k, j, i] order, so the result is reproducible.
    """
    offsets = _sphere_offsets(_check_affine(affine), radius_mm)
    centres = np.argwhere(mask)
    shape = np.array(data.shape)
    sums, counts = np.zeros(len(centres)), np.zeros(len(centres), dtype=int)
    for offset in offsets:
        points = centres + offset
        valid = np.all((points >= 0) & (points < shape), axis=1)
        sums[valid] += data[tuple(points[valid].T)]
        counts += valid
    means = sums / counts  # the centre itself is always in its own sphere: counts >= 1
    best = int(np.argmax(means))
    return float(means[best]), int(counts[best]), tuple(int(v) for v in centres[best])  # type: ignore[return-value]


def auc_csh(values: np.ndarray) -> float | None:
    """Area under the cumulative SUV-volume histogram of a region (van Velden 2011), in [0, 1].

    The curve is the fraction of the region's voxels with SUV >= x x SUVmax for x from 0 to 1; its area is
    exactly mean(clip(SUV / SUVmax, 0, 1)). None for an empty region or SUVmax <= 0.
    """
    flat = np.asarray(values, dtype=float).ravel()
    if flat.size == 0:
        return None
    peak = float(flat.max())
    if peak <= 0:
        return None
    return float(np.clip(flat / peak, 0.0, 1.0).mean())


@dataclass(frozen=True)
class VoiStats:
    n_voxels: int
    volume_ml: float
    suv_mean: float
    suv_sd: float | None  # sample SD; None for a one-voxel VOI
    suv_max: float
    suv_max_index: tuple[int, int, int]  # [k, j, i]
    suv_peak: float | None  # None when no affine was given
    suv_peak_n_voxels: int
    suv_peak_method: str | None  # PeakMethod value; None without an affine
    suv_peak_centre_index: tuple[int, int, int] | None  # [k, j, i] of the peak sphere's centre
    threshold: str | None  # Threshold value, None without thresholding
    threshold_suv: float | None  # the SUV cut used
    mtv_ml: float | None
    mtv_n_voxels: int | None
    mtv_suv_mean: float | None
    tlg: float | None  # MTV (ml) x SUVmean of the MTV voxels
    cov: float | None  # SD / mean over the heterogeneity region
    auc_csh: float | None
    heterogeneity_region: str  # "threshold" (the MTV voxels) or "voi"
    method_version: str = METHOD_VERSION


def _sd(values: np.ndarray) -> float | None:
    return float(values.std(ddof=1)) if values.size > 1 else None


def _cov(values: np.ndarray) -> float | None:
    sd, mean = _sd(values), float(values.mean()) if values.size else 0.0
    return sd / mean if sd is not None and mean > 0 else None


def voi_statistics(
    suv: np.ndarray,
    mask: np.ndarray,
    voxel_volume_ml: float,
    *,
    affine: np.ndarray | None = None,
    threshold: Threshold | str | None = Threshold.PERCENT_41,
    peak_method: PeakMethod | str = PeakMethod.PERCIST,
) -> VoiStats:
    """SUV statistics of the voxels of `suv` selected by the boolean `mask` (same [k, j, i] shape).

    `affine` (the volume's voxel -> mm matrix) is needed for SUVpeak; without it suv_peak is None. `peak_method`
    names how the 1 cm³ sphere is placed (PeakMethod; the module docstring gives the sources).
    Raises ValueError when the shapes differ, the mask selects no voxel or the voxel volume is not positive.
    """
    data, selection = np.asarray(suv, dtype=float), np.asarray(mask, dtype=bool)
    if data.ndim != 3 or data.shape != selection.shape:
        raise ValueError(f"suv and mask must be 3-D arrays of the same shape, got {data.shape} and {selection.shape}")
    if not (math.isfinite(voxel_volume_ml) and voxel_volume_ml > 0):
        raise ValueError(f"voxel volume must be a positive number of ml, got {voxel_volume_ml!r}")
    values = data[selection]
    if values.size == 0:
        raise ValueError("the VOI contains no voxel of the image")
    threshold = Threshold(threshold) if threshold is not None else None
    index = np.flatnonzero(selection)[int(np.argmax(values))]
    max_index = tuple(int(v) for v in np.unravel_index(index, data.shape))
    suv_max = float(values.max())

    peak_method = PeakMethod(peak_method)
    peak, peak_n, peak_centre = None, 0, None
    if affine is not None:
        matrix = _check_affine(affine)
        if peak_method is PeakMethod.PERCIST:
            peak, peak_n, peak_centre = hottest_sphere(data, selection, matrix)
        else:
            centre = (matrix @ np.array([max_index[2], max_index[1], max_index[0], 1.0]))[:3]
            peak_values = data[sphere_mask(data.shape, matrix, centre, PEAK_SPHERE_RADIUS_MM)]
            peak, peak_n, peak_centre = float(peak_values.mean()), int(peak_values.size), max_index

    cut = mtv = mtv_n = mtv_mean = tlg = None
    region = values
    if threshold is not None:
        cut = 0.41 * suv_max if threshold is Threshold.PERCENT_41 else 2.5
        tumour = values[values >= cut] if suv_max > 0 else values[:0]
        mtv_n = int(tumour.size)
        mtv = mtv_n * voxel_volume_ml
        mtv_mean = float(tumour.mean()) if tumour.size else None
        tlg = mtv * mtv_mean if mtv_mean is not None else 0.0
        region = tumour
    return VoiStats(
        n_voxels=int(values.size), volume_ml=values.size * voxel_volume_ml, suv_mean=float(values.mean()), suv_sd=_sd(values),
        suv_max=suv_max, suv_max_index=max_index, suv_peak=peak, suv_peak_n_voxels=peak_n,  # type: ignore[arg-type]
        suv_peak_method=peak_method.value if affine is not None else None, suv_peak_centre_index=peak_centre,
        threshold=threshold.value if threshold else None, threshold_suv=cut, mtv_ml=mtv, mtv_n_voxels=mtv_n, mtv_suv_mean=mtv_mean,
        tlg=tlg, cov=_cov(region), auc_csh=auc_csh(region), heterogeneity_region="threshold" if threshold else "voi",
    )


@dataclass(frozen=True)
class LiverQuality:
    n_voxels: int
    suv_mean: float
    suv_sd: float | None
    snr: float | None  # SUVmean / SD
    cov: float | None  # SD / SUVmean
    radius_mm: float
    method_version: str = METHOD_VERSION


def liver_image_quality(suv: np.ndarray, affine: np.ndarray, centre_mm: Sequence[float], radius_mm: float = LIVER_SPHERE_RADIUS_MM) -> LiverQuality:
    """Objective noise in a spherical liver VOI (default 3 cm diameter, right lobe): SNR and CoV (reference section 6)."""
    data = np.asarray(suv, dtype=float)
    values = data[sphere_mask(data.shape, affine, centre_mm, radius_mm)]
    if values.size == 0:
        raise ValueError("the liver VOI contains no voxel of the image")
    mean, sd = float(values.mean()), _sd(values)
    snr = mean / sd if sd else None
    cov = sd / mean if sd is not None and mean > 0 else None
    return LiverQuality(int(values.size), mean, sd, snr, cov, radius_mm)
