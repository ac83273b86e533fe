"""Due times of the SAE reporting clocks (docs/clinical.md, section 4 "Reporting clocks").

- Site -> sponsor: 24 hours after the site becomes aware, to the minute: due = awareness + 24 h of elapsed
  time, added to the UTC instant (nucmed.instants.after). Added to a local wall clock it would be 23 or 25
  hours across a daylight-saving change.
- Sponsor -> regulators (SUSAR): 7 (fatal or life-threatening) or 15 calendar days, "day 0 is the day of
  first awareness" (ICH E2A). These are calendar days, not durations, counted in the platform's time zone
  (settings.TIME_ZONE, Asia/Shanghai by default): day 0 is the local date of the sponsor's awareness, and the
  report is due by the end of local day 7 (or 15), i.e. 23:59:59.999999 local time on (awareness date + N
  days), stored in UTC. Awareness at 00:10 on 28 Feb (Shanghai) is 16:10 UTC on 27 Feb, yet day 0 is 28 Feb:
  the local day counts. Across a daylight-saving change the period is an hour shorter or longer in elapsed
  time, as the calendar-day rule says.
"""
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

from nucmed.instants import after

SITE_REPORT_WITHIN = timedelta(hours=24)
SUSAR_DAYS = {"susar_7d": 7, "susar_15d": 15}


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def site_report_due(site_awareness: datetime) -> datetime:
    return after(site_awareness, SITE_REPORT_WITHIN)


def end_of_local_day(day: date) -> datetime:
    return datetime.combine(day, time.max, tzinfo=local_zone())


def susar_report_due(sponsor_awareness: datetime, *, days: int) -> datetime:
    day0 = sponsor_awareness.astimezone(local_zone()).date()
    return end_of_local_day(day0 + timedelta(days=days)).astimezone(UTC)
