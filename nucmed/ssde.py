"""Size-specific dose estimate (SSDE) from CTDIvol and the patient's water-equivalent diameter.

- Water-equivalent diameter, AAPM Report 220 (2014), eq. for Aw: Aw = sum over the pixels inside the patient of
  (HU / 1000 + 1) x pixel area, Dw = 2 sqrt(Aw / pi). Measured on one axial CT slice (the central slice of the
  series), inside the body contour: the pixels above CONTOUR_THRESHOLD_HU, holes filled, the largest connected
  region (the table and objects outside the patient are left out).
- Size conversion factor, AAPM Report 204 (2011): the exponential fits f = a exp(-b D) of its combined data,
  D in cm, for CTDIvol on the 32 cm phantom (a = 3.704369, b = 0.03671937) and on the 16 cm phantom
  (a = 1.874799, b = 0.03871313); AAPM Report 220 (Appendix A) puts Dw in place of the effective diameter.
  SSDE = f(Dw) x CTDIvol. The platform uses the fits for 8-45 cm only (the size range of Report 204's look-up tables
  as other open implementations apply it; the bounds were not re-read from the report and are marked UNVERIFIED):
  outside it the SSDE is not available rather than extrapolated.
- Phantom conversion. For the same patient, SSDE = f32(Dw) CTDIvol32 = f16(Dw) CTDIvol16, so a dose index on the
  32 cm phantom corresponds to f32(Dw) / f16(Dw) times that value on the 16 cm phantom. `phantom_32_to_16(Dw)` is that
  ratio (2.02 at 10 cm, 2.06 at 20 cm): the platform uses it to put a 32 cm DLP on the 16 cm basis of the paediatric
  k-factors (nucmed/ct_dose.py).
"""
import math
from dataclasses import dataclass

import numpy as np

VERSION = "ssde-aapm204-220/nbnm-2026.1"
SOURCE = "AAPM Report 204 (2011) exponential fits for 32 and 16 cm phantoms; AAPM Report 220 (2014) water-equivalent diameter"
FIT: dict[int, tuple[float, float]] = {32: (3.704369, 0.03671937), 16: (1.874799, 0.03871313)}
FIT_RANGE_CM = (8.0, 45.0)  # UNVERIFIED bounds (see the module docstring)
# A threshold between air (-1000 HU) and the lightest tissue of the body surface; lungs inside are kept by filling holes.
CONTOUR_THRESHOLD_HU = -500.0


@dataclass(frozen=True)
class Ssde:
    ssde_mgy: float | None
    factor: float | None
    dw_cm: float
    phantom_cm: int | None
    not_available_reason: str | None
    version: str = VERSION


def water_equivalent_diameter_cm(hu: np.ndarray, *, pixel_spacing_mm: tuple[float, float]) -> float:
    """Dw (cm) of one axial slice of Hounsfield units (AAPM 220), inside the body contour. Raises ValueError without a body."""
    if hu.ndim != 2:
        raise ValueError("one axial slice (a 2-D array) is needed")
    from scipy import ndimage  # with the first CT dose step, not with the app (tests/test_lazy_imports.py)

    body = ndimage.binary_fill_holes(hu > CONTOUR_THRESHOLD_HU)
    labels, count = ndimage.label(body)
    if count == 0:
        raise ValueError("no body contour on the slice (every pixel is below the threshold)")
    sizes = ndimage.sum_labels(body, labels, index=range(1, count + 1))
    largest = labels == (int(np.argmax(sizes)) + 1)
    pixel_area_cm2 = pixel_spacing_mm[0] * pixel_spacing_mm[1] / 100.0
    aw = float(np.sum(hu[largest] / 1000.0 + 1.0)) * pixel_area_cm2
    return 2.0 * math.sqrt(max(aw, 0.0) / math.pi)


def conversion_factor(dw_cm: float, phantom_cm: int) -> float:
    """AAPM 204 size conversion factor f(D) for CTDIvol on the given phantom. Raises ValueError for another phantom."""
    if phantom_cm not in FIT:
        raise ValueError(f"phantom must be 16 or 32 cm, got {phantom_cm!r}")
    a, b = FIT[phantom_cm]
    return a * math.exp(-b * dw_cm)


def phantom_32_to_16(dw_cm: float) -> float:
    """CTDIvol(16 cm) / CTDIvol(32 cm) for a patient of water-equivalent diameter dw_cm: f32(Dw) / f16(Dw) (AAPM 204 fits)."""
    return conversion_factor(dw_cm, 32) / conversion_factor(dw_cm, 16)


def in_fit_range(dw_cm: float) -> bool:
    return FIT_RANGE_CM[0] <= dw_cm <= FIT_RANGE_CM[1]


def size_specific_dose(*, ctdivol_mgy: float, dw_cm: float, phantom_cm: int | None) -> Ssde:
    """SSDE (mGy) = f(Dw) x CTDIvol, or not available with the reason (phantom unknown, Dw outside the fit range)."""
    if not (math.isfinite(ctdivol_mgy) and ctdivol_mgy >= 0):
        raise ValueError(f"CTDIvol must be a non-negative number of mGy, got {ctdivol_mgy!r}")
    if phantom_cm not in FIT:
        return Ssde(None, None, dw_cm, phantom_cm, "The CTDI phantom is not known: the AAPM 204 factor depends on it.")
    if not in_fit_range(dw_cm):
        return Ssde(None, None, dw_cm, phantom_cm,
                    f"Water-equivalent diameter {dw_cm:.1f} cm is outside the AAPM 204 range {FIT_RANGE_CM[0]:g}-{FIT_RANGE_CM[1]:g} cm.")
    factor = conversion_factor(dw_cm, phantom_cm)
    return Ssde(factor * ctdivol_mgy, factor, dw_cm, phantom_cm, None)
