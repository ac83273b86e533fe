"""Trial pages: emergency unblinding from the subject page (`web-subject-unblind`) through `subject_unblind`: a data
manager of the subject's hospital, a reason, audited, once; nobody else gets the form or succeeds."""
import pytest
from django.urls import reverse

from conftest import Actors
from registry.models import AuditEvent
from trials.models import Trial, Unblinding
from trials.tests.builders import enrol, make_trial
from trials.tests.test_randomisation import randomised  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def test_data_manager_unblinds_with_a_reason(client, actors: Actors, randomised: Trial) -> None:  # noqa: F811
    subject = enrol(actors.coordinator_a, randomised, actors.hospital_a)
    page, url = reverse("web-subject-detail", args=[subject.pk]), reverse("web-subject-unblind", args=[subject.pk])
    client.force_login(actors.data_manager)
    text = client.get(page).content.decode()
    assert 'data-testid="unblind-form"' in text and f"{subject.arm.code}</dd>" not in text
    response = client.post(url, {"reason": "  "})
    assert response.status_code == 400 and 'id="id_reason_error"' in response.content.decode()
    assert not Unblinding.objects.exists()
    response = client.post(url, {"reason": "SAE management needs the dose"}, follow=True)
    text = response.content.decode()
    assert f"unblinded: arm {subject.arm.code}." in text
    assert f'data-testid="subject-arm">{subject.arm.code}</dd>' in text and 'data-testid="unblind-form"' not in text
    event = AuditEvent.objects.get(action="unblind")
    assert event.actor == actors.data_manager and event.reason == "SAE management needs the dose"
    # Once: a second post (e.g. a stale tab) is refused on the page, nothing more is written.
    response = client.post(url, {"reason": "again"})
    assert response.status_code == 400 and "This subject has already been unblinded." in response.content.decode()
    assert Unblinding.objects.count() == 1


def test_only_a_data_manager_of_the_hospital_unblinds(client, actors: Actors, randomised: Trial) -> None:  # noqa: F811
    subject = enrol(actors.coordinator_a, randomised, actors.hospital_a)
    page, url = reverse("web-subject-detail", args=[subject.pk]), reverse("web-subject-unblind", args=[subject.pk])
    for actor in (actors.coordinator_a, actors.investigator_a, actors.monitor_a, actors.sponsor):
        client.force_login(actor)
        assert 'data-testid="unblind-form"' not in client.get(page).content.decode(), actor.username
        response = client.post(url, {"reason": "curious"})
        assert response.status_code in (400, 404), actor.username
    client.force_login(actors.coordinator_a)
    assert "Only a data manager of the subject&#x27;s hospital may unblind." in client.post(url, {"reason": "x"}).content.decode()
    client.force_login(actors.coordinator_b)
    assert client.post(url, {"reason": "x"}).status_code == 404
    assert not Unblinding.objects.exists() and not AuditEvent.objects.filter(action="unblind").exists()


def test_an_open_label_trial_offers_no_unblinding(client, actors: Actors) -> None:
    trial = make_trial(actors.data_manager, [actors.hospital_a], code="OPEN-R", randomised=True, arms=(("X", 100), ("Y", 100)))
    subject = enrol(actors.coordinator_a, trial, actors.hospital_a)
    client.force_login(actors.data_manager)
    assert 'data-testid="unblind-form"' not in client.get(reverse("web-subject-detail", args=[subject.pk])).content.decode()
    response = client.post(reverse("web-subject-unblind", args=[subject.pk]), {"reason": "x"})
    assert response.status_code == 400 and "This trial is not blinded" in response.content.decode()


def test_unblinding_in_chinese(client, actors: Actors, randomised: Trial) -> None:  # noqa: F811
    subject = enrol(actors.coordinator_a, randomised, actors.hospital_a)
    client.force_login(actors.data_manager)
    client.cookies["django_language"] = "zh-hans"
    text = client.get(reverse("web-subject-detail", args=[subject.pk])).content.decode()
    assert "对此受试者揭盲" in text and "揭盲原因" in text and "Unblind this subject" not in text
