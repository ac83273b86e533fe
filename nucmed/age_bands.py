"""The one age-band rule for every age-dependent coefficient table (effective dose per MBq, CT k-factors).

Dose tables are tabulated at the reference ages of the ICRP/ORNL paediatric phantom series: newborn ("0y"),
1, 5, 10 and 15 years, and adult. A child between two reference ages is assigned to the NEAREST reference age,
the option the NCI dosimetry tools (Lee et al.) give for "ages that fall between the ICRP-defined groups"
(select the closest age group, rather than interpolate). The age is counted in completed years (the age at the
last birthday, as every dosage card and registry form uses it) and a tie goes to the older reference age. With
the adult taken as 20 years (NCI dose tools: "adult (typically considered over 20 years)") this gives:

    completed years   0     1-2   3-7   8-12   13-17   18+
    band              0y    1y    5y    10y    15y     adult

i.e. band edges at exactly 1.0, 3.0, 8.0, 13.0 and 18.0 years (these are also the age ranges the reference facts
quote for the effective-dose table: "1 y for 0-2 y, 5 y for 3-7 y, 10 y for 8-12 y, 15 y for 13-17 y").

A table without a column for the band (no newborn coefficient for radiopharmaceuticals; no 15 y k-factor for CT)
uses the nearest column it has, preferring the younger one (the younger column gives the higher coefficient per
unit activity or DLP, so the estimate errs on the side of the child). The result always names both the band and
the column used.
"""
import math

BANDS: tuple[str, ...] = ("0y", "1y", "5y", "10y", "15y", "adult")
# Reference age in years of each band; the adult is 20 (NCI dose tools' convention).
REFERENCE_AGE: dict[str, int] = {"0y": 0, "1y": 1, "5y": 5, "10y": 10, "15y": 15, "adult": 20}
RULE = ("nearest ICRP reference age (0, 1, 5, 10, 15 y, adult = 20 y) to the age in completed years, ties to the older; "
        "edges 1, 3, 8, 13, 18 y (NCI dose tools, Lee et al.: select the closest age group)")


def completed_years(age_years: float) -> int:
    if not (math.isfinite(age_years) and age_years >= 0):
        raise ValueError(f"age must be a non-negative number of years, got {age_years!r}")
    return math.floor(age_years)


def age_band(age_years: float) -> str:
    """The band of an age at the exam (see the module docstring). Raises ValueError for a negative or non-finite age."""
    years = completed_years(age_years)
    # Nearest reference age; on a tie the later (older) band wins because of the <= comparison.
    best = BANDS[0]
    for band in BANDS:
        if abs(years - REFERENCE_AGE[band]) <= abs(years - REFERENCE_AGE[best]):
            best = band
    return best


def column_for(band: str, available: tuple[str, ...] | list[str] | set[str]) -> str | None:
    """The column of a table used for `band`: the band itself, else the nearest available column (younger first on a tie)."""
    if band in available:
        return band
    ordered = [b for b in BANDS if b in available]
    if not ordered:
        return None
    here = BANDS.index(band)
    return min(ordered, key=lambda b: (abs(BANDS.index(b) - here), BANDS.index(b) > here))
