import pytest

from nucmed.body_size import (
    LBM_FORMULAS,
    LbmFormula,
    bmi,
    bsa_du_bois,
    ecv_bird,
    lbm_james,
    lbm_janmahasatian,
    lbm_peters,
    lean_body_mass,
)


def test_bmi() -> None:
    assert bmi(70, 1.75) == pytest.approx(22.857, abs=1e-3)


def test_lbm_james_hand_computed() -> None:
    # male 70 kg, 175 cm: 1.10 x 70 - 128 x (70/175)^2 = 77 - 20.48 = 56.52
    assert lbm_james(70, 1.75, "M") == pytest.approx(56.52)
    # female 60 kg, 165 cm: 1.07 x 60 - 148 x (60/165)^2 = 64.2 - 19.570 = 44.630
    assert lbm_james(60, 1.65, "f") == pytest.approx(64.2 - 148 * (60 / 165) ** 2)
    # a child: 20 kg, 110 cm, male: 22 - 128 x (20/110)^2 = 17.769
    assert lbm_james(20, 1.10, "M") == pytest.approx(22 - 128 * (20 / 110) ** 2)


def test_lbm_james_turns_over_at_extreme_bmi() -> None:
    with pytest.raises(ValueError, match="not positive"):
        lbm_james(250, 1.50, "F")


def test_lbm_janmahasatian_hand_computed() -> None:
    b = 70 / 1.75**2
    assert lbm_janmahasatian(70, 1.75, "M") == pytest.approx(9270 * 70 / (6680 + 216 * b))
    assert lbm_janmahasatian(70, 1.75, "M") == pytest.approx(55.86, abs=0.01)
    assert lbm_janmahasatian(60, 1.65, "F") == pytest.approx(9270 * 60 / (8780 + 244 * 60 / 1.65**2))


def test_bsa_du_bois() -> None:
    # 70 kg, 175 cm: 0.007184 x 70^0.425 x 175^0.725 = 0.007184 x 6.0837 x 42.287 = 1.848 m²
    assert bsa_du_bois(70, 1.75) == pytest.approx(1.848, abs=1e-3)


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="sex"):
        lbm_james(70, 1.75, "O")
    with pytest.raises(ValueError, match="height"):
        bsa_du_bois(70, 0)
    with pytest.raises(ValueError, match="weight"):
        lbm_janmahasatian(float("nan"), 1.7, "M")


def test_lbm_peters_published_worked_value() -> None:
    """Peters et al., Br J Anaesth 2011;106:719-723: eLBM = 3.8 x eECV; eECV = 0.0215 x W^0.6469 x H^0.7236 (W kg, H cm;
    Bird et al., J Nucl Med 2003;44:1037). Worked example of the formula as published by a calculator page
    (shorttutorials.com "LBM in children"): a 13-year-old, 40 kg, 153 cm -> eLBM 33.8405 kg. Within 0.1 %."""
    assert lbm_peters(40, 1.53) == pytest.approx(33.8405, rel=1e-3)
    assert lbm_peters(40, 1.53) == pytest.approx(3.8 * ecv_bird(40, 1.53))
    # hand-computed: 5-year-old, 18 kg, 110 cm: 3.8 x 0.0215 x 18^0.6469 x 110^0.7236
    assert lbm_peters(18, 1.10, "F") == pytest.approx(3.8 * 0.0215 * 18**0.6469 * 110**0.7236)
    assert lbm_peters(18, 1.10, "M") == lbm_peters(18, 1.10, "F")  # one formula for both sexes


def test_lean_body_mass_is_selectable_and_sourced() -> None:
    assert lean_body_mass("peters", 40, 1.53, "F") == lbm_peters(40, 1.53)
    assert lean_body_mass(LbmFormula.JAMES, 70, 1.75, "M") == lbm_james(70, 1.75, "M")
    assert lean_body_mass("janmahasatian", 70, 1.75, "M") == lbm_janmahasatian(70, 1.75, "M")
    assert "Br J Anaesth 2011;106(5):719-723" in LBM_FORMULAS[LbmFormula.PETERS].source
    assert all(info.source and info.population for info in LBM_FORMULAS.values())
    with pytest.raises(ValueError):
        lean_body_mass("boer", 70, 1.75, "M")
    with pytest.raises(ValueError, match="height"):
        lbm_peters(20, 0)
