"""The SUSAR follow-up clock (issue 15): ICH E2A (1994) section III.A.1 - fatal or life-threatening unexpected ADRs
are reported "no later than 7 calendar days after first knowledge by the sponsor ..., followed by as complete a report
as possible within 8 additional calendar days". Recording the 7-day report starts a clock of its own (susar_8d): due at
the end of local calendar day 8 counted from the day the 7-day report was sent (frozen clocks)."""
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import override_settings

from conftest import Actors
from registry.errors import ApplicationError
from registry.models import AuditEvent
from trials.safety.models import ReportingClock
from trials.safety.selectors import clock_worklist
from trials.safety.services.assessment import adverse_event_sponsor_assess
from trials.safety.services.clocks import reporting_clock_record_report, reporting_clocks_sweep
from trials.safety.services.events import adverse_event_report
from trials.safety.tests.helpers import grant, make_subject, make_trial

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def _susar(actors: Actors, aware: datetime, *, threatening: bool = True):  # type: ignore[no-untyped-def]
    trial = make_trial()
    grant(actors.sponsor, trial, "sponsor")
    subject = make_subject(actors.coordinator_a, actors.hospital_a, trial)
    data = {"meddra_code": "10002272", "onset_date": aware.date(), "grade": 4 if threatening else 3,
            "serious_hospitalisation": True, "serious_life_threatening": threatening, "site_awareness_at": aware,
            "relatedness": "probable", "expectedness": "unexpected", "action_taken": "not_applicable", "outcome": "recovering"}
    with time_machine.travel(aware + timedelta(hours=1), tick=False):
        event = adverse_event_report(actor=actors.coordinator_a, subject=subject, data=data)
        reporting_clock_record_report(actor=actors.coordinator_a, clock=event.clocks.get(kind="site_24h"))
        return adverse_event_sponsor_assess(actor=actors.sponsor, event=event, expectedness="unexpected", causality="definite",
                                            sponsor_awareness_at=aware + timedelta(minutes=30))


def test_the_7_day_report_starts_the_8_day_follow_up_clock(actors: Actors) -> None:
    """7-day report sent 5 Mar 2026 15:00 Shanghai: the complete report is due by the end of 13 Mar (day 8), local time."""
    event = _susar(actors, datetime(2026, 3, 2, 9, 0, tzinfo=SH))
    seven = event.clocks.get(kind="susar_7d")
    sent = datetime(2026, 3, 5, 15, 0, tzinfo=SH)
    with time_machine.travel(sent, tick=False):
        reporting_clock_record_report(actor=actors.sponsor, clock=seven)
    follow_up = event.clocks.get(kind=ReportingClock.Kind.SUSAR_FOLLOW_UP)
    assert follow_up.started_at == sent and follow_up.status == "open"
    local_due = follow_up.due_at.astimezone(SH)
    assert local_due.date() == date(2026, 3, 13) and (local_due.hour, local_due.minute, local_due.second) == (23, 59, 59)
    assert AuditEvent.objects.filter(action="start_clock", object_id=str(follow_up.pk)).count() == 1
    # The sponsor reports it, not the site; reported on day 8: met.
    with time_machine.travel(datetime(2026, 3, 13, 18, 0, tzinfo=SH), tick=False):
        with pytest.raises(ApplicationError) as site:
            reporting_clock_record_report(actor=actors.coordinator_a, clock=follow_up)
        assert site.value.code == "not_allowed"
        assert reporting_clock_record_report(actor=actors.sponsor, clock=follow_up).status == "met"
    assert event.clocks.filter(kind=ReportingClock.Kind.SUSAR_FOLLOW_UP).count() == 1  # the follow-up starts nothing more


def test_the_follow_up_clock_warns_and_lapses_on_the_sponsors_worklist(actors: Actors) -> None:
    event = _susar(actors, datetime(2026, 3, 2, 9, 0, tzinfo=SH))
    with time_machine.travel(datetime(2026, 3, 5, 15, 0, tzinfo=SH), tick=False):
        reporting_clock_record_report(actor=actors.sponsor, clock=event.clocks.get(kind="susar_7d"))
    follow_up = event.clocks.get(kind="susar_8d")
    assert ReportingClock.WARN_BEFORE[ReportingClock.Kind.SUSAR_FOLLOW_UP] == timedelta(days=2)
    with time_machine.travel(datetime(2026, 3, 12, 0, 0, tzinfo=SH), tick=False):  # within 2 days of the end of 13 Mar
        assert reporting_clocks_sweep() == {"lapsed": 0, "about_to_lapse": 1}
    assert list(clock_worklist(user=actors.sponsor)) == [follow_up]
    assert follow_up not in clock_worklist(user=actors.coordinator_a)
    with time_machine.travel(datetime(2026, 3, 14, 0, 0, tzinfo=SH), tick=False):
        assert reporting_clocks_sweep() == {"lapsed": 1, "about_to_lapse": 0}
    follow_up.refresh_from_db()
    assert follow_up.status == "late"


def test_a_7_day_report_entered_afterwards_starts_the_follow_up_from_its_send_time(actors: Actors) -> None:
    """The report was sent on 3 Mar but recorded on 14 Mar: day 8 (11 Mar) has passed, the follow-up is late at once."""
    event = _susar(actors, datetime(2026, 3, 2, 9, 0, tzinfo=SH))
    with time_machine.travel(datetime(2026, 3, 14, 9, 0, tzinfo=SH), tick=False):
        reporting_clock_record_report(actor=actors.sponsor, clock=event.clocks.get(kind="susar_7d"),
                                      reported_at=datetime(2026, 3, 3, 10, 0, tzinfo=SH))
    follow_up = event.clocks.get(kind="susar_8d")
    assert follow_up.due_at.astimezone(SH).date() == date(2026, 3, 11) and follow_up.status == "late"


def test_a_15_day_report_starts_no_follow_up_clock(actors: Actors) -> None:
    event = _susar(actors, datetime(2026, 3, 2, 9, 0, tzinfo=SH), threatening=False)
    with time_machine.travel(datetime(2026, 3, 10, 9, 0, tzinfo=SH), tick=False):
        reporting_clock_record_report(actor=actors.sponsor, clock=event.clocks.get(kind="susar_15d"))
    assert not event.clocks.filter(kind="susar_8d").exists()


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York"])
def test_follow_up_counts_local_calendar_days_across_the_spring_change(actors: Actors, zone: str) -> None:
    """7-day report sent 25 Mar 2026 10:00 local (Berlin changes on 29 Mar; New York was already on summer time from
    8 Mar): due at the end of local 2 Apr, whatever the elapsed hours."""
    local = ZoneInfo(zone)
    with override_settings(TIME_ZONE=zone):
        event = _susar(actors, datetime(2026, 3, 20, 9, 0, tzinfo=local))
        with time_machine.travel(datetime(2026, 3, 25, 10, 0, tzinfo=local), tick=False):
            reporting_clock_record_report(actor=actors.sponsor, clock=event.clocks.get(kind="susar_7d"))
        due = event.clocks.get(kind="susar_8d").due_at.astimezone(local)
    assert due.date() == date(2026, 4, 2) and (due.hour, due.minute) == (23, 59)
