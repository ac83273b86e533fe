"""Effective dose of an administered radiopharmaceutical: E = coefficient(agent, age band) x activity (reference section 3).

Coefficients in nucmed/tables/icrp_effective_dose.py. A band without a coefficient gives "not available".
"""
import math
from dataclasses import dataclass

from nucmed.radiopharmaceuticals import BY_CODE
from nucmed.tables import icrp_effective_dose as table


@dataclass(frozen=True)
class EffectiveDose:
    msv: float | None
    coefficient_msv_per_mbq: float | None
    age_band: str | None  # "1y", "5y", "10y", "15y" or "adult"
    table_version: str
    unverified: bool
    not_available_reason: str | None


def age_band(age_years: float) -> str:
    """The band of section 3 for an age at the exam, on completed years (age 2.9 is 2 -> "1y").

    1 y for 0-2, 5 y for 3-7, 10 y for 8-12, 15 y for 13-17, adult for 18 and over.
    """
    if not (math.isfinite(age_years) and age_years >= 0):
        raise ValueError(f"age must be a non-negative number of years, got {age_years!r}")
    completed = math.floor(age_years)
    if completed <= 2:
        return "1y"
    if completed <= 7:
        return "5y"
    if completed <= 12:
        return "10y"
    if completed <= 17:
        return "15y"
    return "adult"


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
    coefficient = table.COEFFICIENTS.get(agent_code, {}).get(band)
    if coefficient is None:
        reason = f"{BY_CODE[agent_code].name}, age band {band}: {table.MISSING_REASON.get(agent_code, 'no coefficient')}"
        return EffectiveDose(None, None, band, table.VERSION, False, reason)
    return EffectiveDose(activity_mbq * coefficient.msv_per_mbq, coefficient.msv_per_mbq, band, table.VERSION, coefficient.unverified, None)
