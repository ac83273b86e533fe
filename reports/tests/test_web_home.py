"""The home page per role: the worklist grouped by kind with links to the pages that exist, the sponsor's and the
monitor's panels, no identifier for users outside the patient's hospital, and queries that do not grow with items."""
from datetime import date

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from imaging.models import ImagingStudy
from imaging.reading.tests import helpers as reading
from registry.services.followup import followup_mark_statuses
from registry.tests.builders import consented_patient
from reports.tests.helpers import generate
from reports.tests.trial_helpers import make_trial_world

pytestmark = pytest.mark.django_db


def patients(actors, n: int):  # type: ignore[no-untyped-def]
    made = [consented_patient(actors.coordinator_a, actors.hospital_a, diagnosis_date=date(2022, 1, 1)) for _ in range(n)]
    followup_mark_statuses(today=date(2023, 6, 1))
    return made


def home(client, user):  # type: ignore[no-untyped-def]
    client.force_login(user)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    return response


def test_coordinator_sees_visits_and_holds_with_links_and_the_other_hospital_nothing(client, actors) -> None:  # type: ignore[no-untyped-def]
    made = patients(actors, 2)
    held = reading.study_of(made[0])
    ImagingStudy.objects.filter(pk=held.pk).update(status=ImagingStudy.Status.ON_HOLD)
    response = home(client, actors.coordinator_a)
    groups = {g["kind"]: g for g in response.context["groups"]}
    assert "visit_overdue" in groups and "upload_on_hold" in groups
    visit_pages = {row.page for row in groups["visit_overdue"]["rows"]}
    assert visit_pages == {reverse("web-patient-detail", args=[p.study_id]) for p in made}
    assert [row.page for row in groups["upload_on_hold"]["rows"]] == [reverse("web-study-detail", args=[held.pk])]
    html = response.content.decode()
    assert made[0].study_id in html and 'data-testid="group-upload_on_hold"' in html
    assert "panel-accrual" not in html  # not a sponsor

    other = home(client, actors.coordinator_b).content.decode()
    assert all(p.study_id not in other for p in made) and 'data-testid="worklist-empty"' in other


def test_home_queries_do_not_grow_with_items(client, actors) -> None:  # type: ignore[no-untyped-def]
    patients(actors, 2)
    client.force_login(actors.coordinator_a)
    client.get(reverse("home"))
    cache.clear()  # the worklist is cached until the next audited write: compare two builds, not a build and a hit
    with CaptureQueriesContext(connection) as few:
        before = sum(g["count"] for g in client.get(reverse("home")).context["groups"])
    patients(actors, 12)
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("home"))
    assert sum(g["count"] for g in response.context["groups"]) >= before + 12
    assert len(many.captured_queries) == len(few.captured_queries)


def test_sponsor_sees_accrual_clocks_and_runs_never_a_study_id(client, actors, eager, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    world = make_trial_world(actors, code="NB-A")
    run = generate(actors.sponsor, "trial", {"trial": world.trial.pk}, django_capture_on_commit_callbacks)
    response = home(client, actors.sponsor)
    html = response.content.decode()
    panels = [p["name"] for p in response.context["panels"]]
    assert panels == ["accrual", "sae_clocks", "report_runs"]
    accrual = response.context["panels"][0]["context"]["rows"]
    assert [(r["trial"].code, r["target"]) for r in accrual] == [("NB-A", 10)] and accrual[0]["enrolled"] >= 4
    assert reverse("web-report-detail", args=[run.pk]) in html and reverse("web-trial-detail", args=[world.trial.pk]) in html
    assert all(s.patient.study_id not in html for s in world.subjects)


def test_monitor_sees_open_queries_by_site_and_investigator_the_aes_to_sign(client, actors) -> None:  # type: ignore[no-untyped-def]
    make_trial_world(actors, code="NB-A")
    monitor = home(client, actors.monitor_a)
    rows = next(p for p in monitor.context["panels"] if p["name"] == "queries_by_site")["context"]["rows"]
    assert [(r["hospital_code"], r["trial_code"], r["open"]) for r in rows] == [("AAA", "NB-A", 2)]
    investigator = home(client, actors.investigator_a)
    kinds = [g["kind"] for g in investigator.context["groups"]]
    assert "ae_to_sign" in kinds and "queries_by_site" not in [p["name"] for p in investigator.context["panels"]]


def test_no_role_says_so(client, actors) -> None:  # type: ignore[no-untyped-def]
    html = home(client, actors.nobody).content.decode()
    assert "You have no role at any hospital yet" in html
    client.logout()
    assert client.get(reverse("home")).status_code == 302


@pytest.mark.parametrize("name", ["coordinator_a", "investigator_a", "coordinator_b", "monitor_a", "data_manager", "nobody",
                                  "sponsor", "trial_monitor", "central_reader"])
def test_every_actor_gets_a_home_page_and_the_report_list(client, actors, name: str) -> None:  # type: ignore[no-untyped-def]
    make_trial_world(actors, code="NB-A")
    user = getattr(actors, name)
    assert home(client, user).status_code == 200
    assert client.get(reverse("web-report-list")).status_code == 200
