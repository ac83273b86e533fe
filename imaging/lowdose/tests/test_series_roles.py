"""The role of each PET series of a study, from injected activity, frame duration and derivation (no database)."""
import pytest

from imaging.lowdose.services import SeriesAttributes, check_criteria, series_roles
from registry.errors import ApplicationError


def test_roles_from_activity_frame_and_derivation() -> None:
    roles = series_roles([
        SeriesAttributes(1, 180.0, 120_000, ""),  # standard: full activity, 2 min per bed
        SeriesAttributes(2, 30.0, 180_000, ""),  # one sixth of the activity (a longer frame does not make it standard)
        SeriesAttributes(3, 180.0, 60_000, ""),  # the same activity reconstructed from 1 min per bed: short scan
        SeriesAttributes(4, 30.0, 180_000, "Enhanced by demo-smoothing 1.0"),  # derived
        SeriesAttributes(5, None, None, ""),  # nothing known: no role
    ])
    assert roles == {1: "standard", 2: "low_activity", 3: "short_scan", 4: "enhanced"}


def test_half_the_activity_is_the_boundary() -> None:
    assert series_roles([SeriesAttributes(1, 100.0, 120_000, ""), SeriesAttributes(2, 50.0, 120_000, "")])[2] == "low_activity"
    assert series_roles([SeriesAttributes(1, 100.0, 120_000, ""), SeriesAttributes(2, 51.0, 120_000, "")])[2] == "standard"


def test_criteria_are_checked() -> None:
    assert check_criteria([{"metric": "ssim", "min": 0.9}]) == [{"metric": "ssim", "min": 0.9}]
    for bad in ([{"metric": "ssim"}], [{"metric": "ssim", "min": True}], [{"metric": "nope", "max": 1}], {"metric": "ssim"},
                [{"metric": "ssim", "min": 0.9, "max": 1}]):
        with pytest.raises(ApplicationError):
            check_criteria(bad)
