import pytest

from nucmed.effective_dose import age_band, radiopharmaceutical_effective_dose
from nucmed.tables import icrp_effective_dose


@pytest.mark.parametrize(("age", "band"), [
    (0, "1y"), (0.5, "1y"), (2, "1y"), (2.99, "1y"),
    (3, "5y"), (7.9, "5y"),
    (8, "10y"), (12.5, "10y"),
    (13, "15y"), (17.99, "15y"),
    (18, "adult"), (45, "adult"),
])
def test_age_bands(age: float, band: str) -> None:
    assert age_band(age) == band


def test_fdg_by_band() -> None:
    dose = radiopharmaceutical_effective_dose(agent_code="F18_FDG", activity_mbq=100, age_years=10)
    assert dose.msv == pytest.approx(3.7) and dose.coefficient_msv_per_mbq == 0.037 and dose.age_band == "10y"
    assert dose.table_version == icrp_effective_dose.VERSION and dose.unverified is False and dose.not_available_reason is None
    assert radiopharmaceutical_effective_dose(agent_code="F18_FDG", activity_mbq=50, age_years=1.5).msv == pytest.approx(4.75)


def test_mibg_children_flagged_unverified_adult_not() -> None:
    child = radiopharmaceutical_effective_dose(agent_code="I123_MIBG", activity_mbq=200, age_years=4)
    assert child.msv == pytest.approx(7.2) and child.unverified is True
    adult = radiopharmaceutical_effective_dose(agent_code="I123_MIBG", activity_mbq=370, age_years=30)
    assert adult.msv == pytest.approx(4.81) and adult.unverified is False


@pytest.mark.parametrize(("agent", "age", "available"), [
    ("F18_NAF", 5, True), ("F18_NAF", 40, True), ("F18_NAF", 10, False), ("F18_NAF", 1, False),
    ("GA68_DOTATATE", 18, True), ("GA68_DOTATATE", 15, False),
    ("I131_MIBG", 30, False),
])
def test_missing_coefficients_are_not_available(agent: str, age: float, available: bool) -> None:
    dose = radiopharmaceutical_effective_dose(agent_code=agent, activity_mbq=100, age_years=age)
    if available:
        assert dose.msv is not None and dose.not_available_reason is None
    else:
        assert dose.msv is None and dose.coefficient_msv_per_mbq is None
        assert dose.age_band == age_band(age) and dose.age_band in dose.not_available_reason


def test_bad_input() -> None:
    with pytest.raises(ValueError):
        radiopharmaceutical_effective_dose(agent_code="X", activity_mbq=1, age_years=1)
    with pytest.raises(ValueError):
        radiopharmaceutical_effective_dose(agent_code="F18_FDG", activity_mbq=-1, age_years=1)
    with pytest.raises(ValueError):
        age_band(-0.1)


@pytest.mark.parametrize(("band", "mass_kg", "msv_at_scaled_370"), [("1y", 9.7, 3.4), ("5y", 19.8, 3.8), ("10y", 33.2, 4.5),
                                                                    ("15y", 56.8, 5.0), ("adult", 70.0, 4.8)])
def test_mibg_children_match_icrp80_table(band: str, mass_kg: float, msv_at_scaled_370: float) -> None:
    """123I-MIBG: J Nucl Med Table 1 "Estimates of Critical Organ and Effective Dose for Common Pediatric Nuclear Medicine
    Procedures" (based on ICRP 80) gives the effective dose at 370 MBq scaled by mass/70 kg: 3.4, 3.8, 4.5, 5.0, 4.8 mSv for
    1, 5, 10, 15 y and adult: implied coefficients 0.0663, 0.0363, 0.0256, 0.0167, 0.0130 mSv/MBq, which are ours to two
    significant digits (a check against ICRP 80 as tabulated there, not against ICRP 128 itself)."""
    implied = msv_at_scaled_370 / (370 * mass_kg / 70)
    assert float(f"{implied:.2g}") == icrp_effective_dose.COEFFICIENTS["I123_MIBG"][band].msv_per_mbq
