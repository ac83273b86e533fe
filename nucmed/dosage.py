"""Recommended paediatric administered activity and the deviation of a dose from it (reference section 2).

Two tables: the EANM Paediatric Dosage Card (2016) and the North American consensus guidelines (SNMMI/SPR
2011/2016). The tables themselves live in nucmed/tables/eanm_card.py and nucmed/tables/north_america.py.
"""
import math
from dataclasses import dataclass
from enum import StrEnum

from nucmed.radiopharmaceuticals import BY_CODE
from nucmed.tables import eanm_card, north_america


class DosageTable(StrEnum):
    EANM = "eanm"
    NORTH_AMERICA = "north_america"


class Acquisition(StrEnum):
    """PET acquisition mode: the EANM card gives 18F-FDG a 2D and a 3D row (3D needs about half the activity)."""

    TWO_D = "2D"
    THREE_D = "3D"


def missing_row_reason(*, agent_code: str, table: DosageTable | str) -> str | None:
    """Why `table` has no row for `agent_code`, or None when it has one (what trial set-up checks)."""
    missing = eanm_card.MISSING if DosageTable(table) is DosageTable.EANM else north_america.MISSING
    return missing.get(agent_code)


@dataclass(frozen=True)
class DosageRecommendation:
    activity_mbq: float | None  # None when the table has no row for the agent (see not_available_reason)
    table: str  # DosageTable value
    table_version: str
    unverified: bool  # the row used carries an UNVERIFIED value from a secondary source
    detail: str  # how the number was obtained, for display and audit
    not_available_reason: str | None
    acquisition: str | None = None  # the FDG row's acquisition mode ("2D"/"3D") when the table has one per mode


def _eanm_row(weight_kg: float) -> tuple[float, float, dict[str, float], str]:
    """The card row for a weight, and a note when the weight was not on a row.

    Rounding rule (the card says "round the weight to the table's row"): a weight inside a row (3, 4, 6 ... 50 kg,
    or a span such as 52-54 kg) uses that row; a weight between rows uses the nearest row, and an exact tie
    (e.g. 5 kg between the 4 and 6 kg rows, 55 kg between 52-54 and 56-58) uses the LIGHTER row (ALARA: the
    lower activity). Below 3 kg the 3 kg row is used. Above 68 kg the card no longer applies: the reference
    says to use the adult activity / the maximum, so the 68 kg row (the card's maximum) is used and the detail
    says so, rather than extrapolating.
    """
    rows = eanm_card.ROWS
    if weight_kg < eanm_card.MIN_WEIGHT_KG:
        lo, hi, multiples = rows[0]
        return lo, hi, multiples, f"weight {weight_kg:g} kg is below 3 kg: 3 kg row used"
    if weight_kg > eanm_card.MAX_WEIGHT_KG:
        lo, hi, multiples = rows[-1]
        return lo, hi, multiples, (f"weight {weight_kg:g} kg is above 68 kg, where the card no longer applies: "
                                   "the card maximum (68 kg row, adult activity) used")
    for index, (lo, hi, multiples) in enumerate(rows):
        if lo <= weight_kg <= hi:
            return lo, hi, multiples, ""
        following = rows[index + 1]
        if hi < weight_kg < following[0]:
            if weight_kg - hi <= following[0] - weight_kg:
                return lo, hi, multiples, f"weight {weight_kg:g} kg rounded to the nearest row (ties to the lighter row)"
            return following[0], following[1], following[2], f"weight {weight_kg:g} kg rounded to the nearest row (ties to the lighter row)"
    raise AssertionError("unreachable: the rows cover 3-68 kg")


def _row_label(lo: float, hi: float) -> str:
    return f"{lo:g} kg" if lo == hi else f"{lo:g}-{hi:g} kg"


def _eanm(agent_code: str, weight_kg: float, acquisition: str | None) -> DosageRecommendation:
    table, version = DosageTable.EANM.value, eanm_card.VERSION
    if agent_code in eanm_card.MISSING:
        return DosageRecommendation(None, table, version, False, "", eanm_card.MISSING[agent_code])
    if agent_code == "F18_FDG":
        acquisition = (acquisition or Acquisition.THREE_D).upper()  # 3D is the default: modern PET scanners acquire in 3D
        if acquisition not in tuple(Acquisition):
            raise ValueError(f"acquisition must be '2D' or '3D', got {acquisition!r}")
    else:
        acquisition = None
    entry = next(e for e in eanm_card.ENTRIES if e.agent_code == agent_code and e.acquisition == acquisition)
    lo, hi, multiples, note = _eanm_row(weight_kg)
    multiple = multiples[entry.agent_class]
    computed = entry.baseline_mbq * multiple
    activity = max(computed, entry.minimum_mbq)
    detail = (f"EANM card 2016, {entry.label}: class {entry.agent_class}, baseline {entry.baseline_mbq:g} MBq x multiple "
              f"{multiple:g} ({_row_label(lo, hi)} row) = {computed:.1f} MBq")
    if activity > computed:
        detail += f"; raised to the minimum activity {entry.minimum_mbq:g} MBq"
    if note:
        detail += f"; {note}"
    if entry.unverified:
        detail += f"; {entry.note}"
    return DosageRecommendation(activity, table, version, entry.unverified, detail, None, acquisition)


def _north_america(agent_code: str, weight_kg: float) -> DosageRecommendation:
    table, version = DosageTable.NORTH_AMERICA.value, north_america.VERSION
    if agent_code in north_america.MISSING:
        return DosageRecommendation(None, table, version, False, "", north_america.MISSING[agent_code])
    entry = next(e for e in north_america.ENTRIES if e.agent_code == agent_code)
    computed = entry.mbq_per_kg * weight_kg
    activity = max(computed, entry.minimum_mbq)
    if entry.maximum_mbq is not None:
        activity = min(activity, entry.maximum_mbq)
    rate = f"{entry.mbq_per_kg:g} MBq/kg"
    if entry.mbq_per_kg_range:
        rate += f" (low end of the published {entry.mbq_per_kg_range[0]:g}-{entry.mbq_per_kg_range[1]:g} MBq/kg, ALARA)"
    detail = f"North American consensus, {entry.label}: {rate} x {weight_kg:g} kg = {computed:.1f} MBq"
    if activity > computed:
        detail += f"; raised to the minimum {entry.minimum_mbq:g} MBq"
    elif activity < computed:
        detail += f"; capped at the maximum {entry.maximum_mbq:g} MBq"
    if entry.unverified:
        detail += f"; {entry.note}"
    return DosageRecommendation(activity, table, version, entry.unverified, detail, None)


def recommended_activity(*, agent_code: str, weight_kg: float, table: DosageTable | str, acquisition: str | None = None) -> DosageRecommendation:
    """The recommended activity (MBq) for a child of `weight_kg` under the chosen table (reference section 2).

    `acquisition` ("2D"/"3D", default 3D) selects the 18F-FDG row of the EANM card and is ignored otherwise.
    An agent the table has no row for gives activity_mbq None with not_available_reason.
    Raises ValueError for an agent code not in the catalogue, an unknown table or a non-positive weight.
    """
    if agent_code not in BY_CODE:
        raise ValueError(f"unknown radiopharmaceutical code {agent_code!r}")
    try:
        table = DosageTable(table)
    except ValueError:
        raise ValueError(f"unknown dosage table {table!r}; expected one of {[t.value for t in DosageTable]}") from None
    if not (math.isfinite(weight_kg) and weight_kg > 0):
        raise ValueError(f"weight must be a positive number of kg, got {weight_kg!r}")
    if table is DosageTable.EANM:
        return _eanm(agent_code, weight_kg, acquisition)
    return _north_america(agent_code, weight_kg)


def deviation_percent(administered_mbq: float, recommended_mbq: float) -> float:
    """(administered - recommended) / recommended x 100: positive when more than recommended was given."""
    if not (math.isfinite(recommended_mbq) and recommended_mbq > 0):
        raise ValueError(f"recommended activity must be positive, got {recommended_mbq!r}")
    if not math.isfinite(administered_mbq):
        raise ValueError(f"administered activity must be a number, got {administered_mbq!r}")
    return (administered_mbq - recommended_mbq) / recommended_mbq * 100.0
