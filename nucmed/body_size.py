"""Body-size measures for SUV normalisation (reference section 5, "Variants").

Weights in kg, heights in metres at the interface (DICOM PatientSize is in metres); the published formulas
that take centimetres convert internally. Sex is DICOM PatientSex: "M" or "F" (anything else: ValueError for
the sex-specific lean-body-mass formulas).

Lean body mass (for SUL) is selectable (LbmFormula, LBM_FORMULAS with each formula's source and population):
James and Janmahasatian are adult formulas; Peters is the one derived for children.
"""
import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


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


# Peters et al. 2011: eLBM (kg) = 3.8 x eECV (litres); eECV from Bird et al. 2003 (units: W kg, H cm).
PETERS_LBM_PER_ECV = 3.8
BIRD_ECV = (0.0215, 0.6469, 0.7236)  # eECV = 0.0215 x W^0.6469 x H^0.7236


def ecv_bird(weight_kg: float, height_m: float) -> float:
    """Estimated extracellular fluid volume (litres), Bird et al. 2003: 0.0215 x W^0.6469 x H^0.7236, W in kg, H in cm."""
    coefficient, weight_power, height_power = BIRD_ECV
    return coefficient * _positive(weight_kg, "weight") ** weight_power * (_positive(height_m, "height") * 100.0) ** height_power


def lbm_peters(weight_kg: float, height_m: float, sex: str = "") -> float:
    """Lean body mass (kg) of a child, Peters et al. 2011: eLBM = 3.8 x eECV (Bird 2003). One formula for both sexes:
    `sex` is accepted for a common signature and not used."""
    return PETERS_LBM_PER_ECV * ecv_bird(weight_kg, height_m)


class LbmFormula(StrEnum):
    JAMES = "james"
    JANMAHASATIAN = "janmahasatian"
    PETERS = "peters"


@dataclass(frozen=True)
class LbmFormulaInfo:
    formula: LbmFormula
    compute: Callable[[float, float, str], float]  # (weight kg, height m, sex) -> LBM kg
    population: str
    source: str


LBM_FORMULAS: dict[LbmFormula, LbmFormulaInfo] = {
    LbmFormula.JAMES: LbmFormulaInfo(
        LbmFormula.JAMES, lbm_james, "adults; turns over at high BMI",
        "James WPT. Research on obesity. London: HMSO; 1976 (as used by PERCIST 1.0, Wahl et al., J Nucl Med 2009;50:122S)"),
    LbmFormula.JANMAHASATIAN: LbmFormulaInfo(
        LbmFormula.JANMAHASATIAN, lbm_janmahasatian, "adults",
        "Janmahasatian S et al., Quantification of lean bodyweight, Clin Pharmacokinet 2005;44(10):1051-1065"),
    LbmFormula.PETERS: LbmFormulaInfo(
        LbmFormula.PETERS, lbm_peters,
        "children: derived for children up to about 13 years (BSA about 1.35 m², the child/adult cut-off of Bird 2003)",
        "Peters AM, Snelling HLR, Glass DM, Bird NJ, Estimation of lean body mass in children, Br J Anaesth 2011;106(5):719-723 "
        "(eLBM = 3.8 x eECV); eECV: Bird NJ et al., Indexing glomerular filtration rate to suit children, J Nucl Med 2003;44:1037-1043"),
}


def lean_body_mass(formula: LbmFormula | str, weight_kg: float, height_m: float, sex: str) -> float:
    """Lean body mass (kg) by the named formula (LbmFormula). Raises ValueError for an unknown formula or bad input."""
    return LBM_FORMULAS[LbmFormula(formula)].compute(weight_kg, height_m, sex)
