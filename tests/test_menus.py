"""Menus and report forms follow what the role may do (issue 17), asked of registry.access like the pages ask it:
the sponsor sees no Patients, Upload or Reading; the data-extract form is offered to data managers only, and every
kind offered to a role is one its submission would not refuse (reports.kinds permit)."""
import re

import pytest
from django.urls import reverse

from conftest import Actors
from registry.access import TrialRole
from reports.kinds import report_kind, report_kinds
from trials.safety.tests.helpers import grant
from trials.tests.builders import make_trial

pytestmark = pytest.mark.django_db

ALL = {"Worklist", "Patients", "Upload", "Trials", "Reading", "Low-dose evaluation", "Reports"}
MENUS = {
    "coordinator_a": ALL - {"Reading"},
    "investigator_a": ALL,
    "monitor_a": {"Worklist", "Patients", "Trials", "Low-dose evaluation"},
    "data_manager": ALL,
    "sponsor": {"Worklist", "Trials", "Reports"},
    "trial_monitor": {"Worklist", "Trials"},
    "central_reader": {"Worklist", "Trials", "Reading"},
}


@pytest.fixture
def trial_roles(actors: Actors) -> None:
    trial = make_trial(actors.data_manager, [actors.hospital_a, actors.hospital_b])
    grant(actors.sponsor, trial, TrialRole.SPONSOR)
    grant(actors.trial_monitor, trial, TrialRole.MONITOR)
    grant(actors.central_reader, trial, TrialRole.CENTRAL_READER)


def menu(html: str) -> set[str]:
    nav = re.search(r'<ul class="navbar-nav me-auto" data-testid="main-menu">(.*?)</ul>', html, re.S)
    assert nav, "no main menu"
    return set(re.findall(r'class="nav-link" href="[^"]*">([^<]+)</a>', nav.group(1)))


@pytest.mark.parametrize("name", sorted(MENUS))
def test_each_role_sees_the_pages_it_works_on(client, actors: Actors, trial_roles: None, name: str) -> None:
    client.force_login(actors.by_name(name))
    assert menu(client.get(reverse("web-trial-list")).content.decode()) == MENUS[name]


@pytest.mark.parametrize("name", sorted(MENUS))
def test_report_forms_offered_are_the_ones_that_would_not_be_refused(client, actors: Actors, trial_roles: None,
                                                                      name: str) -> None:
    user = actors.by_name(name)
    client.force_login(user)
    page = client.get(reverse("web-report-list")).content.decode()
    offered = set(re.findall(r'data-testid="new-([a-z_]+)"', page))
    assert ("extract" in offered) == (name == "data_manager")
    for kind in report_kinds():
        if kind.name not in offered:
            continue
        response = client.post(reverse("web-report-new", args=[kind.name]), {})
        assert response.status_code != 403, (name, kind.name)
    for kind in report_kinds():  # typed by hand, a form not offered says why at once and has no submit button
        form = client.get(reverse("web-report-new", args=[kind.name])).content.decode()
        assert ('data-testid="run-report"' in form) == (kind.name in offered), (name, kind.name)
        assert ("a submission would be refused" in form) == (kind.name not in offered), (name, kind.name)
    if name == "sponsor":
        assert offered == {"trial"}
        refused = client.post(reverse("web-report-new", args=["extract"]), {})  # typed by hand: refused as before
        assert refused.status_code == 403 and report_kind("extract").offered(user) is False
