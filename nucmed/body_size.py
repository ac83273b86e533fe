"""Body-size measures for SUV normalisation (reference section 5, "Variants").

Weights in kg, heights in metres at the interface (DICOM PatientSize is in metres); the published formulas
that take centimetres convert internally. Sex is DICOM PatientSex: "M" or "F" (anything else: ValueError,
since the lean-body-mass formulas exist for the two sexes only).
"""
import math


def _positive(value: float, name: str) -> float:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def _sex(sex: str) -> str:
    normalised = (sex or "").strip().upper()
    if normalised not in ("M", "F"):
        raise ValueError(f"sex must be 'M' or 'F' for a lean-body-mass formula, got {sex!r}")
    return normalised


def bmi(weight_kg: float, height_m: float) -> float:
    """Body-mass index, kg/m²."""
    return _positive(weight_kg, "weight") / _positive(height_m, "height") ** 2


def lbm_james(weight_kg: float, height_m: float, sex: str) -> float:
    """Lean body mass (kg), James 1976: male 1.10 W - 128 (W/H)², female 1.07 W - 148 (W/H)², H in cm.

    The formula turns over (and can go negative) at high BMI; a non-positive result raises ValueError
    rather than producing a meaningless SUVlbm.
    """
    weight, height_cm = _positive(weight_kg, "weight"), _positive(height_m, "height") * 100.0
    if _sex(sex) == "M":
        lbm = 1.10 * weight - 128.0 * (weight / height_cm) ** 2
    else:
        lbm = 1.07 * weight - 148.0 * (weight / height_cm) ** 2
    if lbm <= 0:
        raise ValueError(f"James lean body mass is not positive ({lbm:.1f} kg) for this weight and height")
    return lbm


def lbm_janmahasatian(weight_kg: float, height_m: float, sex: str) -> float:
    """Lean body mass (kg), Janmahasatian 2005: male 9270 W / (6680 + 216 BMI), female 9270 W / (8780 + 244 BMI)."""
    weight, index = _positive(weight_kg, "weight"), bmi(weight_kg, height_m)
    if _sex(sex) == "M":
        return 9270.0 * weight / (6680.0 + 216.0 * index)
    return 9270.0 * weight / (8780.0 + 244.0 * index)


def bsa_du_bois(weight_kg: float, height_m: float) -> float:
    """Body-surface area (m²), Du Bois 1916: 0.007184 x W^0.425 x H^0.725, W in kg, H in cm."""
    return 0.007184 * _positive(weight_kg, "weight") ** 0.425 * (_positive(height_m, "height") * 100.0) ** 0.725
