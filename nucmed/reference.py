"""Index of the reference tables behind the calculators: name, version, source, unverified items.

For display (API, admin, docs) so that a reader can see which table version produced a stored result.
"""
from dataclasses import dataclass

from nucmed import radiopharmaceuticals, response, scoring, ssde, suv, voi
from nucmed.tables import ct_k_factors, eanm_card, icrp_effective_dose, north_america, score_sheets


@dataclass(frozen=True)
class ReferenceTable:
    name: str
    version: str
    source: str
    unverified_items: tuple[str, ...]  # rows/values marked UNVERIFIED in the reference


def reference_tables() -> list[ReferenceTable]:
    """Every versioned table and method of nucmed, with the items flagged UNVERIFIED."""
    return [
        ReferenceTable("radiopharmaceuticals", radiopharmaceuticals.CATALOGUE_VERSION, radiopharmaceuticals.SOURCE, ()),
        ReferenceTable("eanm_card", eanm_card.VERSION, eanm_card.SOURCE,
                       tuple(f"{e.label}: {e.note}" for e in eanm_card.ENTRIES if e.unverified)),
        ReferenceTable("north_america", north_america.VERSION, north_america.SOURCE,
                       tuple(f"{e.label}: {e.note}" for e in north_america.ENTRIES if e.unverified)),
        ReferenceTable("effective_dose", icrp_effective_dose.VERSION, icrp_effective_dose.SOURCE,
                       tuple(f"{agent} {band}: {c.source}" for agent, bands in icrp_effective_dose.COEFFICIENTS.items()
                             for band, c in bands.items() if c.unverified)),
        ReferenceTable("ct_k_factors", ct_k_factors.VERSION, ct_k_factors.SOURCE, ()),
        ReferenceTable("ssde", ssde.VERSION, ssde.SOURCE, ("fit range 8-45 cm: bounds not re-read from AAPM Report 204",)),
        ReferenceTable("score_sheets", scoring.TABLE_VERSION,
                       "; ".join((score_sheets.CURIE_SOURCE, score_sheets.SIOPEN_SOURCE, score_sheets.KRENNING_SOURCE)), ()),
        ReferenceTable("suv", suv.METHOD_VERSION, "QIBA vendor-neutral SUV pseudo-code (NBNM reference facts section 5)", ()),
        ReferenceTable("voi", voi.METHOD_VERSION, "VOI statistics, SUVpeak 1 cm³ hottest sphere (PERCIST 1.0, Wahl, J Nucl Med "
                       "2009;50:122S), AUC-CSH (van Velden, EJNMMI 2011)", ()),
        ReferenceTable("inrc_mibg_bone", response.VERSION, response.SOURCE,
                       ("table number, page and thresholds 1.2/0.5/0.1 not re-read from the full text (abstract only)",)),
    ]
