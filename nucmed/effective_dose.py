"""Effective dose of an administered radiopharmaceutical: E = coefficient(agent, age band) x activity (reference section 3).

Coefficients in nucmed/tables/icrp_effective_dose.py. The age band is the platform's one rule (nucmed/age_bands.py);
the table has no newborn column, so the 0 y band uses the 1 y column (the result says so). A band without a
coefficient gives "not available".
"""
import math
from dataclasses import dataclass

from nucmed import age_bands
from nucmed.radiopharmaceuticals import BY_CODE
from nucmed.tables import icrp_effective_dose as table


@dataclass(frozen=True)
class EffectiveDose:
    msv: float | None
    coefficient_msv_per_mbq: float | None
    age_band: str | None  # the table column used: "1y", "5y", "10y", "15y" or "adult"
    table_version: str
    unverified: bool
    not_available_reason: str | None
    age_group: str = ""  # the band of the age (nucmed.age_bands), "0y" for an infant whose column is "1y"


def age_band(age_years: float) -> str:
    """The column of this table for an age at the exam: the band of nucmed.age_bands (edges 1, 3, 8, 13, 18 completed
    years), the 0 y band falling back to the 1 y column (no newborn coefficients in ICRP 53/80/106/128 as shipped)."""
    column = age_bands.column_for(age_bands.age_band(age_years), table.AGE_BANDS)
    assert column is not None  # the table has columns
    return column


def radiopharmaceutical_effective_dose(*, agent_code: str, activity_mbq: float, age_years: float) -> EffectiveDose:
    """Effective dose (mSv) of `activity_mbq` of the agent given at `age_years` (reference section 3).

    Returns msv None with not_available_reason when the table has no coefficient for the agent at that band.
    Raises ValueError for an unknown agent code, a negative activity or a negative age.
    """
    if agent_code not in BY_CODE:
        raise ValueError(f"unknown radiopharmaceutical code {agent_code!r}")
    if not (math.isfinite(activity_mbq) and activity_mbq >= 0):
        raise ValueError(f"activity must be a non-negative number of MBq, got {activity_mbq!r}")
    band = age_band(age_years)
    group = age_bands.age_band(age_years)
    coefficient = table.COEFFICIENTS.get(agent_code, {}).get(band)
    if coefficient is None:
        reason = f"{BY_CODE[agent_code].name}, age band {band}: {table.MISSING_REASON.get(agent_code, 'no coefficient')}"
        return EffectiveDose(None, None, band, table.VERSION, False, reason, group)
    return EffectiveDose(activity_mbq * coefficient.msv_per_mbq, coefficient.msv_per_mbq, band, table.VERSION, coefficient.unverified, None,
                         group)
