"""Rigid (6 degrees of freedom) registration of one PET volume onto another, in patient millimetres.

Used when two series of one child and time point do not share a FrameOfReferenceUID (issue 18: "resample onto one
grid: same frame of reference, or a rigid registration"). The work is done by SimpleITK (the Insight Toolkit's
registration framework, installed with the `enhance` extra), not by code of our own:

- transform: Euler3DTransform (3 rotations about the patient axes, 3 translations), centred;
- initialisation: the centres of mass (image moments) of the two volumes (CenteredTransformInitializer, MOMENTS);
- metric: Mattes mutual information (Mattes et al., IEEE Trans Med Imaging 2003;22:120-128), which does not need the two
  images on one intensity scale (a one-sixth-activity or a differently calibrated series);
- optimiser: regular-step gradient descent, scales from the physical shift of one voxel;
- a multi-resolution pyramid (shrink 4, 2, 1 with Gaussian smoothing 2, 1, 0 voxels), coarser levels dropped for small
  volumes.

Conventions are those of imaging.volume: data[k, j, i] (slice, row, column) and a 4x4 affine mapping (i, j, k, 1) to
patient mm. The result maps a point of the fixed (reference) volume, in mm, to the same anatomy in the moving (test)
volume, which is what resampling the moving volume on the fixed grid needs. Pure code: no Django, no app imports.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage

METHOD_VERSION = "rigid/nbnm-2026.1"

# (k, j, i, 1) -> (i, j, k, 1): the array's axis order to the affine's.
_KJI = np.array([[0, 0, 1, 0], [0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]], dtype=float)
_HISTOGRAM_BINS = 50
# The metric samples a random (fixed seed: reproducible) set of the fixed body's voxels at each level: all of them up to
# 50,000, then 50,000 (elastix's default is 2,000 to 5,000 samples an iteration). A full-resolution level of a 300x192x192
# volume is not 1.7 million samples an iteration, and a small volume loses no precision to sampling.
_MAX_SAMPLES = 50_000
_SEED = 18
_MIN_LEVEL_VOXELS = 8
# Registration runs on a copy block-averaged to at most this many voxels (a 300x192x192 volume: by 2 on each axis).
# Setting up each pyramid level smooths the whole image, which at 11 million voxels cost more than every iteration put
# together; a clinical PET image's resolution (5-7 mm FWHM) is coarser than the averaged voxels anyway.
_MAX_VOXELS = 1_500_000  # a pyramid level is used only when every axis keeps at least this many voxels


class RegistrationError(Exception):
    """The registration did not converge or could not run: the reason, in plain words (no patient data)."""


@dataclass(frozen=True)
class RigidTransform:
    """A fixed-mm -> moving-mm rigid transform: x_moving = R (x_fixed - centre) + centre + translation."""

    rotation_deg: tuple[float, float, float]  # Euler angles about the patient x, y, z axes (ITK's Z-X-Y composition)
    translation_mm: tuple[float, float, float]
    centre_mm: tuple[float, float, float]
    matrix: np.ndarray = field(repr=False)  # 4x4, fixed mm -> moving mm
    metric: float  # final Mattes mutual information at full resolution (negative: lower is better)
    iterations: int
    stop: str  # the optimiser's stop condition, as SimpleITK words it

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, for a record of how two images were put on one grid."""
        return {"method": METHOD_VERSION, "rotation_deg": [round(v, 4) for v in self.rotation_deg],
                "translation_mm": [round(v, 4) for v in self.translation_mm], "centre_mm": [round(v, 3) for v in self.centre_mm],
                "matrix": [[round(float(v), 6) for v in row] for row in self.matrix], "metric": round(self.metric, 6),
                "iterations": self.iterations, "stop": self.stop}


def _spacing_direction(affine: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    columns = np.asarray(affine, dtype=float)[:3, :3]
    spacing = np.linalg.norm(columns, axis=0)
    if np.any(spacing <= 0):
        raise RegistrationError("a volume has a zero voxel size")
    return spacing, columns / spacing


def _image(data: np.ndarray, affine: np.ndarray) -> Any:
    import SimpleITK as sitk

    spacing, direction = _spacing_direction(affine)
    # GetImageFromArray reads a (k, j, i) array as the image index (i, j, k): the affine's order.
    image = sitk.GetImageFromArray(np.ascontiguousarray(data, dtype=np.float32))
    image.SetSpacing([float(v) for v in spacing])
    image.SetOrigin([float(v) for v in np.asarray(affine, dtype=float)[:3, 3]])
    image.SetDirection([float(v) for v in direction.ravel()])
    return image


def _cropped(data: np.ndarray, affine: np.ndarray, margin: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """`data` cut to the box around what is above its background (plus `margin` voxels), with its affine.

    A child in an adult scanner's field of view fills a small part of it; the rest only costs time."""
    # The threshold from every 8th voxel (a 2x2x2 stride): the same percentile to a few per cent, an eighth of the sort.
    above = data > 0.05 * float(np.percentile(data[::2, ::2, ::2], 99.9))
    if not above.any():
        return data, affine
    found = [np.flatnonzero(above.any(axis=tuple(a for a in range(3) if a != axis))) for axis in range(3)]
    low = np.maximum(np.array([f[0] for f in found]) - margin, 0)
    high = np.minimum(np.array([f[-1] for f in found]) + margin + 1, data.shape)
    moved = np.asarray(affine, dtype=float).copy()
    moved[:3, 3] = (affine @ np.array([low[2], low[1], low[0], 1.0]))[:3]  # (k, j, i) -> (i, j, k)
    return data[low[0]: high[0], low[1]: high[1], low[2]: high[2]], moved


def _reduced(data: np.ndarray, affine: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`data` averaged over f x f x f blocks (f the smallest factor bringing it under _MAX_VOXELS), with its affine."""
    f = 1
    while np.prod([n // f for n in data.shape]) > _MAX_VOXELS:
        f += 1
    if f == 1:
        return np.asarray(data, dtype=np.float32), np.asarray(affine, dtype=float)
    k, j, i = (n // f for n in data.shape)
    blocks = np.asarray(data[: k * f, : j * f, : i * f], dtype=np.float32).reshape(k, f, j, f, i, f)
    reduced = np.asarray(affine, dtype=float).copy()
    reduced[:3, 3] = (affine @ np.array([(f - 1) / 2] * 3 + [1.0]))[:3]  # the first block's centre
    reduced[:3, :3] = affine[:3, :3] * f
    return blocks.mean(axis=(1, 3, 5)), reduced


def _pyramid(shape: tuple[int, ...]) -> tuple[list[int], list[float]]:
    shrink = [f for f in (4, 2) if min(shape) // f >= _MIN_LEVEL_VOXELS] + [1]
    return shrink, [{4: 2.0, 2: 1.0, 1: 0.0}[f] for f in shrink]


def _matrix(transform: Any) -> np.ndarray:
    m = np.eye(4)
    m[:3, :3] = np.asarray(transform.GetMatrix(), dtype=float).reshape(3, 3)
    centre = np.asarray(transform.GetCenter(), dtype=float)
    m[:3, 3] = np.asarray(transform.GetTranslation(), dtype=float) + centre - m[:3, :3] @ centre
    return m


def register_rigid(fixed: np.ndarray, fixed_affine: np.ndarray, moving: np.ndarray, moving_affine: np.ndarray, *,
                   max_iterations: int = 200) -> RigidTransform:
    """The rigid transform that best aligns `moving` with `fixed` (both (k, j, i) arrays with their affines).

    Raises RegistrationError when SimpleITK is missing, an image has no contrast, the optimiser stops at its iteration
    limit at full resolution (not converged) or the result is not finite.
    """
    try:
        import SimpleITK as sitk
    except ImportError:  # the `enhance` extra is not installed
        raise RegistrationError("SimpleITK is not installed (the platform's `enhance` extra), so no registration is possible") from None
    for name, data in (("reference", fixed), ("test", moving)):
        if data.ndim != 3 or not np.isfinite(data).all() or float(np.ptp(data)) <= 0:
            raise RegistrationError(f"the {name} volume has no contrast to register on")
    fixed, fixed_affine = _reduced(*_cropped(fixed, fixed_affine))
    moving, moving_affine = _reduced(*_cropped(moving, moving_affine))
    fixed_image, moving_image = _image(fixed, fixed_affine), _image(moving, moving_affine)
    # The metric samples only the fixed body (above 5 % of its 99.9th percentile, dilated 2 voxels so its edge counts):
    # in a wide field of view most voxels are air and carry nothing to align on.
    threshold = 0.05 * float(np.percentile(fixed, 99.9))
    body = ndimage.binary_dilation(fixed > threshold, iterations=2).astype(np.uint8)
    if int(body.sum()) < 1000:
        raise RegistrationError("the reference volume has too little above its background to register on")
    mask = sitk.GetImageFromArray(body)
    mask.CopyInformation(fixed_image)
    initial = sitk.CenteredTransformInitializer(fixed_image, moving_image, sitk.Euler3DTransform(),
                                                sitk.CenteredTransformInitializerFilter.MOMENTS)
    method = sitk.ImageRegistrationMethod()
    method.SetMetricAsMattesMutualInformation(numberOfHistogramBins=_HISTOGRAM_BINS)
    method.SetMetricFixedMask(mask)
    method.SetMetricSamplingStrategy(method.RANDOM)
    method.SetInterpolator(sitk.sitkLinear)
    # Steps in mm (and radians scaled to the mm a voxel moves): start at 2 mm, stop below 1/1000 mm.
    method.SetOptimizerAsRegularStepGradientDescent(learningRate=2.0, minStep=1e-3, numberOfIterations=max_iterations,
                                                    relaxationFactor=0.5, gradientMagnitudeTolerance=1e-8)
    method.SetOptimizerScalesFromPhysicalShift()
    shrink, sigmas = _pyramid(fixed.shape)
    voxels = int(body.sum())
    method.SetMetricSamplingPercentagePerLevel([min(1.0, _MAX_SAMPLES * f ** 3 / voxels) for f in shrink], _SEED)
    method.SetShrinkFactorsPerLevel(shrink)
    method.SetSmoothingSigmasPerLevel(sigmas)
    method.SmoothingSigmasAreSpecifiedInPhysicalUnitsOff()
    method.SetInitialTransform(initial, inPlace=False)
    try:
        result = method.Execute(fixed_image, moving_image)
    except RuntimeError as exc:  # e.g. too few samples inside the moving image: the volumes barely overlap
        first_line = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise RegistrationError(f"the optimiser could not run ({first_line[:200]})") from None
    stop = method.GetOptimizerStopConditionDescription()
    iterations = int(method.GetOptimizerIteration())
    metric = float(method.GetMetricValue())
    if iterations >= max_iterations:
        raise RegistrationError(f"not converged after {max_iterations} iterations at full resolution")
    euler = sitk.Euler3DTransform(sitk.CompositeTransform(result).GetBackTransform()) if result.GetName() == "CompositeTransform" \
        else sitk.Euler3DTransform(result)
    matrix = _matrix(euler)
    if not np.isfinite(matrix).all() or not np.isfinite(metric):
        raise RegistrationError("the optimiser returned a transform that is not finite")
    angles = euler.GetParameters()[:3]
    return RigidTransform(rotation_deg=tuple(float(np.degrees(a)) for a in angles),  # type: ignore[arg-type]
                          translation_mm=tuple(float(v) for v in euler.GetTranslation()),  # type: ignore[arg-type]
                          centre_mm=tuple(float(v) for v in euler.GetCenter()),  # type: ignore[arg-type]
                          matrix=matrix, metric=metric, iterations=iterations, stop=stop)


def resample(moving: np.ndarray, moving_affine: np.ndarray, fixed_shape: tuple[int, ...], fixed_affine: np.ndarray,
             matrix: np.ndarray | None = None) -> np.ndarray:
    """`moving` sampled at the fixed grid's voxel centres (trilinear), 0 outside its field of view.

    `matrix` maps fixed mm to moving mm (a RigidTransform's); None when both share one frame of reference. The field of
    view reaches half a voxel past the outer voxel centres, where the edge value holds: a registered grid is almost never
    a whole number of voxels off, and without that rule a whole edge slice moved 0.01 voxel outwards would read 0.
    """
    fixed_to_moving = np.eye(4) if matrix is None else np.asarray(matrix, dtype=float)
    t = np.linalg.inv(np.asarray(moving_affine, dtype=float) @ _KJI) @ fixed_to_moving @ (np.asarray(fixed_affine, dtype=float) @ _KJI)
    out = ndimage.affine_transform(np.asarray(moving, dtype=float), t[:3, :3], offset=t[:3, 3], output_shape=fixed_shape,
                                   order=1, mode="nearest")
    index = np.ogrid[tuple(slice(0, n) for n in fixed_shape)]
    outside = np.zeros(fixed_shape, dtype=bool)
    for axis, n in enumerate(moving.shape):  # t maps a fixed (k, j, i) to a moving (k, j, i): one moving axis at a time
        source = t[axis, 3] + t[axis, 0] * index[0] + t[axis, 1] * index[1] + t[axis, 2] * index[2]
        outside |= (source < -0.5) | (source > n - 0.5)
    out[outside] = 0.0
    return out
