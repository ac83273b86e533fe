"""The one age-band rule (nucmed.age_bands) at every band edge, through both tables that use it."""
import pytest

from nucmed import age_bands
from nucmed.ct_dose import ct_age_band
from nucmed.effective_dose import radiopharmaceutical_effective_dose

EDGES = [(0.0, "0y"), (0.99, "0y"), (1.0, "1y"), (2.99, "1y"), (3.0, "5y"), (7.99, "5y"), (8.0, "10y"), (12.99, "10y"),
         (13.0, "15y"), (17.99, "15y"), (18.0, "adult"), (80.0, "adult")]


@pytest.mark.parametrize(("age", "band"), EDGES)
def test_band_edges(age: float, band: str) -> None:
    """Nearest ICRP reference age (0, 1, 5, 10, 15, adult 20 y) to the completed years, ties to the older."""
    assert age_bands.age_band(age) == band


@pytest.mark.parametrize(("age", "band"), EDGES)
def test_effective_dose_and_ct_use_the_same_band(age: float, band: str) -> None:
    """Issue 15 defect 6: the effective-dose and CT band rules disagreed (a 3.0-year-old got 5 y for FDG, 1 y for CT)."""
    dose = radiopharmaceutical_effective_dose(agent_code="F18_FDG", activity_mbq=100, age_years=age)
    assert dose.age_group == band and dose.age_band == age_bands.column_for(band, ("1y", "5y", "10y", "15y", "adult"))
    assert ct_age_band(age) == age_bands.column_for(band, ("0y", "1y", "5y", "10y", "adult"))


def test_three_year_old_gets_the_5y_band_in_both_tables() -> None:
    """3.0 y is equidistant from the 1 y and 5 y reference ages: the tie goes to the older band, in both tables."""
    assert radiopharmaceutical_effective_dose(agent_code="F18_FDG", activity_mbq=100, age_years=3.0).coefficient_msv_per_mbq == 0.056
    assert ct_age_band(3.0) == "5y"


def test_missing_column_uses_the_nearest_younger_first() -> None:
    assert age_bands.column_for("15y", ("0y", "1y", "5y", "10y", "adult")) == "10y"
    assert age_bands.column_for("0y", ("1y", "5y")) == "1y"
    assert age_bands.column_for("5y", ()) is None


def test_negative_age_refused() -> None:
    with pytest.raises(ValueError):
        age_bands.age_band(-0.01)
