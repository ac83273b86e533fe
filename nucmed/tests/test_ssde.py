"""SSDE (AAPM Reports 204 and 220) on a synthetic water cylinder of known diameter."""
import math

import numpy as np
import pytest

from nucmed import ssde


def _cylinder(diameter_cm: float, *, hu: float = 0.0, pixel_mm: float = 0.5, size: int = 700) -> np.ndarray:
    """An axial slice: a disc of `hu` in air (-1000 HU), plus a CT table strip below it that must be left out."""
    y, x = np.mgrid[0:size, 0:size]
    centre = size / 2
    r_px = diameter_cm * 10 / 2 / pixel_mm
    slice_ = np.full((size, size), -1000.0)
    slice_[(x - centre) ** 2 + (y - centre) ** 2 <= r_px ** 2] = hu
    slice_[size - 20:size - 10, 50:size - 50] = 200.0  # the table, separate from the body
    return slice_


def test_water_cylinder_diameter() -> None:
    """A 20 cm water cylinder (0 HU) has Dw = 20 cm (AAPM 220: Aw = sum (HU/1000 + 1) x pixel area)."""
    dw = ssde.water_equivalent_diameter_cm(_cylinder(20), pixel_spacing_mm=(0.5, 0.5))
    assert dw == pytest.approx(20.0, rel=1e-3)


def test_lower_density_shrinks_dw_and_air_holes_inside_count() -> None:
    """A -500 HU cylinder of 20 cm has Aw half the geometric area: Dw = 20 / sqrt(2) cm."""
    dw = ssde.water_equivalent_diameter_cm(_cylinder(20, hu=-400), pixel_spacing_mm=(0.5, 0.5))
    assert dw == pytest.approx(20 * math.sqrt(0.6), rel=1e-3)


def test_conversion_factors_from_the_aapm_204_fits() -> None:
    """AAPM 204 fits: f32 = 3.704369 e^(-0.03671937 D), f16 = 1.874799 e^(-0.03871313 D), D in cm."""
    assert ssde.conversion_factor(20, 32) == pytest.approx(3.704369 * math.exp(-0.03671937 * 20), rel=1e-9)
    assert ssde.conversion_factor(20, 32) == pytest.approx(1.7774, rel=1e-3)
    assert ssde.conversion_factor(8, 32) == pytest.approx(2.7615, rel=1e-3)
    assert ssde.conversion_factor(20, 16) == pytest.approx(1.874799 * math.exp(-0.03871313 * 20), rel=1e-9)
    assert ssde.phantom_32_to_16(20) == pytest.approx(2.0563, rel=1e-3)


def test_ssde_of_the_cylinder() -> None:
    dw = ssde.water_equivalent_diameter_cm(_cylinder(20), pixel_spacing_mm=(0.5, 0.5))
    result = ssde.size_specific_dose(ctdivol_mgy=5.0, dw_cm=dw, phantom_cm=32)
    assert result.ssde_mgy == pytest.approx(5.0 * 1.7774, rel=1e-3) and result.not_available_reason is None
    assert ssde.size_specific_dose(ctdivol_mgy=5.0, dw_cm=dw, phantom_cm=None).ssde_mgy is None
    assert "outside" in ssde.size_specific_dose(ctdivol_mgy=5.0, dw_cm=5, phantom_cm=32).not_available_reason


def test_no_body_refused() -> None:
    with pytest.raises(ValueError):
        ssde.water_equivalent_diameter_cm(np.full((10, 10), -1000.0), pixel_spacing_mm=(1, 1))
