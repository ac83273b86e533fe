"""Trial pages in the site-isolation matrix (see tests/matrix.py): trial list and overview, screening, the screening
log, enrolment, the subject page with unblinding and dosing, visits, dose corrections and protocol deviations.

The world is the trials API's (trials/tests/matrix_cases.py): trial T-A at hospital A (blinded, randomised; sponsor,
trial monitor and central reader hold their roles in it) and T-B at hospital B, each with an enrolled subject, its
screening visit, a dose and the protocol deviation that dose raised.
"""
from datetime import timedelta
from typing import Any

from django.utils import timezone

from tests.matrix import AUTHENTICATED, Case, World, page_case, statuses
from trials.tests import matrix_cases as api
from trials.tests.builders import TODAY, answers
from trials.tests.matrix_cases import arrange  # noqa: F401  (the world these cases run in)

TRIAL_ACTORS = set(api.TRIAL_ACTORS)
SEE_TRIAL_A = api.SEE_A | TRIAL_ACTORS
NOT_A = api.NOT_A
WRITERS_A = api.WRITERS_A
READ_ONLY_A = {"monitor_a", *TRIAL_ACTORS}  # see trial A's rows, write none
pk = api.pk
SECONDS = "%Y-%m-%dT%H:%M:%S"


def _page(**actors: Any) -> dict[str, int]:
    return statuses(kind="page", **actors)


def _write(**actors: Any) -> dict[str, int]:
    return statuses(kind="page write", **actors)


def _screening(world: World, actor: str) -> dict[str, Any]:
    data: dict[str, Any] = {"site": world["site_a"].pk, "patient": world["failed_a"].study_id, "screened_on": TODAY.isoformat(),
                            "notes": ""}
    data.update({f"criterion_{c}": "yes" if met else "no" for c, met in answers(world["trial_a"]).items()})
    return data


def _dose(world: World, actor: str) -> dict[str, str]:
    now = timezone.localtime()
    return {"lot_number": "L2", "calibrated_activity_mbq": "50", "calibrated_at": (now - timedelta(minutes=5)).strftime(SECONDS),
            "administered_activity_mbq": "48", "administered_at": now.strftime(SECONDS), "residual_activity_mbq": "0",
            "route": "iv", "weight_kg": "20", "reason": ""}


def _correction(world: World, actor: str) -> dict[str, str]:
    dose = world["dose_a"]
    return {"lot_number": "L1-corrected", "calibrated_activity_mbq": str(dose.calibrated_activity_mbq),
            "calibrated_at": timezone.localtime(dose.calibrated_at).strftime(SECONDS),
            "administered_activity_mbq": str(dose.administered_activity_mbq),
            "administered_at": timezone.localtime(dose.administered_at).strftime(SECONDS),
            "residual_activity_mbq": str(dose.residual_activity_mbq or 0), "route": dose.route, "weight_kg": str(dose.weight_kg),
            "reason": "lot misread"}


def _review(world: World, actor: str) -> dict[str, str]:
    # The subject page holds one review form per open deviation, its fields prefixed with the deviation's id.
    return {f"deviation-{world['deviation_a'].pk}-review_note": "reported to the sponsor"}


CASES: list[Case] = [
    # The list shows each actor exactly the trials they hold a role in or whose sites are at their hospitals.
    page_case("trial list page", "web-trial-list", _page(ok=AUTHENTICATED), universe=("trial_a", "trial_b"),
              row_id=lambda trial: trial.code, visible=api._visible("trial_")),
    page_case("trial page", "web-trial-detail", _page(ok=SEE_TRIAL_A, hidden=NOT_A), args=pk("trial_a")),
    # The protocol document of a version: for whoever sees the trial (audited download), 404 for everyone else.
    page_case("protocol document", "web-protocol-document", statuses(kind="file", ok=SEE_TRIAL_A, hidden=NOT_A),
              args=pk("version_a")),
    # The screening and enrolment forms open for whoever sees the trial; the sites offered are those where the
    # user's role may screen or enrol (none for a monitor or a trial role: the form then refuses, 400).
    page_case("screening page", "web-screening-create", _page(ok=SEE_TRIAL_A, hidden=NOT_A), args=pk("trial_a")),
    page_case("screening", "web-screening-create", _write(ok=WRITERS_A, invalid=READ_ONLY_A, hidden=NOT_A),
              method="post", args=pk("trial_a"), data=_screening),
    page_case("screening log page", "web-screening-log", _page(ok=SEE_TRIAL_A, hidden=NOT_A), args=pk("trial_a")),
    page_case("enrol page", "web-enrol", _page(ok=SEE_TRIAL_A, hidden=NOT_A), args=pk("trial_a")),
    page_case("enrol", "web-enrol", _write(ok=WRITERS_A, invalid=READ_ONLY_A, hidden=NOT_A), method="post",
              args=pk("trial_a"), data=lambda w, actor: {"site": w["site_a"].pk, "patient": w["ready_a"].study_id}),
    page_case("subject page", "web-subject-detail", _page(ok=SEE_TRIAL_A, hidden=NOT_A), args=pk("subject_a")),
    # Refusals of a page's service re-render the page with the service's message (400): for unblinding and dosing,
    # "only a data manager of the subject's hospital may unblind", "not one you may record doses for".
    page_case("subject unblind", "web-subject-unblind",
              _write(ok={"data_manager"}, invalid={"coordinator_a", "investigator_a", *READ_ONLY_A}, hidden=NOT_A),
              method="post", args=pk("subject_a"), data=lambda w, actor: {"reason": "SAE management"}),
    page_case("dose record", "web-dosing-create", _write(ok=WRITERS_A, invalid=READ_ONLY_A, hidden=NOT_A), method="post",
              args=pk("subject_a"), data=_dose),
    # The live preview computes without saving (the values the subject page's dose table shows once saved).
    page_case("dose preview", "web-dosing-preview", _page(ok=SEE_TRIAL_A, hidden=NOT_A), method="post",
              args=pk("subject_a"), data=_dose),
    page_case("visit record page", "web-visit-record", _page(ok=WRITERS_A, forbidden=READ_ONLY_A, hidden=NOT_A),
              args=pk("visit_a")),
    page_case("visit record", "web-visit-record", _write(ok=WRITERS_A, forbidden=READ_ONLY_A, hidden=NOT_A), method="post",
              args=pk("visit_a"), data=lambda w, actor: {"status": "done", "done_on": timezone.localdate().isoformat(), "reason": ""}),
    page_case("dose correct page", "web-dose-correct", _page(ok=WRITERS_A, forbidden=READ_ONLY_A, hidden=NOT_A),
              args=pk("dose_a")),
    page_case("dose correct", "web-dose-correct", _write(ok=WRITERS_A, forbidden=READ_ONLY_A, hidden=NOT_A), method="post",
              args=pk("dose_a"), data=_correction),
    # A deviation's page is its subject's page, at the deviation (a redirect for those who see it).
    page_case("deviation page", "web-deviation-detail",
              _page(ok=api.SEE_A | api.OVERSIGHT, ok_status=302, hidden=NOT_A | {"central_reader"}), args=pk("deviation_a")),
    page_case("deviation review", "web-deviation-review",
              _write(ok={"investigator_a", "data_manager"}, forbidden={"coordinator_a", "monitor_a", *api.OVERSIGHT},
                     hidden=NOT_A | {"central_reader"}),
              method="post", args=pk("deviation_a"), data=_review),
]
