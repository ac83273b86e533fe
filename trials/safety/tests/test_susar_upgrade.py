"""A follow-up that makes a SUSAR fatal or life-threatening: the 15-day clock gives way to the 7-day clock from
the same day 0 (frozen clocks)."""
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from conftest import Actors
from registry.models import AuditEvent
from trials.safety.models import ReportingClock
from trials.safety.services.assessment import adverse_event_sponsor_assess
from trials.safety.services.clocks import UPGRADE_REASON, reporting_clock_record_report
from trials.safety.services.events import adverse_event_follow_up, adverse_event_report
from trials.safety.tests.helpers import grant, make_subject, make_trial

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
AWARE = datetime(2026, 2, 27, 20, 0, tzinfo=SH)
SPONSOR_KNOWS = datetime(2026, 2, 28, 0, 10, tzinfo=SH)  # day 0 = 28 Feb (local); day 7 = 7 Mar, day 15 = 15 Mar


@pytest.fixture
def susar(actors: Actors):  # type: ignore[no-untyped-def]
    trial = make_trial()
    grant(actors.sponsor, trial, "sponsor")
    subject = make_subject(actors.coordinator_a, actors.hospital_a, trial)
    with time_machine.travel(AWARE + timedelta(hours=1), tick=False):
        event = adverse_event_report(actor=actors.coordinator_a, subject=subject, data={
            "meddra_code": "10002272", "onset_date": date(2026, 2, 27), "grade": 3, "serious_hospitalisation": True,
            "site_awareness_at": AWARE, "relatedness": "probable", "expectedness": "unexpected",
            "action_taken": "not_applicable", "outcome": "recovering"})
    with time_machine.travel(datetime(2026, 2, 28, 9, 0, tzinfo=SH), tick=False):
        return adverse_event_sponsor_assess(actor=actors.sponsor, event=event, expectedness="unexpected",
                                            causality="possible", sponsor_awareness_at=SPONSOR_KNOWS)


def follow_up_life_threatening(actors: Actors, event, on: datetime):  # type: ignore[no-untyped-def]
    with time_machine.travel(on, tick=False):
        return adverse_event_follow_up(actor=actors.coordinator_a, event=event,
                                       data={"grade": 4, "serious_life_threatening": True}, reason="worsened")


def test_follow_up_making_a_susar_life_threatening_replaces_the_15_day_clock(actors: Actors, susar) -> None:  # type: ignore[no-untyped-def]
    fifteen = susar.clocks.get(kind="susar_15d")
    assert fifteen.due_at.astimezone(SH).date() == date(2026, 3, 15)
    follow_up_life_threatening(actors, susar, datetime(2026, 3, 3, 10, 0, tzinfo=SH))
    fifteen.refresh_from_db()
    assert fifteen.status == ReportingClock.Status.CANCELLED
    seven = susar.clocks.get(kind="susar_7d")
    assert seven.status == ReportingClock.Status.OPEN and seven.started_at == SPONSOR_KNOWS  # day 0 does not move
    assert seven.due_at.astimezone(SH).date() == date(2026, 3, 7)
    cancel = AuditEvent.objects.get(action="cancel_clock", object_id=str(fifteen.pk))
    assert cancel.reason == UPGRADE_REASON
    assert AuditEvent.objects.filter(action="start_clock", object_id=str(seven.pk)).exists()
    with time_machine.travel(datetime(2026, 3, 7, 23, 0, tzinfo=SH), tick=False):
        assert reporting_clock_record_report(actor=actors.sponsor, clock=seven).status == "met"


def test_upgrade_after_day_7_starts_the_7_day_clock_already_late(actors: Actors, susar) -> None:  # type: ignore[no-untyped-def]
    follow_up_life_threatening(actors, susar, datetime(2026, 3, 10, 10, 0, tzinfo=SH))
    seven = susar.clocks.get(kind="susar_7d")
    assert seven.status == ReportingClock.Status.LATE and seven.due_at.astimezone(SH).date() == date(2026, 3, 7)
    assert susar.clocks.get(kind="susar_15d").status == ReportingClock.Status.CANCELLED


def test_no_upgrade_once_the_15_day_report_was_sent(actors: Actors, susar) -> None:  # type: ignore[no-untyped-def]
    fifteen = susar.clocks.get(kind="susar_15d")
    with time_machine.travel(datetime(2026, 3, 2, 9, 0, tzinfo=SH), tick=False):
        reporting_clock_record_report(actor=actors.sponsor, clock=fifteen)
    follow_up_life_threatening(actors, susar, datetime(2026, 3, 3, 10, 0, tzinfo=SH))
    assert not susar.clocks.filter(kind="susar_7d").exists()
    fifteen.refresh_from_db()
    assert fifteen.status == ReportingClock.Status.MET
    assert not AuditEvent.objects.filter(action="cancel_clock").exists()


def test_a_second_follow_up_does_not_start_another_clock(actors: Actors, susar) -> None:  # type: ignore[no-untyped-def]
    follow_up_life_threatening(actors, susar, datetime(2026, 3, 3, 10, 0, tzinfo=SH))
    with time_machine.travel(datetime(2026, 3, 4, 10, 0, tzinfo=SH), tick=False):
        adverse_event_follow_up(actor=actors.coordinator_a, event=susar, data={"outcome": "fatal", "grade": 5,
                                                                              "serious_death": True, "death_date": date(2026, 3, 4)},
                                reason="died")
    assert susar.clocks.filter(kind="susar_7d").count() == 1
    assert AuditEvent.objects.filter(action="cancel_clock").count() == 1
