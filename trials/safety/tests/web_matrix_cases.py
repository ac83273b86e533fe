"""Safety pages in the site-isolation matrix (see tests/matrix.py): the CTCAE term search, reporting an adverse
event, its page, signature, data query, follow-up and sponsor assessment, and its reporting clocks.

The world is the safety API's (trials/safety/tests/matrix_cases.py): trial T with sites at hospitals A and B, in which
sponsor, trial monitor and central reader hold their roles, serious events ae_a (A) and ae_b (B) with lapsed 24-hour
clocks, and ae_susar (A) with its SUSAR clock.
"""
from datetime import date, datetime
from typing import Any

from django.utils import timezone

from conftest import PASSWORD
from tests.matrix import AUTHENTICATED, Case, World, page_case, statuses
from trials.oversight.models import Signature
from trials.safety.tests import matrix_cases as api
from trials.safety.tests.matrix_cases import arrange  # noqa: F401  (the world these cases run in)

SEE_A = api.SEE_A | api.TRIAL_READERS  # the event at hospital A: its hospital's staff, the data manager, sponsor, trial monitor
HIDDEN_A = api.HIDDEN_A  # coordinator_b, nobody and the central reader (who reads images, not safety data)
SITE_WRITERS = api.SITE_A_WRITERS
READERS = {"monitor_a", *api.TRIAL_READERS}
SERIOUS = ("serious_death", "serious_life_threatening", "serious_hospitalisation", "serious_disability",
           "serious_congenital_anomaly", "serious_other_important")
ae_arg = api.ae_arg


def _page(**actors: Any) -> dict[str, int]:
    return statuses(kind="page", **actors)


def _write(**actors: Any) -> dict[str, int]:
    return statuses(kind="page write", **actors)


def _form_value(value: Any) -> str:
    if isinstance(value, datetime):
        return timezone.localtime(value).strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)


def _follow_up(world: World, actor: str) -> dict[str, str]:
    """The follow-up form as the page prefills it from the current version, with the outcome changed."""
    version = world["ae_a"].current_version
    data = {name: _form_value(getattr(version, name)) for name in (
        "meddra_code", "other_specify", "onset_date", "grade", "relatedness", "expectedness", "action_taken", "resolution_date",
        "death_date", "site_awareness_at")}
    data.update({name: "on" for name in SERIOUS if getattr(version, name)})
    return {**data, "outcome": "recovered", "resolution_date": timezone.localdate().isoformat()}


def _report(world: World, actor: str) -> dict[str, str]:
    return {"meddra_code": "10028813", "onset_date": timezone.localdate().isoformat(), "grade": "1", "relatedness": "unlikely",
            "expectedness": "expected", "action_taken": "not_applicable", "outcome": "recovering"}


CASES: list[Case] = [
    # CTCAE terms are reference data (no patient data): every logged-in user may search them.
    page_case("CTCAE term search", "web-ctcae-search", _page(ok=AUTHENTICATED), data=lambda w, actor: {"q": "anem"}),
    page_case("CTCAE term", "web-ctcae-term", _page(ok=AUTHENTICATED), data=lambda w, actor: {"code": api.ANEMIA}),
    page_case("adverse event report page", "web-ae-create", _page(ok=SEE_A | {"central_reader"}, hidden={"coordinator_b", "nobody"}),
              args=lambda w: [w["subject_a"].pk]),
    # A role that sees the subject but does not report events is refused by the service, with its message (400).
    page_case("adverse event report", "web-ae-create",
              _write(ok=SITE_WRITERS, invalid=READERS | {"central_reader"}, hidden={"coordinator_b", "nobody"}),
              method="post", args=lambda w: [w["subject_a"].pk], data=_report),
    page_case("adverse event page", "web-ae-detail", _page(ok=SEE_A, hidden=HIDDEN_A), args=ae_arg),
    # Only an investigator of the event's hospital signs; the service refuses the others with its message (400).
    page_case("adverse event sign", "web-ae-sign",
              _write(ok={"investigator_a"}, invalid=SEE_A - {"investigator_a"}, hidden=HIDDEN_A),
              method="post", args=ae_arg, data=lambda w, actor: {"meaning": Signature.Meaning.ASSESSED, "password": PASSWORD}),
    page_case("adverse event query raise", "web-ae-query-raise",
              _write(ok={"monitor_a", "data_manager", "trial_monitor"}, invalid={"coordinator_a", "investigator_a", "sponsor"},
                     hidden=HIDDEN_A),
              method="post", args=ae_arg, data=lambda w, actor: {"field_name": "grade", "text": "Grade 3 per the lab values?"}),
    page_case("adverse event follow-up page", "web-ae-follow-up", _page(ok=SITE_WRITERS, forbidden=READERS, hidden=HIDDEN_A),
              args=ae_arg),
    page_case("adverse event follow-up", "web-ae-follow-up", _write(ok=SITE_WRITERS, forbidden=READERS, hidden=HIDDEN_A),
              method="post", args=ae_arg, data=_follow_up),
    page_case("adverse event sponsor assessment", "web-ae-sponsor-assess",
              _write(ok={"sponsor"}, forbidden=SEE_A - {"sponsor"}, hidden=HIDDEN_A),
              method="post", args=ae_arg, data=lambda w, actor: {"expectedness": "unexpected", "causality": "probable"}),
    # A clock's page is its event's page, at the clock (a redirect for those who see it).
    page_case("reporting clock page", "web-clock-detail", _page(ok=SEE_A, ok_status=302, hidden=HIDDEN_A),
              args=lambda w: [w["clock_a"].pk]),
    page_case("site clock report", "web-clock-report", _write(ok=SITE_WRITERS, forbidden=READERS, hidden=HIDDEN_A),
              method="post", args=lambda w: [w["clock_a"].pk], data=lambda w, actor: {}),
    page_case("SUSAR clock report", "web-clock-report",
              _write(ok={"sponsor"}, forbidden=SEE_A - {"sponsor"}, hidden=HIDDEN_A),
              method="post", args=lambda w: [w["clock_susar"].pk], data=lambda w, actor: {}),
]
