"""Due times of the SAE reporting clocks (docs/clinical.md, section 4 "Reporting clocks").

- Site -> sponsor: 24 hours after the site becomes aware, to the minute: due = awareness + 24 h (an elapsed
  duration, the same in any time zone).
- Sponsor -> regulators (SUSAR): 7 (fatal or life-threatening) or 15 calendar days, "day 0 is the day of
  first awareness". Calendar days are counted in the platform's time zone (settings.TIME_ZONE,
  Asia/Shanghai): day 0 is the local date of the sponsor's awareness, and the report is due by the end of
  local day 7 (or 15), i.e. 23:59:59.999999 Asia/Shanghai on (awareness date + N days), stored in UTC.
  Awareness at 00:10 on 28 Feb (Shanghai) is 16:10 UTC on 27 Feb, yet day 0 is 28 Feb: the local day counts.
"""
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

SITE_REPORT_WITHIN = timedelta(hours=24)
SUSAR_DAYS = {"susar_7d": 7, "susar_15d": 15}


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def site_report_due(site_awareness: datetime) -> datetime:
    return site_awareness + SITE_REPORT_WITHIN


def end_of_local_day(day: date) -> datetime:
    return datetime.combine(day, time.max, tzinfo=local_zone())


def susar_report_due(sponsor_awareness: datetime, *, days: int) -> datetime:
    day0 = sponsor_awareness.astimezone(local_zone()).date()
    return end_of_local_day(day0 + timedelta(days=days)).astimezone(UTC)
