"""Reading pages in the site-isolation matrix (see tests/matrix.py): the reading list, score sheets, and a reader's
blinded assignment, cases and case images.

The world is the reading API's (imaging/reading/tests/matrix_cases.py): hospital A's MIBG study of a subject of trial
T-R (central reader, trial monitor and sponsor hold their roles there) with submitted Curie sheets, hospital B's study,
and a blinded session in which investigator_a reads hospital B's series.
"""
from typing import Any

from imaging.reading import rules
from imaging.reading.tests import matrix_cases as api
from imaging.reading.tests.matrix_cases import arrange  # noqa: F401  (the world these cases run in)
from tests.matrix import AUTHENTICATED, Case, World, page_case, statuses

# The studies one may score: hospital A's staff, the data manager and the trial's central reader (not the trial monitor,
# who reads the submitted sheets through the API but scores nothing).
SCORABLE_A = api.SEE_A | {"central_reader"}
NOT_A = api.NOT_A
READER_ONLY = dict(ok={"investigator_a"}, hidden=api.EVERYONE_BUT_INV_A)  # an assignment is its reader's alone


def _page(**actors: Any) -> dict[str, int]:
    return statuses(kind="page", **actors)


def _sheet(world: World, actor: str) -> dict[str, str]:
    return {**{f"seg_{code}": "0" for code in rules.segment_codes("siopen")}, "action": "save", "timepoint": "baseline"}


sheet_args = lambda w: [w["study_a"].pk, "siopen"]  # noqa: E731
case_args = lambda w: [w["assignment"].pk, 1]  # noqa: E731

CASES: list[Case] = [
    page_case("reading list page", "web-reading-list", _page(ok=AUTHENTICATED)),
    page_case("score sheet page", "web-score-sheet", _page(ok=SCORABLE_A, hidden=NOT_A | {"trial_monitor"}), args=sheet_args),
    # Readers (investigators, the data manager, the central reader) save a draft; the service refuses the other roles
    # that see the study with its message (400).
    page_case("score sheet save", "web-score-sheet",
              statuses(kind="page write", ok={"investigator_a", "data_manager", "central_reader"},
                       invalid={"coordinator_a", "monitor_a"}, hidden=NOT_A | {"trial_monitor"}),
              method="post", args=sheet_args, data=_sheet),
    page_case("reading assignment page", "web-reading-assignment", _page(**READER_ONLY), args=lambda w: [w["assignment"].pk]),
    page_case("reading case page", "web-reading-case", _page(**READER_ONLY), args=case_args),
    page_case("reading case score", "web-reading-case", statuses(kind="page write", **READER_ONLY), method="post",
              args=case_args, data=lambda w, actor: {scale: str(v) for scale, v in api.SCORES.items()}),
    page_case("reading case image", "web-reading-case-image", statuses(kind="file", **READER_ONLY),
              args=lambda w: [w["assignment"].pk, 1, 0]),
]
