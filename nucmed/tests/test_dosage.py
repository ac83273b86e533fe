import pytest

from nucmed.dosage import DosageTable, deviation_percent, missing_row_reason, recommended_activity
from nucmed.tables import eanm_card, north_america


def eanm(agent: str, weight: float, acquisition: str | None = None):
    return recommended_activity(agent_code=agent, weight_kg=weight, table=DosageTable.EANM, acquisition=acquisition)


def na(agent: str, weight: float):
    return recommended_activity(agent_code=agent, weight_kg=weight, table="north_america")


@pytest.mark.parametrize(("weight", "expected"), [
    (10, 14.0 * 2.71),  # on a row
    (20, 14.0 * 4.86),
    (68, 14.0 * 14.00),  # top row
    (53, 14.0 * 11.29),  # inside the 52-54 span
    (21.2, 14.0 * 5.29),  # between 20 and 22: nearest is 22
    (20.8, 14.0 * 4.86),  # nearest is 20
    (5, 14.0 * 1.14),  # tie between 4 and 6: the lighter row
    (55, 14.0 * 11.29),  # tie between 52-54 and 56-58: the lighter row
    (55.5, 14.0 * 12.00),
])
def test_eanm_fdg_3d_rows(weight: float, expected: float) -> None:
    rec = eanm("F18_FDG", weight)
    assert rec.activity_mbq == pytest.approx(expected)
    assert rec.table == "eanm" and rec.table_version == eanm_card.VERSION and rec.not_available_reason is None
    assert rec.unverified is False


def test_eanm_minimum_and_small_weights() -> None:
    # 3 kg row: 14 x 1 = 14 = the minimum; 4 kg: 15.96
    assert eanm("F18_FDG", 3).activity_mbq == pytest.approx(14.0)
    below = eanm("F18_FDG", 1.8)
    assert below.activity_mbq == pytest.approx(14.0) and "below 3 kg" in below.detail
    # 123I-mIBG: 28 x 1.14 = 31.9 at 4 kg is below the 37 MBq minimum -> 37
    mibg = eanm("I123_MIBG", 4)
    assert mibg.activity_mbq == 37.0 and "minimum" in mibg.detail and mibg.unverified is True
    # 2D FDG at 3 kg: 25.9 < 26 minimum
    assert eanm("F18_FDG", 3, "2D").activity_mbq == 26.0
    assert eanm("F18_FDG", 10, "2d").activity_mbq == pytest.approx(25.9 * 2.71)


def test_eanm_above_68_kg_uses_the_card_maximum() -> None:
    rec = eanm("I123_MIBG", 80)
    assert rec.activity_mbq == pytest.approx(28.0 * 14.0)
    assert "above 68 kg" in rec.detail


def test_eanm_missing_rows_are_not_available() -> None:
    for agent in ("F18_NAF", "I131_MIBG"):
        rec = eanm(agent, 20)
        assert rec.activity_mbq is None and rec.not_available_reason
    assert "North American" in eanm("F18_NAF", 20).not_available_reason


def test_eanm_dotatate_flagged_unverified() -> None:
    rec = eanm("GA68_DOTATATE", 30)
    assert rec.activity_mbq == pytest.approx(12.8 * 6.86) and rec.unverified is True


def test_north_america_weight_based_with_min_and_max() -> None:
    assert na("I123_MIBG", 20).activity_mbq == pytest.approx(104.0)  # 5.2 x 20
    assert na("I123_MIBG", 5).activity_mbq == 37.0  # 26 -> minimum 37
    assert na("I123_MIBG", 80).activity_mbq == 370.0  # 416 -> maximum 370
    fdg = na("F18_FDG", 20)
    assert fdg.activity_mbq == pytest.approx(74.0) and "3.7-5.2" in fdg.detail and fdg.unverified is True
    assert na("F18_FDG", 5).activity_mbq == 26.0  # 18.5 -> 2016 minimum 26
    assert na("F18_FDG", 200).activity_mbq == pytest.approx(740.0)  # no maximum in the table
    assert na("F18_NAF", 30).activity_mbq == pytest.approx(66.6)
    assert na("F18_NAF", 100).activity_mbq == 148.0
    assert na("GA68_DOTATATE", 3).activity_mbq == 14.0
    assert na("GA68_DOTATATE", 100).activity_mbq == 185.0
    rec = na("I131_MIBG", 20)
    assert rec.activity_mbq is None and rec.not_available_reason and rec.table_version == north_america.VERSION


def test_bad_input_raises_value_error() -> None:
    with pytest.raises(ValueError, match="unknown radiopharmaceutical"):
        na("TC99M_MDP", 20)
    with pytest.raises(ValueError, match="unknown dosage table"):
        recommended_activity(agent_code="F18_FDG", weight_kg=20, table="japan")
    with pytest.raises(ValueError, match="weight"):
        na("F18_FDG", 0)
    with pytest.raises(ValueError, match="acquisition"):
        eanm("F18_FDG", 20, "4D")


def test_deviation_percent() -> None:
    assert deviation_percent(110, 100) == pytest.approx(10.0)
    assert deviation_percent(90, 100) == pytest.approx(-10.0)
    assert deviation_percent(37, 37) == 0.0
    with pytest.raises(ValueError):
        deviation_percent(10, 0)


def test_missing_rows_are_named_per_table() -> None:
    """What trial set-up checks: 18F-NaF has no EANM row as shipped (not verified against the primary card) but
    has a North American one; 131I-MIBG has neither."""
    assert "not verified" in missing_row_reason(agent_code="F18_NAF", table="eanm")
    assert missing_row_reason(agent_code="F18_NAF", table=DosageTable.NORTH_AMERICA) is None
    assert missing_row_reason(agent_code="I131_MIBG", table="eanm") and missing_row_reason(agent_code="I131_MIBG", table="north_america")
    assert all(missing_row_reason(agent_code=a, table=t) is None for a in ("F18_FDG", "I123_MIBG", "GA68_DOTATATE") for t in DosageTable)


def test_the_fdg_recommendation_names_its_acquisition_mode() -> None:
    """EANM card, 18F-FDG at 20 kg (class B, x4.86): 2D 25.9 MBq baseline -> 125.874 MBq; 3D 14.0 -> 68.04 MBq."""
    assert (eanm("F18_FDG", 20, "2D").activity_mbq, eanm("F18_FDG", 20, "2D").acquisition) == (pytest.approx(125.874), "2D")
    assert (eanm("F18_FDG", 20).activity_mbq, eanm("F18_FDG", 20).acquisition) == (pytest.approx(68.04), "3D")
    assert eanm("I123_MIBG", 20, "2D").acquisition is None and na("F18_FDG", 20).acquisition is None
