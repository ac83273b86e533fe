"""Data query pages in the site-isolation matrix (see tests/matrix.py): the query list, a query's thread with its
answer / close / re-open actions, and raising a query on a trial visit or a dose.

The thread cases run in the oversight API's world (trials/oversight/tests/matrix_cases.py: queries on adverse events
of trial T at hospitals A and B and of trial T2 at A); raising a query on a visit or a dose runs in the trials API's
world (trials/tests/matrix_cases.py), whose subjects have visits and doses.
"""
from typing import Any

from django.urls import reverse

from tests.matrix import AUTHENTICATED, Case, page_case, statuses
from trials.oversight.tests import matrix_cases as api
from trials.oversight.tests.matrix_cases import arrange  # noqa: F401  (the world of CASES)
from trials.tests import matrix_cases as trials_world

SEE_A = api.SEE_A
QUERY_HIDDEN = api.QUERY_HIDDEN  # coordinator_b, nobody, the sponsor (counts only) and the central reader
SITE_A = {"coordinator_a", "investigator_a", "data_manager"}
query_arg = api.query_arg


def _page(**actors: Any) -> dict[str, int]:
    return statuses(kind="page", **actors)


def _write(**actors: Any) -> dict[str, int]:
    return statuses(kind="page write", **actors)


def _action(name: str) -> Any:
    return lambda w: [w["query_a"].pk, name]


CASES: list[Case] = [
    # The list shows each actor exactly the queries they may read (a row links to its thread); sponsors see counts only.
    page_case("data query list page", "web-query-list", _page(ok=AUTHENTICATED), universe=api.QUERIES,
              row_id=lambda query: reverse("web-query-detail", args=[query.pk]),
              visible={"coordinator_a": {"query_a", "query_other", "query_answered_a"},
                       "investigator_a": {"query_a", "query_other", "query_answered_a"},
                       "monitor_a": {"query_a", "query_other", "query_answered_a"}, "coordinator_b": {"query_b"},
                       "data_manager": set(api.QUERIES), "nobody": set(), "sponsor": set(),
                       "trial_monitor": {"query_a", "query_b", "query_answered_a"}, "central_reader": set()}),
    page_case("data query page", "web-query-detail", _page(ok=SEE_A | {"trial_monitor"}, hidden=QUERY_HIDDEN), args=query_arg),
    # The site answers, monitors and data managers close and re-open; a role refused by the service gets its message (400).
    page_case("data query answer", "web-query-action",
              _write(ok=SITE_A, invalid={"monitor_a", "trial_monitor"}, hidden=QUERY_HIDDEN),
              method="post", args=_action("answer"), data=lambda w, actor: {"text": "Grade 3: Hgb 7.6 g/dL."}),
    page_case("data query close", "web-query-action",
              _write(ok=api.CLOSERS, invalid={"coordinator_a", "investigator_a"}, hidden=QUERY_HIDDEN),
              method="post", args=_action("close"), data=lambda w, actor: {"text": ""}),
    page_case("data query reopen", "web-query-action",
              _write(ok=api.CLOSERS, invalid={"coordinator_a", "investigator_a"}, hidden=QUERY_HIDDEN),
              method="post", args=lambda w: [w["query_answered_a"].pk, "reopen"],
              data=lambda w, actor: {"text": "Please attach the note."}),
    page_case("data query unknown action", "web-query-action", _write(hidden=set(AUTHENTICATED)), method="post",
              args=_action("delete"), data=lambda w, actor: {"text": "x"}),
]

# Monitors (of the hospital or the trial) and data managers raise queries on what the site entered; the site, the
# sponsor and the central reader see the visit or dose but do not query it (403).
RAISERS = {"monitor_a", "data_manager", "trial_monitor"}
NOT_RAISERS = {"coordinator_a", "investigator_a", "sponsor", "central_reader"}
RAISE = dict(ok=RAISERS, forbidden=NOT_RAISERS, hidden=trials_world.NOT_A)
_question = lambda field: (lambda w, actor: {"field_name": field, "text": "As in the source document?"})  # noqa: E731

CASES_IN_OTHER_WORLDS = [(trials_world.arrange, [
    page_case("visit query page", "web-visit-query-raise", _page(**RAISE), args=trials_world.pk("visit_a")),
    page_case("visit query raise", "web-visit-query-raise", _write(**RAISE), method="post", args=trials_world.pk("visit_a"),
              data=_question("done_on")),
    page_case("dose query page", "web-dose-query-raise", _page(**RAISE), args=trials_world.pk("dose_a")),
    page_case("dose query raise", "web-dose-query-raise", _write(**RAISE), method="post", args=trials_world.pk("dose_a"),
              data=_question("lot_number")),
])]
