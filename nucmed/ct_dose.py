"""CT effective dose from the dose-length product, per irradiation event: E = sum over events of k(region, age) x DLP.

k-factors and the CTDI phantom each one assumes: nucmed/tables/ct_k_factors.py (versioned). Age band: the platform's
one rule (nucmed/age_bands.py); the k-factor tables have no 15 y column, so the 15 y band uses the 10 y column.

Each event keeps its own region factor (a head scan and a trunk scan of one exam are not summed under one k), and
its DLP is put on the phantom basis of its k-factor first: a DLP on the 32 cm phantom for a paediatric k-factor
(16 cm basis) is multiplied by f32(Dw)/f16(Dw) of AAPM Report 204 (nucmed/ssde.py), which needs the patient's
water-equivalent diameter. Without it, or with an unknown phantom, that event's dose is "not available" with the
reason (never the unconverted value: that was the two-fold underestimate of the 2026.1 table).
"""
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from nucmed import age_bands, ssde
from nucmed.tables import ct_k_factors as tables

# Region spellings accepted (DICOM SR / UI variants) -> table code.
_REGION_ALIASES = {
    "head": "head", "brain": "head",
    "chest": "chest", "thorax": "chest",
    "abdomen_pelvis": "abdomen_pelvis", "abdomen-pelvis": "abdomen_pelvis", "abdomen pelvis": "abdomen_pelvis", "abdomen": "abdomen_pelvis",
    "trunk": "trunk", "whole_body": "trunk", "whole body": "trunk", "whole-body": "trunk", "chest_abdomen_pelvis": "trunk",
}


@dataclass(frozen=True)
class CtDose:
    """The dose of one irradiation event (or one DLP)."""

    msv: float | None
    k: float | None  # mSv/(mGy·cm)
    age_band: str  # the k-factor column used: "0y", "1y", "5y", "10y", "adult"
    region: str  # the table region used, or the region given when unknown
    phantom_cm: int | None  # the phantom the DLP was reported on: 16 or 32 (CTDIPhantomTypeCodeSequence), None when unknown
    table_version: str
    unverified: bool
    not_available_reason: str | None
    phantom_caution: str | None = None
    dlp_mgy_cm: float | None = None  # as reported
    basis_cm: int | None = None  # the phantom the k-factor assumes
    phantom_factor: float | None = None  # DLP on the basis = phantom_factor x reported DLP
    dw_cm: float | None = None  # water-equivalent diameter used for the conversion
    age_group: str = ""  # the band of the age (nucmed.age_bands) before the table's column is chosen


@dataclass(frozen=True)
class CtEvent:
    """One irradiation event: from a CT Radiation Dose SR, or one CT series' CTDIvol x scan length."""

    dlp_mgy_cm: float
    region: str
    phantom_cm: int | None
    ctdivol_mgy: float | None = None
    dw_cm: float | None = None
    label: str = ""


@dataclass(frozen=True)
class CtExamDose:
    msv: float | None  # None when any event's dose is not available (a partial sum is never shown as the total)
    by_region: dict[str, float]  # mSv per table region, of the events that could be computed
    events: list[CtDose] = field(default_factory=list)
    table_version: str = tables.VERSION
    not_available_reason: str | None = None


def _at_or_below(age_years: float) -> str:
    """The band of the 2026.1 table: the band at or below the completed years (0 y < 1, 1 y 1-4, 5 y 5-9, 10 y 10-17)."""
    completed = age_bands.completed_years(age_years)
    for band, start in (("adult", 18), ("10y", 10), ("5y", 5), ("1y", 1)):
        if completed >= start:
            return band
    return "0y"


def ct_age_band(age_years: float, table_version: str = tables.VERSION) -> str:
    """The k-factor column for an age: nucmed.age_bands' band, the 15 y band on the 10 y column."""
    table = k_table(table_version)
    if table.band_rule == "at_or_below":
        return _at_or_below(age_years)
    column = age_bands.column_for(age_bands.age_band(age_years), table.bands)
    assert column is not None  # every table has columns
    return column


def k_table(version: str) -> tables.KTable:
    """The k-factor table of a version. Raises ValueError (with the reason) for a version that is not shipped."""
    if version in tables.TABLES:
        return tables.TABLES[version]
    reason = tables.NOT_AVAILABLE.get(version, f"unknown CT k-factor table version {version!r} (shipped: {', '.join(tables.TABLES)})")
    raise ValueError(reason)


def region_code(region: str) -> str | None:
    return _REGION_ALIASES.get(region.strip().lower())


def dlp_from_ctdivol(ctdivol_mgy: float, scan_length_cm: float) -> float:
    """DLP (mGy·cm) = CTDIvol (mGy) x scan length (cm), for a CT without a Radiation Dose SR."""
    for name, value in (("CTDIvol", ctdivol_mgy), ("scan length", scan_length_cm)):
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a non-negative number, got {value!r}")
    return ctdivol_mgy * scan_length_cm


def _phantom_factor(code: str, phantom_cm: int | None, basis: int, dw_cm: float | None) -> tuple[float | None, str | None]:
    """(multiplier from the reported phantom to the k-factor's basis, reason when there is none)."""
    if phantom_cm is None:
        return None, f"The CTDI phantom of the DLP is not known: the k-factor assumes the {basis} cm phantom."
    if phantom_cm == basis:
        return 1.0, None
    if code == "head":
        return None, f"Head DLP on the {phantom_cm} cm phantom: AAPM 204 gives no head conversion to the {basis} cm basis."
    if dw_cm is None:
        return None, (f"DLP on the {phantom_cm} cm phantom and k-factor on the {basis} cm basis: the conversion (AAPM 204) needs the "
                      "water-equivalent diameter measured on the CT images, and none was measured.")
    if not ssde.in_fit_range(dw_cm):
        return None, f"Water-equivalent diameter {dw_cm:.1f} cm is outside the AAPM 204 range used for the phantom conversion."
    ratio = ssde.phantom_32_to_16(dw_cm)
    return (ratio if phantom_cm == 32 else 1.0 / ratio), None


def ct_effective_dose(*, dlp_mgy_cm: float, age_years: float, region: str, phantom_cm: int | None, dw_cm: float | None = None,
                      table_version: str = tables.VERSION) -> CtDose:
    """Effective dose (mSv) of one CT irradiation event from its DLP (reference section 4).

    A region outside the table (e.g. extremities), an unknown phantom, or a phantom conversion without the
    water-equivalent diameter gives msv None with not_available_reason.
    Raises ValueError for a negative or non-finite DLP, a negative age, a phantom other than 16/32/None or a table
    version that is not shipped.
    """
    if not (math.isfinite(dlp_mgy_cm) and dlp_mgy_cm >= 0):
        raise ValueError(f"DLP must be a non-negative number of mGy·cm, got {dlp_mgy_cm!r}")
    if phantom_cm not in (16, 32, None):
        raise ValueError(f"phantom must be 16 or 32 cm (or unknown), got {phantom_cm!r}")
    table = k_table(table_version)
    band = ct_age_band(age_years, table_version)
    group = age_bands.age_band(age_years) if table.band_rule == "nearest" else band
    code = region_code(region)
    common = {"dlp_mgy_cm": dlp_mgy_cm, "dw_cm": dw_cm, "age_group": group}
    if code is None:
        return CtDose(None, None, band, region, phantom_cm, table.version, table.unverified,
                      f"no k-factor for region {region!r} (table regions: {', '.join(tables.REGIONS)})", **common)
    k = table.k[code][band]
    if table.phantom_cm is None:  # the 2026.1 table: the DLP as reported, with a caution
        caution = None
        if phantom_cm is None:
            caution = "CTDI phantom unknown: the DLP cannot be checked against the k-factor's phantom"
        elif code != "head" and phantom_cm == 16:
            caution = "body region with DLP on the 16 cm phantom: no conversion applied; compare only with 16 cm doses"
        return CtDose(k * dlp_mgy_cm, k, band, code, phantom_cm, table.version, table.unverified, None, caution, phantom_factor=1.0, **common)
    basis = table.phantom_cm[code][band]
    factor, reason = _phantom_factor(code, phantom_cm, basis, dw_cm)
    if factor is None:
        return CtDose(None, k, band, code, phantom_cm, table.version, table.unverified, reason, basis_cm=basis, **common)
    return CtDose(k * factor * dlp_mgy_cm, k, band, code, phantom_cm, table.version, table.unverified, None, basis_cm=basis,
                  phantom_factor=factor, **common)


def ct_exam_dose(*, events: Iterable[CtEvent], age_years: float, table_version: str = tables.VERSION) -> CtExamDose:
    """The CT dose of one exam: each event with its own region factor and phantom conversion, summed per region and in total."""
    doses = [ct_effective_dose(dlp_mgy_cm=e.dlp_mgy_cm, age_years=age_years, region=e.region, phantom_cm=e.phantom_cm, dw_cm=e.dw_cm,
                               table_version=table_version) for e in events]
    by_region: dict[str, float] = {}
    for dose in doses:
        if dose.msv is not None:
            by_region[dose.region] = by_region.get(dose.region, 0.0) + dose.msv
    missing = next((d.not_available_reason for d in doses if d.msv is None), None)
    if not doses:
        missing = "No CT irradiation event."
    total = None if missing else sum(by_region.values())
    return CtExamDose(total, by_region, doses, table_version, missing)
