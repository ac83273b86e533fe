"""Rigid registration (issue 18): a phantom moved by a non-integer number of voxels and a few degrees is found again to
within a voxel; an image registered onto itself gives the identity; what cannot be registered is refused with a reason."""
import numpy as np
import pytest
from scipy import ndimage

from nucmed import registration as reg

pytest.importorskip("SimpleITK")

SHAPE = (40, 64, 64)  # (k, j, i)
VOXEL = np.array([4.0, 4.0, 3.0])  # i, j, k: anisotropic, like PET (pixels 4 mm, slices 3 mm)
# Slices stored superior first, as the synthetic series are: the k axis points down (-z), a negative determinant.
AFFINE = np.array([[4.0, 0, 0, -126.0], [0, 4.0, 0, -126.0], [0, 0, -3.0, 58.5], [0, 0, 0, 1]])
SPHERES = (((30.0, 10.0, -20.0), 12.0, 6.0), ((-40.0, -15.0, 10.0), 9.0, 8.0), ((10.0, 30.0, 25.0), 15.0, 4.0))
CENTRE = np.array([5.0, -3.0, 2.0])  # the point the moved copy is rotated about (mm)


def _rotation(deg: tuple[float, float, float]) -> np.ndarray:
    """ITK's Euler3D composition, R = Rz Rx Ry, so the recovered angles compare one to one."""
    ax, ay, az = np.radians(deg)
    rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    return rz @ rx @ ry


def _phantom(rotation: np.ndarray = np.eye(3), shift_mm: np.ndarray = np.zeros(3), *, noise: float = 0.0, seed: int = 0) -> np.ndarray:
    """SUV-like volume: a body ellipsoid (1) with three hot spheres, soft edges, the whole object moved rigidly.

    The object point u appears at x = R (u - CENTRE) + CENTRE + shift; each voxel x shows the object at u = R^T (x - ...).
    """
    k, j, i = np.indices(SHAPE, dtype=float)
    x = np.stack([i, j, k, np.ones_like(i)], axis=-1) @ AFFINE.T
    u = (x[..., :3] - CENTRE - shift_mm) @ rotation + CENTRE
    r = np.sqrt(((u / np.array([100.0, 75.0, 48.0])) ** 2).sum(axis=-1))
    image = 1.0 / (1.0 + np.exp((r - 1.0) / 0.03))
    for centre, radius, value in SPHERES:
        d = np.linalg.norm(u - np.array(centre), axis=-1)
        image += (value - 1.0) / (1.0 + np.exp((d - radius) / 1.5))
    if noise:
        image *= 1.0 + noise * np.random.default_rng(seed).standard_normal(SHAPE)
        image = np.clip(ndimage.gaussian_filter(image, 0.8), 0.0, None)
    return image


def _centroid_mm(image: np.ndarray, centre_mm: tuple[float, float, float], radius_mm: float) -> np.ndarray:
    """The intensity-weighted centre (mm) of a sphere's hot voxels, searched within 2 radii of where it should be."""
    k, j, i = np.indices(SHAPE, dtype=float)
    x = (np.stack([i, j, k, np.ones_like(i)], axis=-1) @ AFFINE.T)[..., :3]
    near = np.linalg.norm(x - np.array(centre_mm), axis=-1) < 2 * radius_mm
    hot = near & (image > 2.0)
    weights = image[hot] - 2.0
    return (x[hot] * weights[:, None]).sum(axis=0) / weights.sum()


def test_a_shifted_and_rotated_copy_is_aligned_to_within_a_voxel() -> None:
    rotation, shift_vox = _rotation((3.0, -2.0, 4.0)), np.array([3.4, -2.2, 1.7])
    shift_mm = shift_vox * VOXEL * np.sign(np.diag(AFFINE)[:3])  # (i, j, k) voxels to mm along the affine's axes
    fixed = _phantom(noise=0.15, seed=1)
    moving = _phantom(rotation, shift_mm, noise=0.15, seed=2)

    found = reg.register_rigid(fixed, AFFINE, moving, AFFINE)

    # The transform maps each sphere's centre in the reference to where the moved copy has it, to within a voxel (the
    # smallest voxel side, 3 mm); in practice a few tenths of a millimetre.
    for centre, _, _ in SPHERES:
        truth = rotation @ (np.array(centre) - CENTRE) + CENTRE + shift_mm
        mapped = (found.matrix @ np.array([*centre, 1.0]))[:3]
        assert np.linalg.norm(mapped - truth) < 0.25 * VOXEL.min(), (centre, mapped, truth)
    assert found.rotation_deg == pytest.approx((3.0, -2.0, 4.0), abs=0.5)
    assert found.metric < 0 and found.iterations > 0 and "iteration" in found.stop.lower()
    # Resampled onto the reference grid, the moved copy's spheres sit where the reference's do.
    aligned = reg.resample(moving, AFFINE, SHAPE, AFFINE, found.matrix)
    unaligned = reg.resample(moving, AFFINE, SHAPE, AFFINE)
    for centre, radius, _ in SPHERES:
        reference = _centroid_mm(fixed, centre, radius)
        assert np.linalg.norm(_centroid_mm(aligned, centre, radius) - reference) < VOXEL.min()
        assert np.linalg.norm(_centroid_mm(unaligned, centre, radius) - reference) > 2 * VOXEL.min()  # it was moved


def test_the_same_image_registers_to_the_identity() -> None:
    image = _phantom(noise=0.1, seed=3)
    found = reg.register_rigid(image, AFFINE, image, AFFINE)
    assert np.abs(found.rotation_deg).max() < 0.1
    # Whatever centre the moments chose, the matrix moves no point of the body by more than a tenth of a voxel.
    corners = np.array([[x, y, z, 1.0] for x in (-100, 100) for y in (-75, 75) for z in (-48, 48)])
    assert np.abs((corners @ found.matrix.T - corners)[:, :3]).max() < 0.1 * VOXEL.min()
    record = found.as_dict()
    assert record["method"] == reg.METHOD_VERSION and len(record["matrix"]) == 4 and record["metric"] == pytest.approx(found.metric)


def test_another_grid_of_the_same_object_is_found() -> None:
    """The test series on its own grid (other origin, 2 mm voxels, slices inferior first): only the mm matter."""
    fixed = _phantom(noise=0.1, seed=4)
    other = np.array([[2.0, 0, 0, -110.0], [0, 2.0, 0, -90.0], [0, 0, 2.0, -55.0], [0, 0, 0, 1]])
    k, j, i = np.indices((56, 100, 110), dtype=float)
    x = (np.stack([i, j, k, np.ones_like(i)], axis=-1) @ other.T)[..., :3]
    # The same object sampled on that grid, translated by (6.1, -4.3, 2.9) mm.
    on_other = ndimage.map_coordinates(_phantom(), _voxel_of(x - np.array([6.1, -4.3, 2.9])), order=1, cval=0.0)
    found = reg.register_rigid(fixed, AFFINE, on_other, other)
    point = np.array([30.0, 10.0, -20.0, 1.0])
    assert (found.matrix @ point)[:3] == pytest.approx(point[:3] + np.array([6.1, -4.3, 2.9]), abs=0.5)


def _voxel_of(x_mm: np.ndarray) -> np.ndarray:
    """(k, j, i) coordinates on the reference grid of points in mm, stacked for ndimage.map_coordinates."""
    ijk = (np.concatenate([x_mm, np.ones(x_mm.shape[:-1] + (1,))], axis=-1) @ np.linalg.inv(AFFINE).T)[..., :3]
    return np.stack([ijk[..., 2], ijk[..., 1], ijk[..., 0]])


def test_what_cannot_be_registered_is_refused_with_the_reason() -> None:
    image = _phantom()
    with pytest.raises(reg.RegistrationError, match="no contrast"):
        reg.register_rigid(image, AFFINE, np.zeros(SHAPE), AFFINE)
    moved = _phantom(_rotation((0.0, 0.0, 8.0)), np.array([9.0, 0.0, 0.0]))
    with pytest.raises(reg.RegistrationError, match="not converged after 2 iterations"):
        reg.register_rigid(image, AFFINE, moved, AFFINE, max_iterations=2)


def test_resampling_keeps_the_field_of_view_to_half_a_voxel_past_the_edge() -> None:
    """A grid 0.3 voxel off keeps its edge slices (edge value); 0.7 voxel off, the slice outside the field of view is 0."""
    data = np.arange(1.0, 1.0 + np.prod(SHAPE)).reshape(SHAPE)
    for shift_slices, first_slice_kept in ((0.3, True), (0.7, False), (-0.3, True)):
        moved = AFFINE.copy()
        moved[:3, 3] += AFFINE[:3, 2] * shift_slices  # the moving grid starts shift_slices slices further along k
        out = reg.resample(data, moved, SHAPE, AFFINE)
        # The fixed slice 0 reads the moving grid at k = -shift_slices.
        assert bool((out[0] > 0).all()) is first_slice_kept, shift_slices
        np.testing.assert_allclose(out[5], data[5] - shift_slices * np.prod(SHAPE[1:]), rtol=1e-9)
    # Identity: the input, exactly.
    np.testing.assert_array_equal(reg.resample(data, AFFINE, SHAPE, AFFINE), data)
