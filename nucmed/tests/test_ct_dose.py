import pytest

from nucmed.ct_dose import ct_age_band, ct_effective_dose, dlp_from_ctdivol
from nucmed.tables import ct_k_factors


@pytest.mark.parametrize(("age", "band"), [(0, "0y"), (0.9, "0y"), (1, "1y"), (4.99, "1y"), (5, "5y"), (9.5, "5y"),
                                           (10, "10y"), (17.9, "10y"), (18, "adult"), (60, "adult")])
def test_age_band_at_or_below(age: float, band: str) -> None:
    assert ct_age_band(age) == band


def test_hand_computed_doses() -> None:
    chest = ct_effective_dose(dlp_mgy_cm=100, age_years=6, region="chest", phantom_cm=32)
    assert chest.msv == pytest.approx(1.8) and chest.k == 0.018 and chest.age_band == "5y"
    assert chest.table_version == ct_k_factors.VERSION and chest.phantom_cm == 32 and chest.phantom_caution is None
    head = ct_effective_dose(dlp_mgy_cm=300, age_years=0.5, region="Head", phantom_cm=16)
    assert head.msv == pytest.approx(3.3) and head.region == "head" and head.phantom_caution is None
    trunk = ct_effective_dose(dlp_mgy_cm=50, age_years=40, region="whole body", phantom_cm=32)
    assert trunk.msv == pytest.approx(0.75) and trunk.region == "trunk"
    assert ct_effective_dose(dlp_mgy_cm=200, age_years=12, region="abdomen-pelvis", phantom_cm=32).msv == pytest.approx(3.0)


def test_phantom_recorded_and_flagged_never_converted() -> None:
    on_16 = ct_effective_dose(dlp_mgy_cm=100, age_years=3, region="trunk", phantom_cm=16)
    on_32 = ct_effective_dose(dlp_mgy_cm=100, age_years=3, region="trunk", phantom_cm=32)
    assert on_16.msv == on_32.msv == pytest.approx(2.8)  # no invented conversion factor
    assert on_16.phantom_cm == 16 and "16 cm" in on_16.phantom_caution and on_32.phantom_caution is None
    assert "unknown" in ct_effective_dose(dlp_mgy_cm=100, age_years=3, region="trunk", phantom_cm=None).phantom_caution


def test_unknown_region_not_available() -> None:
    dose = ct_effective_dose(dlp_mgy_cm=100, age_years=3, region="lower leg", phantom_cm=32)
    assert dose.msv is None and dose.k is None and "lower leg" in dose.not_available_reason


def test_dlp_from_ctdivol_and_bad_input() -> None:
    assert dlp_from_ctdivol(2.5, 40) == 100.0
    with pytest.raises(ValueError):
        dlp_from_ctdivol(-1, 10)
    with pytest.raises(ValueError):
        ct_effective_dose(dlp_mgy_cm=-5, age_years=3, region="head", phantom_cm=16)
    with pytest.raises(ValueError):
        ct_effective_dose(dlp_mgy_cm=5, age_years=3, region="head", phantom_cm=20)
