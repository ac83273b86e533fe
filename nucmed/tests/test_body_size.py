import pytest

from nucmed.body_size import bmi, bsa_du_bois, lbm_james, lbm_janmahasatian


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
