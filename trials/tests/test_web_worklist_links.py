"""Worklist items about a reporting clock or a protocol deviation link to the page where they are acted on: the
event's page at the clock's row, the subject's page at the deviation (both scoped: 404 for another hospital)."""
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from conftest import Actors
from trials.models import ProtocolDeviation
from trials.safety.models import ReportingClock
from trials.safety.services.clocks import reporting_clocks_sweep
from trials.safety.tests.test_web_safety_actions import serious_event
from trials.tests.test_web_fixtures import World, world  # noqa: F401 (fixture)
from trials.tests.test_web_trials import dose

pytestmark = pytest.mark.django_db


def rows(client, user, kind: str) -> list:  # type: ignore[no-untyped-def]
    client.force_login(user)
    groups = {g["kind"]: g for g in client.get(reverse("home")).context["groups"]}
    return groups[kind]["rows"] if kind in groups else []


def test_a_late_clock_links_to_its_row_on_the_event_page(client, actors: Actors, world: World) -> None:  # noqa: F811
    event = serious_event(actors.coordinator_a, world.subject_a, timezone.now() - timedelta(hours=30))
    reporting_clocks_sweep()
    clock = ReportingClock.objects.get(event=event, kind=ReportingClock.Kind.SITE_24H)
    assert clock.status == ReportingClock.Status.LATE
    [row] = rows(client, actors.coordinator_a, "sae_clock_late")
    assert row.page == reverse("web-clock-detail", args=[clock.pk])
    response = client.get(row.page)
    assert response.status_code == 302 and response.url == reverse("web-ae-detail", args=[event.pk]) + f"#clock-{clock.pk}"
    assert f'id="clock-{clock.pk}"' in client.get(response.url).content.decode()
    client.force_login(actors.coordinator_b)
    assert client.get(row.page).status_code == 404


def test_a_deviation_to_review_links_to_its_subject_page(client, actors: Actors, world: World) -> None:  # noqa: F811
    client.force_login(actors.coordinator_a)
    assert client.post(reverse("web-dosing-create", args=[world.subject_a.pk]), dose()).status_code == 302
    deviation = ProtocolDeviation.objects.get()  # 120 MBq for 20 kg is above the trial's threshold
    [row] = rows(client, actors.investigator_a, "deviation_to_review")
    assert row.page == reverse("web-deviation-detail", args=[deviation.pk])
    response = client.get(row.page)
    target = reverse("web-subject-detail", args=[world.subject_a.pk]) + f"#deviation-{deviation.pk}"
    assert response.status_code == 302 and response.url == target
    assert f'id="deviation-{deviation.pk}"' in client.get(response.url).content.decode()
    client.force_login(actors.coordinator_b)
    assert client.get(row.page).status_code == 404
