"""SAE clocks: due times across midnight, month and year ends (frozen clocks), met/late, SUSARs, the idempotent sweep."""
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings

from conftest import Actors
from registry.errors import ApplicationError
from registry.models import AuditEvent
from trials.safety import deadlines
from trials.safety.models import ReportingClock
from trials.safety.services.assessment import adverse_event_sponsor_assess
from trials.safety.services.clocks import reporting_clock_record_report, reporting_clocks_sweep
from trials.safety.services.events import adverse_event_report
from trials.safety.tasks import sweep_reporting_clocks
from trials.safety.tests.helpers import grant, make_subject, make_trial

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def shanghai(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


# --- Due times (pure) ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("aware", "due"), [
    (shanghai(2026, 3, 31, 22, 0), shanghai(2026, 4, 1, 22, 0)),        # across midnight and the month end
    (shanghai(2026, 12, 31, 23, 59), shanghai(2027, 1, 1, 23, 59)),     # across the year end
    (shanghai(2028, 2, 28, 12, 0), shanghai(2028, 2, 29, 12, 0)),       # leap day
])
def test_site_clock_is_24_elapsed_hours(aware: datetime, due: datetime) -> None:
    assert deadlines.site_report_due(aware) == due


@pytest.mark.parametrize(("aware", "days", "due_local_day"), [
    # 00:10 on 28 Feb in Shanghai is still 27 Feb in UTC: day 0 is the local day, 28 Feb; 2026 is not a leap year.
    (shanghai(2026, 2, 28, 0, 10), 7, date(2026, 3, 7)),
    (shanghai(2026, 1, 31, 23, 30), 7, date(2026, 2, 7)),
    (shanghai(2028, 2, 25, 10, 0), 7, date(2028, 3, 3)),                # leap year: 29 Feb counts
    (shanghai(2026, 12, 20, 23, 50), 15, date(2027, 1, 4)),             # across the year end
    (shanghai(2026, 4, 30, 8, 0), 15, date(2026, 5, 15)),
])
def test_susar_clock_ends_at_the_end_of_local_calendar_day_n(aware: datetime, days: int, due_local_day: date) -> None:
    due = deadlines.susar_report_due(aware, days=days)
    assert due.tzinfo == UTC
    local = due.astimezone(SH)
    assert local.date() == due_local_day and (local.hour, local.minute, local.second) == (23, 59, 59)
    assert settings.TIME_ZONE == "Asia/Shanghai"


# --- Clocks on events ---------------------------------------------------------------------------------------
@pytest.fixture
def subject(actors: Actors):  # type: ignore[no-untyped-def]
    trial = make_trial()
    grant(actors.sponsor, trial, "sponsor")
    return make_subject(actors.coordinator_a, actors.hospital_a, trial)


def serious(actor, subject, aware: datetime, **data):  # type: ignore[no-untyped-def]
    fields = {"meddra_code": "10002272", "onset_date": aware.astimezone(SH).date(), "grade": 3,
              "serious_hospitalisation": True, "site_awareness_at": aware, "relatedness": "probable",
              "expectedness": "unexpected", "action_taken": "not_applicable", "outcome": "recovering"}
    fields.update(data)
    return adverse_event_report(actor=actor, subject=subject, data=fields)


def test_site_clock_met_and_late_across_midnight_and_month_end(actors: Actors, subject) -> None:  # type: ignore[no-untyped-def]
    aware = shanghai(2026, 3, 31, 22, 0)
    with time_machine.travel(aware + timedelta(minutes=30), tick=False):
        event = serious(actors.coordinator_a, subject, aware)
    clock = event.clocks.get()
    assert clock.due_at == shanghai(2026, 4, 1, 22, 0) and clock.status == "open"
    with time_machine.travel(shanghai(2026, 4, 1, 21, 59), tick=False):
        clock = reporting_clock_record_report(actor=actors.coordinator_a, clock=clock)
    assert clock.status == "met"
    event.refresh_from_db()
    assert event.sponsor_awareness_at == shanghai(2026, 4, 1, 21, 59)  # the sponsor's day 0

    aware2 = shanghai(2026, 4, 30, 23, 0)
    with time_machine.travel(aware2 + timedelta(hours=1), tick=False):
        late_event = serious(actors.coordinator_a, subject, aware2)
    with time_machine.travel(shanghai(2026, 5, 1, 23, 1), tick=False):
        late = reporting_clock_record_report(actor=actors.coordinator_a, clock=late_event.clocks.get())
    assert late.status == "late" and late.due_at == shanghai(2026, 5, 1, 23, 0)


def test_report_time_rules_and_who_reports(actors: Actors, subject) -> None:  # type: ignore[no-untyped-def]
    aware = shanghai(2026, 6, 1, 9, 0)
    with time_machine.travel(aware + timedelta(hours=1), tick=False):
        clock = serious(actors.coordinator_a, subject, aware).clocks.get()
        with pytest.raises(ApplicationError) as sponsor:
            reporting_clock_record_report(actor=actors.sponsor, clock=clock)
        assert sponsor.value.code == "not_allowed"
        with pytest.raises(ApplicationError) as early:
            reporting_clock_record_report(actor=actors.coordinator_a, clock=clock, reported_at=aware - timedelta(minutes=1))
        assert "reported_at" in early.value.fields
        with pytest.raises(ApplicationError) as future:
            reporting_clock_record_report(actor=actors.coordinator_a, clock=clock, reported_at=aware + timedelta(hours=2))
        assert "reported_at" in future.value.fields
        reporting_clock_record_report(actor=actors.investigator_a, clock=clock)
        with pytest.raises(ApplicationError) as twice:
            reporting_clock_record_report(actor=actors.coordinator_a, clock=clock)
        assert twice.value.code == "invalid_transition"


def test_sponsor_assessment_marks_a_susar_and_starts_the_7_or_15_day_clock(actors: Actors, subject) -> None:  # type: ignore[no-untyped-def]
    aware = shanghai(2026, 2, 27, 20, 0)
    with time_machine.travel(aware + timedelta(hours=1), tick=False):
        other = serious(actors.coordinator_a, subject, aware)
        threatening = serious(actors.coordinator_a, subject, aware, grade=4, serious_life_threatening=True)
    sponsor_knows = shanghai(2026, 2, 28, 0, 10)
    with time_machine.travel(shanghai(2026, 2, 28, 9, 0), tick=False):
        with pytest.raises(ApplicationError) as not_sponsor:
            adverse_event_sponsor_assess(actor=actors.investigator_a, event=other, expectedness="unexpected",
                                         causality="possible", sponsor_awareness_at=sponsor_knows)
        assert not_sponsor.value.code == "not_allowed"
        other = adverse_event_sponsor_assess(actor=actors.sponsor, event=other, expectedness="unexpected",
                                             causality="possible", sponsor_awareness_at=sponsor_knows)
        threatening = adverse_event_sponsor_assess(actor=actors.sponsor, event=threatening, expectedness="unexpected",
                                                   causality="definite", sponsor_awareness_at=sponsor_knows)
    assert other.is_susar and threatening.is_susar
    fifteen = other.clocks.get(kind="susar_15d")
    seven = threatening.clocks.get(kind="susar_7d")
    assert fifteen.due_at.astimezone(SH).date() == date(2026, 3, 15)
    assert seven.due_at.astimezone(SH).date() == date(2026, 3, 7)
    assert seven.started_at == sponsor_knows
    with time_machine.travel(shanghai(2026, 3, 7, 23, 59), tick=False):
        assert reporting_clock_record_report(actor=actors.sponsor, clock=seven).status == "met"
    # Re-assessed as expected (with a reason): no longer a SUSAR, its open clock is cancelled, visibly.
    with pytest.raises(ApplicationError):
        adverse_event_sponsor_assess(actor=actors.sponsor, event=other, expectedness="expected", causality="possible")
    with time_machine.travel(shanghai(2026, 3, 2, 9, 0), tick=False):
        other = adverse_event_sponsor_assess(actor=actors.sponsor, event=other, expectedness="expected",
                                             causality="possible", reason="listed in IB v4")
    assert not other.is_susar and other.clocks.get(kind="susar_15d").status == "cancelled"
    assert AuditEvent.objects.filter(action="cancel_clock", reason="listed in IB v4").count() == 1


def test_expected_or_unrelated_serious_events_are_not_susars(actors: Actors, subject) -> None:  # type: ignore[no-untyped-def]
    aware = shanghai(2026, 2, 27, 20, 0)
    with time_machine.travel(aware + timedelta(hours=1), tick=False):
        expected = serious(actors.coordinator_a, subject, aware)
        unlikely = serious(actors.coordinator_a, subject, aware)
        for event, expectedness, causality in ((expected, "expected", "definite"), (unlikely, "unexpected", "unlikely")):
            event = adverse_event_sponsor_assess(actor=actors.sponsor, event=event, expectedness=expectedness,
                                                 causality=causality)
            assert not event.is_susar and not event.clocks.exclude(kind="site_24h").exists()


def test_the_sweep_flags_then_lapses_and_is_idempotent(actors: Actors, subject) -> None:  # type: ignore[no-untyped-def]
    aware = shanghai(2026, 1, 31, 20, 0)  # due 1 Feb 20:00 Shanghai
    with time_machine.travel(aware + timedelta(minutes=5), tick=False):
        clock = serious(actors.coordinator_a, subject, aware).clocks.get()

    def sweep_at(moment: datetime) -> dict[str, int]:
        with time_machine.travel(moment, tick=False):
            return sweep_reporting_clocks()  # the beat task itself, run in-process

    def swept_events() -> int:
        return AuditEvent.objects.filter(action__in=("clock_lapsed", "clock_about_to_lapse")).count()

    assert sweep_at(shanghai(2026, 2, 1, 13, 59)) == {"lapsed": 0, "about_to_lapse": 0}
    assert sweep_at(shanghai(2026, 2, 1, 14, 0)) == {"lapsed": 0, "about_to_lapse": 1}  # 6 hours before
    assert sweep_at(shanghai(2026, 2, 1, 14, 15)) == {"lapsed": 0, "about_to_lapse": 0}
    assert swept_events() == 1
    clock.refresh_from_db()
    assert clock.about_to_lapse and clock.status == "open"
    assert sweep_at(shanghai(2026, 2, 1, 20, 0)) == {"lapsed": 1, "about_to_lapse": 0}
    assert sweep_at(shanghai(2026, 2, 1, 20, 15)) == {"lapsed": 0, "about_to_lapse": 0}
    assert swept_events() == 2
    clock.refresh_from_db()
    assert clock.status == "late" and clock.lapsed_at == shanghai(2026, 2, 1, 20, 0) and not clock.about_to_lapse
    # Reported after the lapse: stays late, with its report time.
    with time_machine.travel(shanghai(2026, 2, 2, 8, 0), tick=False):
        clock = reporting_clock_record_report(actor=actors.coordinator_a, clock=clock)
    assert clock.status == "late" and clock.reported_at == shanghai(2026, 2, 2, 8, 0)


def test_a_clock_entered_after_its_due_time_is_late_at_once(actors: Actors, subject) -> None:  # type: ignore[no-untyped-def]
    aware = shanghai(2026, 5, 1, 8, 0)
    with time_machine.travel(aware + timedelta(days=2), tick=False):
        clock = serious(actors.coordinator_a, subject, aware).clocks.get()
        assert clock.status == "late" and reporting_clocks_sweep() == {"lapsed": 0, "about_to_lapse": 0}
        # The report itself was sent in time (entered afterwards): met, and the lapse mark goes.
        clock = reporting_clock_record_report(actor=actors.coordinator_a, clock=clock, reported_at=aware + timedelta(hours=3))
    assert clock.status == "met" and clock.lapsed_at is None


def test_the_beat_schedule_runs_the_sweep_every_15_minutes() -> None:
    from config.celery_app import app

    entry = settings.CELERY_BEAT_SCHEDULE["sweep-reporting-clocks"]
    assert entry == {"task": "safety.sweep_reporting_clocks", "schedule": 900.0}
    assert entry["task"] in app.tasks
    assert ReportingClock.WARN_BEFORE[ReportingClock.Kind.SITE_24H] == timedelta(hours=6)
