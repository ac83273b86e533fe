"""The SAE clocks where the platform's zone has daylight saving (issue 15, defect 5).

The site's 24-hour clock is 24 elapsed hours (ICH E2A / the protocol's "within 24 hours of awareness");
the SUSAR clocks count calendar days on local dates (ICH E2A: day 0 is the day of first awareness), so
their elapsed length follows the calendar. Run with TIME_ZONE Europe/Berlin and America/New_York across
both changes; the awareness times carry the zone's ZoneInfo, as Django's forms and DRF hand them over.
"""
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import override_settings
from django.utils import timezone

from conftest import Actors
from nucmed.instants import elapsed_seconds
from trials.safety import deadlines
from trials.safety.services.assessment import adverse_event_sponsor_assess
from trials.safety.services.events import adverse_event_report
from trials.safety.tests.helpers import grant, make_subject, make_trial

# (zone, the local awareness on the day before a change, the change's direction)
CHANGES = [
    ("Europe/Berlin", datetime(2026, 3, 28, 10, 0), "spring"),
    ("Europe/Berlin", datetime(2026, 10, 24, 10, 0), "autumn"),
    ("America/New_York", datetime(2026, 3, 7, 10, 0), "spring"),
    ("America/New_York", datetime(2026, 10, 31, 10, 0), "autumn"),
]


@pytest.mark.parametrize(("zone", "local", "change"), CHANGES)
def test_site_clock_is_24_elapsed_hours_across_daylight_saving(zone: str, local: datetime, change: str) -> None:
    """Awareness 10:00 local the day before the change: due 24 elapsed hours later, which the local clock shows
    as 11:00 (spring) or 09:00 (autumn). Adding 24 h to the local wall clock gave 23 (spring) or 25 hours."""
    aware = local.replace(tzinfo=ZoneInfo(zone))
    due = deadlines.site_report_due(aware)
    assert elapsed_seconds(aware, due) == 24 * 3600
    assert due.astimezone(ZoneInfo(zone)).hour == (11 if change == "spring" else 9)


@pytest.mark.parametrize(("zone", "local", "change"), CHANGES)
def test_susar_clock_counts_local_calendar_days_across_daylight_saving(zone: str, local: datetime, change: str) -> None:
    """Day 0 = the local date of awareness; due at the end of local day 7. Elapsed, that is 7 days and 14 hours
    minus the hour the spring change removes (or plus the autumn hour)."""
    with override_settings(TIME_ZONE=zone):
        aware = local.replace(tzinfo=ZoneInfo(zone))
        due = deadlines.susar_report_due(aware, days=7)
        on_the_clock = due.astimezone(ZoneInfo(zone))
        assert due.tzinfo == UTC
        assert on_the_clock.date() == local.date() + timedelta(days=7)
        assert (on_the_clock.hour, on_the_clock.minute, on_the_clock.second) == (23, 59, 59)
        hour = 3600 if change == "autumn" else -3600
        assert elapsed_seconds(aware, due) == pytest.approx((7 * 24 + 14) * 3600 - 1 + hour, abs=1)


@pytest.mark.django_db
@pytest.mark.parametrize(("zone", "local", "change"), CHANGES)
def test_reported_events_get_24_elapsed_hours_and_local_day_7(actors: Actors, zone: str, local: datetime, change: str) -> None:
    """The same through the services, with the platform's zone overridden: the site clock of an SAE reported
    the day before the change is due 24 elapsed hours after awareness, and its SUSAR clock at the end of local day 7."""
    with override_settings(TIME_ZONE=zone), timezone.override(ZoneInfo(zone)):
        tz = ZoneInfo(zone)
        trial = make_trial()
        grant(actors.sponsor, trial, "sponsor")
        subject = make_subject(actors.coordinator_a, actors.hospital_a, trial, enrolled_at=datetime(2026, 1, 5, 9, 0, tzinfo=tz),
                               diagnosis_date=date(2025, 12, 1))
        aware = local.replace(tzinfo=tz)
        with time_machine.travel(aware + timedelta(minutes=30), tick=False):
            event = adverse_event_report(actor=actors.coordinator_a, subject=subject, data={
                "meddra_code": "10002272", "onset_date": local.date(), "grade": 4, "serious_life_threatening": True,
                "site_awareness_at": aware, "relatedness": "probable", "expectedness": "unexpected",
                "action_taken": "not_applicable", "outcome": "recovering"})
            event = adverse_event_sponsor_assess(actor=actors.sponsor, event=event, expectedness="unexpected",
                                                 causality="probable", sponsor_awareness_at=aware)
        site = event.clocks.get(kind="site_24h")
        assert elapsed_seconds(site.started_at, site.due_at) == 24 * 3600
        seven = event.clocks.get(kind="susar_7d")
        assert seven.due_at.astimezone(tz).date() == local.date() + timedelta(days=7)
        assert seven.due_at.astimezone(tz).hour == 23
