"""CT effective dose from the dose-length product: E = k(region, age) x DLP (reference section 4).

k-factors in nucmed/tables/ct_k_factors.py.

Phantom: paediatric body DLP may be reported on the 16 cm or the 32 cm CTDI phantom. The reference table does
not say which phantom its k-factors assume, so no conversion between phantoms is applied (none is invented):
the DLP is used as reported, the phantom is recorded on the result, and `phantom_caution` says when the
combination needs a physicist's eye (phantom unknown, or a body region on the 16 cm phantom, the case where
a 16/32 cm mix-up changes the dose about two-fold). Doses on different phantoms must not be mixed.
"""
import math
from dataclasses import dataclass

from nucmed.tables import ct_k_factors as table

# Region spellings accepted (DICOM SR / UI variants) -> table code.
_REGION_ALIASES = {
    "head": "head", "brain": "head",
    "chest": "chest", "thorax": "chest",
    "abdomen_pelvis": "abdomen_pelvis", "abdomen-pelvis": "abdomen_pelvis", "abdomen pelvis": "abdomen_pelvis", "abdomen": "abdomen_pelvis",
    "trunk": "trunk", "whole_body": "trunk", "whole body": "trunk", "whole-body": "trunk", "chest_abdomen_pelvis": "trunk",
}


@dataclass(frozen=True)
class CtDose:
    msv: float | None
    k: float | None  # mSv/(mGy·cm)
    age_band: str  # "0y", "1y", "5y", "10y", "adult"
    region: str  # the table region used, or the region given when unknown
    phantom_cm: int | None  # 16 or 32 (CTDIPhantomTypeCodeSequence), None when unknown
    table_version: str
    unverified: bool
    not_available_reason: str | None
    phantom_caution: str | None = None


def ct_age_band(age_years: float) -> str:
    """The k-factor age band: the nearest band AT OR BELOW the age in completed years.

    0 y below 1, 1 y for 1-4, 5 y for 5-9, 10 y for 10-17, adult from 18. Choosing the band at or below
    gives the larger k for a child between bands (the conservative, higher dose estimate).
    """
    if not (math.isfinite(age_years) and age_years >= 0):
        raise ValueError(f"age must be a non-negative number of years, got {age_years!r}")
    completed = math.floor(age_years)
    if completed >= 18:
        return "adult"
    if completed >= 10:
        return "10y"
    if completed >= 5:
        return "5y"
    if completed >= 1:
        return "1y"
    return "0y"


def dlp_from_ctdivol(ctdivol_mgy: float, scan_length_cm: float) -> float:
    """DLP (mGy·cm) = CTDIvol (mGy) x scan length (cm), for a CT without a Radiation Dose SR."""
    for name, value in (("CTDIvol", ctdivol_mgy), ("scan length", scan_length_cm)):
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a non-negative number, got {value!r}")
    return ctdivol_mgy * scan_length_cm


def ct_effective_dose(*, dlp_mgy_cm: float, age_years: float, region: str, phantom_cm: int | None) -> CtDose:
    """Effective dose (mSv) of a CT acquisition from its DLP (reference section 4).

    A region outside the table (e.g. extremities) gives msv None with not_available_reason.
    Raises ValueError for a negative or non-finite DLP, a negative age or a phantom other than 16/32/None.
    """
    if not (math.isfinite(dlp_mgy_cm) and dlp_mgy_cm >= 0):
        raise ValueError(f"DLP must be a non-negative number of mGy·cm, got {dlp_mgy_cm!r}")
    if phantom_cm not in (16, 32, None):
        raise ValueError(f"phantom must be 16 or 32 cm (or unknown), got {phantom_cm!r}")
    band = ct_age_band(age_years)
    code = _REGION_ALIASES.get(region.strip().lower())
    if code is None:
        return CtDose(None, None, band, region, phantom_cm, table.VERSION, table.UNVERIFIED,
                      f"no k-factor for region {region!r} (table regions: {', '.join(table.REGIONS)})")
    caution = None
    if phantom_cm is None:
        caution = "CTDI phantom unknown: the DLP cannot be checked against the k-factor's phantom"
    elif code != "head" and phantom_cm == 16:
        caution = "body region with DLP on the 16 cm phantom: no conversion applied; compare only with 16 cm doses"
    k = table.K_FACTORS[code][band]
    return CtDose(k * dlp_mgy_cm, k, band, code, phantom_cm, table.VERSION, table.UNVERIFIED, None, caution)
