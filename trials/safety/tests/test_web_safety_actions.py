"""The adverse-event page's actions with the test client: the follow-up report, the sponsor's assessment and recording a
reporting clock's report, each through the API's service (same access rules, refusals and audit trail)."""
from datetime import datetime, timedelta
from unittest import mock

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone

from conftest import PASSWORD, Actors
from registry.models import AuditEvent
from trials.oversight.models import Signature
from trials.oversight.services.signatures import signature_sign
from trials.safety.models import AdverseEvent, AdverseEventVersion, ReportingClock
from trials.safety.services.events import adverse_event_follow_up, adverse_event_report
from trials.safety.web import views as safety_views
from trials.tests.test_web_fixtures import World, ae_data, world  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

LOCAL = "%Y-%m-%dT%H:%M"


def local(moment: datetime, fmt: str = LOCAL) -> str:
    """What a datetime-local input holds for `moment` (Asia/Shanghai)."""
    return timezone.localtime(moment).strftime(fmt)


def serious_event(actor, subject, aware: datetime) -> AdverseEvent:  # type: ignore[no-untyped-def]
    return adverse_event_report(actor=actor, subject=subject, data=ae_data(grade=3, serious_hospitalisation=True,
                                                                           site_awareness_at=aware))


def prefilled(version: AdverseEventVersion, **overrides: str) -> dict[str, str]:
    """The follow-up form as the page prefills it (checkboxes on when set, dates ISO, awareness to the second)."""
    data = {"meddra_code": version.meddra_code, "other_specify": version.other_specify, "onset_date": version.onset_date.isoformat(),
            "grade": str(version.grade), "relatedness": version.relatedness, "expectedness": version.expectedness,
            "action_taken": version.action_taken, "outcome": version.outcome,
            "resolution_date": version.resolution_date.isoformat() if version.resolution_date else "",
            "death_date": version.death_date.isoformat() if version.death_date else "",
            "site_awareness_at": local(version.site_awareness_at, "%Y-%m-%dT%H:%M:%S") if version.site_awareness_at else ""}
    for name in ("serious_death", "serious_life_threatening", "serious_hospitalisation", "serious_disability",
                 "serious_congenital_anomaly", "serious_other_important"):
        if getattr(version, name):
            data[name] = "on"
    data.update(overrides)
    return data


def ae_page(client, event: AdverseEvent) -> str:  # type: ignore[no-untyped-def]
    return client.get(reverse("web-ae-detail", args=[event.pk])).content.decode()


# Follow-up report ------------------------------------------------------------------------------------------------------

def test_follow_up_is_prefilled_and_sends_only_the_changed_field(client, actors: Actors, world: World) -> None:  # noqa: F811
    client.force_login(actors.coordinator_a)
    url = reverse("web-ae-follow-up", args=[world.event_a.pk])
    assert f'href="{url}"' in ae_page(client, world.event_a)
    page = client.get(url).content.decode()
    assert 'data-testid="chosen-term">Anemia<' in page and '<option value="2" selected>' in page
    assert 'value="2026-06-20"' in page  # onset date from version 1
    version = world.event_a.current_version
    with mock.patch.object(safety_views, "adverse_event_follow_up", wraps=adverse_event_follow_up) as service:
        response = client.post(url, prefilled(version, grade="3"))
    assert response.status_code == 302 and response["Location"] == reverse("web-ae-detail", args=[world.event_a.pk])
    assert service.call_args.kwargs["data"] == {"grade": 3}
    event = AdverseEvent.objects.get(pk=world.event_a.pk)
    new = event.current_version
    assert new.version_number == 2 and new.grade == 3 and event.grade == 3
    assert (new.onset_date, new.relatedness, new.outcome) == (version.onset_date, version.relatedness, version.outcome)
    audit = AuditEvent.objects.get(action="follow_up")
    assert audit.before["grade"] == 2 and audit.after["grade"] == 3 and audit.actor == actors.coordinator_a
    assert "version 2" in client.get(response["Location"]).content.decode()


def test_unchanged_follow_up_writes_nothing(client, actors: Actors, world: World) -> None:  # noqa: F811
    client.force_login(actors.coordinator_a)
    response = client.post(reverse("web-ae-follow-up", args=[world.event_a.pk]), prefilled(world.event_a.current_version))
    assert response.status_code == 302
    assert AdverseEventVersion.objects.filter(event=world.event_a).count() == 1
    assert "Nothing was changed." in client.get(response["Location"]).content.decode()


def test_serious_follow_up_keeps_the_awareness_time_to_the_second(client, actors: Actors, world: World) -> None:  # noqa: F811
    aware = timezone.now() - timedelta(hours=1, seconds=17)
    event = serious_event(actors.coordinator_a, world.subject_a, aware)
    client.force_login(actors.investigator_a)
    response = client.post(reverse("web-ae-follow-up", args=[event.pk]), prefilled(event.current_version, outcome="recovered",
                                                                                     resolution_date=timezone.localdate().isoformat()))
    assert response.status_code == 302, response.content.decode()
    event.refresh_from_db()
    assert event.current_version.version_number == 2 and event.current_version.outcome == "recovered"


def test_signed_event_needs_a_reason_then_the_signature_is_voided(client, actors: Actors, world: World) -> None:  # noqa: F811
    signature_sign(actor=actors.investigator_a, content_type=ContentType.objects.get_for_model(AdverseEvent),
                   object_id=world.event_a.pk, meaning=Signature.Meaning.ASSESSED, password=PASSWORD)
    client.force_login(actors.investigator_a)
    url = reverse("web-ae-follow-up", args=[world.event_a.pk])
    assert 'data-testid="ae-signed-warning"' in client.get(url).content.decode()
    response = client.post(url, prefilled(world.event_a.current_version, grade="3"))
    text = response.content.decode()
    assert response.status_code == 400
    assert "This record is signed: a reason is required to change it (the signature will be voided)." in text
    assert 'id="id_reason_error"' in text and "Required: the record is signed." in text  # next to the reason
    assert '<option value="3" selected>' in text  # what was typed is kept
    assert AdverseEventVersion.objects.filter(event=world.event_a).count() == 1
    assert Signature.objects.get().status == Signature.Status.VALID
    response = client.post(url, prefilled(world.event_a.current_version, grade="3", reason="Haemoglobin fell further."))
    assert response.status_code == 302
    signature = Signature.objects.get()
    assert signature.status == Signature.Status.VOIDED and signature.void_reason == "Haemoglobin fell further."
    assert AuditEvent.objects.get(action="follow_up").reason == "Haemoglobin fell further."


def test_follow_up_refused_to_readers_and_outsiders(client, actors: Actors, world: World) -> None:  # noqa: F811
    url = reverse("web-ae-follow-up", args=[world.event_a.pk])
    for reader in (actors.sponsor, actors.monitor_a, actors.trial_monitor):
        client.force_login(reader)
        assert 'data-testid="ae-follow-up"' not in ae_page(client, world.event_a)
        assert client.get(url).status_code == 403
        assert client.post(url, prefilled(world.event_a.current_version, grade="3")).status_code == 403
    client.force_login(actors.coordinator_b)
    assert client.get(url).status_code == 404
    assert client.post(url, prefilled(world.event_a.current_version, grade="3")).status_code == 404
    assert AdverseEventVersion.objects.filter(event=world.event_a).count() == 1


# Sponsor assessment ----------------------------------------------------------------------------------------------------

def test_sponsor_assessment_makes_a_susar_and_starts_its_clock(client, actors: Actors, world: World) -> None:  # noqa: F811
    event = serious_event(actors.coordinator_a, world.subject_a, timezone.now() - timedelta(hours=3))
    client.force_login(actors.sponsor)
    page = ae_page(client, event)
    assert "Not assessed by the sponsor yet." in page and 'data-testid="sponsor-assess-form"' in page
    assert world.subject_a.patient.study_id not in page  # the sponsor's page stays de-identified
    aware = timezone.localtime(timezone.now() - timedelta(hours=2)).replace(second=0, microsecond=0)
    response = client.post(reverse("web-ae-sponsor-assess", args=[event.pk]),
                           {"expectedness": "unexpected", "causality": "possible", "sponsor_awareness_at": aware.strftime(LOCAL)})
    assert response.status_code == 302 and response["Location"] == reverse("web-ae-detail", args=[event.pk])
    event.refresh_from_db()
    assert event.is_susar and event.sponsor_assessed_by == actors.sponsor
    assert event.sponsor_awareness_at == aware  # the datetime-local input read in Asia/Shanghai
    clock = ReportingClock.objects.get(event=event, kind=ReportingClock.Kind.SUSAR_15D)
    assert clock.status == ReportingClock.Status.OPEN and clock.started_at == aware
    assert AuditEvent.objects.filter(action="sponsor_assess").count() == 1
    page = client.get(response["Location"]).content.decode()
    assert "a SUSAR, its reporting clock runs" in page and "SUSAR to regulators (15 calendar days)" in page
    assert world.subject_a.patient.study_id not in page
    client.force_login(actors.coordinator_a)  # everyone who sees the event sees the assessment
    page = ae_page(client, event)
    assert 'data-testid="sponsor-assessment"' in page and "Unexpected" in page and "sponsor" in page
    assert '<span class="badge text-bg-danger">yes</span>' in page and 'data-testid="sponsor-assess-form"' not in page


def test_sponsor_reassessment_needs_a_reason(client, actors: Actors, world: World) -> None:  # noqa: F811
    event = serious_event(actors.coordinator_a, world.subject_a, timezone.now() - timedelta(hours=3))
    client.force_login(actors.sponsor)
    url = reverse("web-ae-sponsor-assess", args=[event.pk])
    assert client.post(url, {"expectedness": "unexpected", "causality": "probable"}).status_code == 302
    response = client.post(url, {"expectedness": "expected", "causality": "probable"})
    text = response.content.decode()
    assert response.status_code == 400
    assert "This event was already assessed: a reason is required to change the assessment." in text
    assert 'id="id_reason_error"' in text and '<option value="expected" selected>' in text
    event.refresh_from_db()
    assert event.is_susar and event.sponsor_expectedness == "unexpected"
    response = client.post(url, {"expectedness": "expected", "causality": "probable", "reason": "Listed in the IB, v4."})
    assert response.status_code == 302
    event.refresh_from_db()
    assert not event.is_susar
    assert ReportingClock.objects.get(event=event, kind=ReportingClock.Kind.SUSAR_15D).status == ReportingClock.Status.CANCELLED


def test_only_the_sponsor_assesses_and_only_serious_events(client, actors: Actors, world: World) -> None:  # noqa: F811
    event = serious_event(actors.coordinator_a, world.subject_a, timezone.now() - timedelta(hours=3))
    url = reverse("web-ae-sponsor-assess", args=[event.pk])
    data = {"expectedness": "unexpected", "causality": "possible"}
    for other in (actors.investigator_a, actors.coordinator_a, actors.trial_monitor, actors.monitor_a):
        client.force_login(other)
        page = ae_page(client, event)
        assert "Not assessed by the sponsor yet." in page and 'data-testid="sponsor-assess-form"' not in page
        assert client.post(url, data).status_code == 403
    client.force_login(actors.coordinator_b)
    assert client.post(url, data).status_code == 404
    client.force_login(actors.sponsor)
    assert 'data-testid="sponsor-assess-form"' not in ae_page(client, world.event_a)  # not serious
    response = client.post(reverse("web-ae-sponsor-assess", args=[world.event_a.pk]), data)
    assert response.status_code == 400 and "The sponsor assesses serious adverse events only." in response.content.decode()
    assert not AdverseEvent.objects.filter(sponsor_assessed_at__isnull=False).exists()
    assert not ReportingClock.objects.filter(kind__in=["susar_7d", "susar_15d"]).exists()


# Reporting clocks -----------------------------------------------------------------------------------------------------

def test_clock_report_met_and_a_future_time_refused(client, actors: Actors, world: World) -> None:  # noqa: F811
    event = serious_event(actors.coordinator_a, world.subject_a, timezone.now() - timedelta(hours=2))
    clock = event.clocks.get()
    url = reverse("web-clock-report", args=[clock.pk])
    client.force_login(actors.coordinator_a)
    page = ae_page(client, event)
    assert 'data-testid="clock-report-form"' in page and f'action="{url}"' in page
    future = local(timezone.now() + timedelta(hours=2))
    response = client.post(url, {f"clock-{clock.pk}-reported_at": future})
    text = response.content.decode()
    assert response.status_code == 400 and "The report time is in the future." in text
    assert f'value="{future}"' in text  # input kept
    clock.refresh_from_db()
    assert clock.status == ReportingClock.Status.OPEN and clock.reported_at is None
    sent = timezone.localtime(timezone.now() - timedelta(hours=1)).replace(second=0, microsecond=0)
    response = client.post(url, {f"clock-{clock.pk}-reported_at": sent.strftime(LOCAL)})
    assert response.status_code == 302 and response["Location"] == reverse("web-ae-detail", args=[event.pk])
    clock.refresh_from_db()
    assert clock.status == ReportingClock.Status.MET and clock.reported_at == sent and clock.reported_by == actors.coordinator_a
    assert AuditEvent.objects.filter(action="record_report").count() == 1
    page = client.get(response["Location"]).content.decode()
    assert "Report recorded" in page and 'data-testid="clock-report-form"' not in page
    response = client.post(url, {f"clock-{clock.pk}-reported_at": ""})  # twice: refused, the message on the page
    assert response.status_code == 400 and "already recorded or not required" in response.content.decode()
    assert AuditEvent.objects.filter(action="record_report").count() == 1


def test_clock_report_of_a_lapsed_clock_is_late(client, actors: Actors, world: World) -> None:  # noqa: F811
    event = serious_event(actors.coordinator_a, world.subject_a, timezone.now() - timedelta(hours=30))
    clock = event.clocks.get()
    assert clock.status == ReportingClock.Status.LATE and clock.reported_at is None
    client.force_login(actors.investigator_a)
    assert 'data-testid="clock-report-form"' in ae_page(client, event)  # lapsed without a report: still to record
    before_start = local(clock.started_at - timedelta(minutes=5))
    response = client.post(reverse("web-clock-report", args=[clock.pk]), {f"clock-{clock.pk}-reported_at": before_start})
    assert response.status_code == 400 and "The report time is before the awareness that started the clock." in response.content.decode()
    assert client.post(reverse("web-clock-report", args=[clock.pk]), {f"clock-{clock.pk}-reported_at": ""}).status_code == 302
    clock.refresh_from_db()
    assert clock.status == ReportingClock.Status.LATE and clock.reported_at is not None


def test_clock_report_by_role(client, actors: Actors, world: World) -> None:  # noqa: F811
    event = serious_event(actors.coordinator_a, world.subject_a, timezone.now() - timedelta(hours=2))
    site_clock = event.clocks.get()
    url = reverse("web-clock-report", args=[site_clock.pk])
    client.force_login(actors.sponsor)  # the site reports its SAE, not the sponsor
    assert 'data-testid="clock-report-form"' not in ae_page(client, event)
    assert client.post(url, {}).status_code == 403
    client.force_login(actors.coordinator_b)
    assert client.post(url, {}).status_code == 404
    site_clock.refresh_from_db()
    assert site_clock.reported_at is None
    client.force_login(actors.sponsor)  # the sponsor reports the SUSAR
    client.post(reverse("web-ae-sponsor-assess", args=[event.pk]), {"expectedness": "unexpected", "causality": "definite"})
    susar = ReportingClock.objects.get(event=event, kind=ReportingClock.Kind.SUSAR_15D)
    page = ae_page(client, event)
    assert f'action="{reverse("web-clock-report", args=[susar.pk])}"' in page and f'action="{url}"' not in page
    assert client.post(reverse("web-clock-report", args=[susar.pk]), {}).status_code == 302
    susar.refresh_from_db()
    assert susar.status == ReportingClock.Status.MET and susar.reported_by == actors.sponsor
    client.force_login(actors.coordinator_a)
    assert client.post(reverse("web-clock-report", args=[susar.pk]), {}).status_code == 403


# Language --------------------------------------------------------------------------------------------------------------

def test_actions_in_chinese(client, actors: Actors, world: World) -> None:  # noqa: F811
    event = serious_event(actors.coordinator_a, world.subject_a, timezone.now() - timedelta(hours=2))
    client.cookies["django_language"] = "zh-hans"
    client.force_login(actors.coordinator_a)
    page = ae_page(client, event)
    assert "随访报告" in page and "记录报告" in page and "申办方评估" in page
    assert "Follow-up report" not in page and "Record report" not in page and "Sponsor assessment" not in page
    assert "保存随访报告" in client.get(reverse("web-ae-follow-up", args=[event.pk])).content.decode()
    client.force_login(actors.sponsor)
    page = ae_page(client, event)
    assert "申办方尚未评估。" in page and "保存评估" in page
