"""Report pages in the site-isolation matrix (see tests/matrix.py): the runs list, the request form of a kind, a run's
page and its polled status, file downloads and figures.

The world is the reports API's (reports/tests/matrix_cases.py: finished runs of a cohort report by coordinator A and
by the data manager, and of trial RPT-A's and trial RPT-B's reports by the data manager; the sponsor, trial monitor
and central reader hold their roles in RPT-A), with a bar-chart section in trial A's result so that it has a figure.
"""
from typing import Any

from django.urls import reverse

from reports.models import ReportRun
from reports.tests import matrix_cases as api
from tests.matrix import AUTHENTICATED, Case, World, both, page_case, statuses

SECTION = {"key": "patients_by_inrgss_stage", "title": "Patients by INRGSS stage", "columns": ["stage", "patients", "percent"],
           "rows": [["L1", 1, 100.0]]}


def _figure(world: World) -> None:
    ReportRun.objects.filter(pk=world["run_trial_a"].pk).update(result={"kind": "trial", "sections": [SECTION]})


arrange = both(api.arrange, _figure)
EVERYONE = api.EVERYONE
COHORT_REQUESTERS = {"coordinator_a", "investigator_a", "coordinator_b", "data_manager"}


def _only(*ok: str, kind: str = "page", ok_status: int | None = None) -> dict[str, int]:
    """Only the named actors see the run (its requester, the data manager, a trial run's sponsor); everyone else: 404."""
    return statuses(kind=kind, ok=set(ok), ok_status=ok_status, hidden=EVERYONE - set(ok))


def _run(key: str) -> Any:
    return lambda w: [w[key].pk]


CASES: list[Case] = [
    page_case("report list page", "web-report-list", statuses(kind="page", ok=AUTHENTICATED), universe=api.RUNS,
              row_id=lambda run: reverse("web-report-detail", args=[run.pk]),
              visible={"coordinator_a": {"run_cohort_coord_a"}, "investigator_a": set(), "coordinator_b": set(),
                       "monitor_a": set(), "data_manager": set(api.RUNS), "nobody": set(), "sponsor": {"run_trial_a"}}),
    page_case("report request page (cohort)", "web-report-new", statuses(kind="page", ok=AUTHENTICATED), args=lambda w: ["cohort"]),
    # Roles that may not request a kind are told so on the form (403); nothing is queued.
    page_case("report request (cohort)", "web-report-new",
              statuses(kind="page write", ok=COHORT_REQUESTERS, forbidden=api.NOT_COHORT), method="post",
              args=lambda w: ["cohort"], data=lambda w, actor: {"as_of": "2024-01-01"}),
    # Trial A is offered to whoever sees the trial (the service then refuses all but its sponsor and the data manager);
    # to the others it is not a choice (400).
    page_case("report request (trial A)", "web-report-new",
              statuses(kind="page write", ok={"sponsor", "data_manager"}, invalid={"coordinator_b", "nobody"},
                       forbidden={"coordinator_a", "investigator_a", "monitor_a", "trial_monitor", "central_reader"}),
              method="post", args=lambda w: ["trial"], data=lambda w, actor: {"trial": w["trial_a"].pk, "as_of": "2024-01-01"}),
    page_case("report run page (own cohort run)", "web-report-detail", _only("coordinator_a", "data_manager"),
              args=_run("run_cohort_coord_a")),
    page_case("report run page (trial A)", "web-report-detail", _only("sponsor", "data_manager"), args=_run("run_trial_a")),
    page_case("report run status (trial A)", "web-report-progress", _only("sponsor", "data_manager"), args=_run("run_trial_a")),
    page_case("report download (trial A)", "web-report-download", _only("sponsor", "data_manager", kind="file"),
              args=lambda w: [w["run_trial_a"].pk, "s.csv"]),
    page_case("report download (trial B: never another trial's sponsor)", "web-report-download",
              _only("data_manager", kind="file"), args=lambda w: [w["run_trial_b"].pk, "s.csv"]),
    page_case("report download (own cohort run)", "web-report-download", _only("coordinator_a", "data_manager", kind="file"),
              args=lambda w: [w["run_cohort_coord_a"].pk, "s.csv"]),
    page_case("report figure (trial A)", "web-report-figure", _only("sponsor", "data_manager", kind="file"),
              args=lambda w: [w["run_trial_a"].pk, SECTION["key"]]),
]
