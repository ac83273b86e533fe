"""CT effective dose per DLP, k in mSv/(mGy·cm), by body region and age (reference section 4), as versioned tables.

Every stored CT dose names the table version that produced it; a new version never changes an old result (the dose
step keeps a result's version; `manage.py dose_recompute --table-version` moves results on purpose, audited).

- `ct-k-icrp60-shrimpton/nbnm-2026.2` (current): Shrimpton's k-factors (ICRP 60 tissue weights) as tabulated in
  PMC3326072, with the CTDI phantom they assume declared: every paediatric column on the 16 cm phantom for every
  region (Shrimpton & Wall 2000: paediatric reference dosimetry "based solely on measurements involving the smaller
  (16 cm diameter)" phantom); the adult column on the 16 cm phantom for the head and the 32 cm phantom for the body.
  A DLP on the other phantom is converted with the AAPM 204 ratio (nucmed/ssde.py).
- `ct-k-factors-shrimpton/nbnm-2026.1` (previous): the same k-values applied to the DLP as reported (no phantom
  conversion) with the "at or below" age band; kept only so results stored with it can be reproduced.
- ICRP 103 (Deak et al., Radiology 2010;257:158, Table values; Lee 2012 for ages): NOT AVAILABLE, see NOT_AVAILABLE.
  Lee et al., Med Phys 2012;39(4):2129-2146, Table XII ("NCI ED103") was read, but not the CTDI phantom its DLP is
  expressed on; a k-factor applied on the wrong phantom is the two-fold error of defect 1, so it is not shipped.
"""
from dataclasses import dataclass, field

REGIONS: tuple[str, ...] = ("head", "chest", "abdomen_pelvis", "trunk")
AGE_BANDS: tuple[str, ...] = ("0y", "1y", "5y", "10y", "adult")
PAEDIATRIC: tuple[str, ...] = ("0y", "1y", "5y", "10y")

_SHRIMPTON: dict[str, dict[str, float]] = {
    "head": {"0y": 0.011, "1y": 0.0067, "5y": 0.0040, "10y": 0.0032, "adult": 0.0021},
    "chest": {"0y": 0.039, "1y": 0.026, "5y": 0.018, "10y": 0.013, "adult": 0.014},
    "abdomen_pelvis": {"0y": 0.049, "1y": 0.030, "5y": 0.020, "10y": 0.015, "adult": 0.015},
    "trunk": {"0y": 0.044, "1y": 0.028, "5y": 0.019, "10y": 0.014, "adult": 0.015},  # whole body
}


def _shrimpton_phantoms() -> dict[str, dict[str, int]]:
    return {region: {band: 16 if band in PAEDIATRIC or region == "head" else 32 for band in AGE_BANDS} for region in REGIONS}


@dataclass(frozen=True)
class KTable:
    version: str
    source: str
    k: dict[str, dict[str, float]]
    # CTDI phantom (cm) the k-factor assumes, per region and band; None: the DLP is used as reported (no conversion).
    phantom_cm: dict[str, dict[str, int]] | None
    # "nearest" (nucmed.age_bands, the platform's rule) or "at_or_below" (the rule of the 2026.1 results).
    band_rule: str = "nearest"
    unverified: bool = False
    bands: tuple[str, ...] = field(default=AGE_BANDS)


ICRP60 = KTable(
    version="ct-k-icrp60-shrimpton/nbnm-2026.2",
    source=("Shrimpton (ICRP 60 tissue weights) as tabulated in PMC3326072 (NBNM reference facts section 4); phantom basis: "
            "Shrimpton & Wall, Radiat Prot Dosimetry 2000;90:249 (paediatric on the 16 cm phantom); 32->16 cm by the AAPM 204 fits"),
    k=_SHRIMPTON, phantom_cm=_shrimpton_phantoms())
LEGACY = KTable(
    version="ct-k-factors-shrimpton/nbnm-2026.1",
    source="Shrimpton (ICRP 60 tissue weights), as tabulated in PMC3326072; DLP as reported, band at or below the age",
    k=_SHRIMPTON, phantom_cm=None, band_rule="at_or_below")

TABLES: dict[str, KTable] = {t.version: t for t in (ICRP60, LEGACY)}
CURRENT = ICRP60
VERSION = CURRENT.version
SOURCE = CURRENT.source

# Versions that were asked for and are not shipped, with the reason (never a guessed value).
NOT_AVAILABLE: dict[str, str] = {
    "ct-k-icrp103-deak2010": ("ICRP 103 k-factors (Deak et al., Radiology 2010;257:158; Lee 2012 for ages) are not shipped: only the "
                              "abstract of Deak 2010 was read (an increase of about 76 % for chest CT in 5-year-olds), not its "
                              "table of k-factors, so no value could be checked against the publication's page and table."),
    "ct-k-icrp103-lee2012": ("ICRP 103 k-factors of Lee, Kim, Long & Bolch, Med Phys 2012;39(4):2129-2146, Table XII ('NCI ED103', "
                             "PMC3326072) are not shipped: the table's values were read, but not the article's methods, so the CTDI "
                             "phantom (16 or 32 cm) on which its body DLP is expressed could not be established from the text; "
                             "applied on the wrong phantom a k-factor is wrong by a factor of about 2 (docs/physics.md section 4)."),
}
