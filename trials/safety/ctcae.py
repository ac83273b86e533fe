"""CTCAE terms as versioned reference data, read lazily from the CSV shipped in trials/safety/data/.

Each term has its MedDRA code, system organ class and the text of each grade; a grade whose text is
empty does not exist for that term (e.g. many terms have no grade 5) and is refused.
"""
import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from registry.errors import ApplicationError

DATA_DIR = Path(__file__).resolve().parent / "data"
CURRENT_VERSION = "5.0"
VERSIONS = {"5.0": {"file": "ctcae_v5.0.csv", "published": "2017-11-27",
                    "source": "NCI CTCAE_v5.0_2017-11-27.xlsx (public domain)"}}
OTHER_SPECIFY = "Other, specify"
GRADES = (1, 2, 3, 4, 5)
GRADE_MEANINGS = {1: _("Mild"), 2: _("Moderate"), 3: _("Severe or medically significant"), 4: _("Life-threatening"),
                  5: _("Death related to AE")}


@dataclass(frozen=True)
class Term:
    meddra_code: str
    soc: str
    term: str
    grades: dict[int, str]  # only the grades that exist for this term
    definition: str
    navigational_note: str

    @property
    def needs_specify(self) -> bool:
        """ "Other, specify" terms name the event in free text."""
        return OTHER_SPECIFY in self.term


@cache
def terms(version: str = CURRENT_VERSION) -> dict[str, Term]:
    """All terms of a CTCAE version, by MedDRA code."""
    if version not in VERSIONS:
        raise ApplicationError(gettext("CTCAE version %(version)s is not available.") % {"version": version}, code="invalid")
    with (DATA_DIR / VERSIONS[version]["file"]).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {row["meddra_code"]: Term(meddra_code=row["meddra_code"], soc=row["meddra_soc"], term=row["term"],
                                     grades={g: row[f"grade_{g}"] for g in GRADES if row[f"grade_{g}"].strip()},
                                     definition=row["definition"], navigational_note=row["navigational_note"])
            for row in rows}


def term_for(meddra_code: str, version: str = CURRENT_VERSION) -> Term:
    term = terms(version).get(str(meddra_code))
    if term is None:
        raise ApplicationError(gettext("MedDRA code %(code)s is not a CTCAE v%(version)s term.")
                               % {"code": meddra_code, "version": version}, code="invalid",
                               fields={"meddra_code": [gettext("Not a CTCAE term.")]})
    return term


def check_grade(term: Term, grade: int) -> None:
    if grade not in term.grades:
        allowed = ", ".join(str(g) for g in sorted(term.grades))
        message = gettext("%(term)s has no grade %(grade)s in CTCAE v%(version)s (its grades: %(allowed)s).") % {
            "term": term.term, "grade": grade, "version": CURRENT_VERSION, "allowed": allowed}
        raise ApplicationError(message, code="invalid", fields={"grade": [message]})


def search(text: str, *, version: str = CURRENT_VERSION, soc: str = "", limit: int = 50) -> list[Term]:
    """Terms whose name (or MedDRA code) contains `text`, names starting with it first."""
    needle = text.strip().lower()
    found = [t for t in terms(version).values()
             if (not needle or needle in t.term.lower() or needle == t.meddra_code) and (not soc or t.soc == soc)]
    found.sort(key=lambda t: (not t.term.lower().startswith(needle), t.term.lower()))
    return found[:limit]
