from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from nucmed.instants import after, as_utc, elapsed_seconds

BERLIN, NEW_YORK = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")


def test_wall_clock_subtraction_is_what_goes_wrong() -> None:
    """Why the module exists: Python subtracts datetimes sharing one ZoneInfo by their wall clocks."""
    before, later = datetime(2026, 3, 29, 1, 30, tzinfo=BERLIN), datetime(2026, 3, 29, 3, 30, tzinfo=BERLIN)
    assert (later - before) == timedelta(hours=2)  # wall clock
    assert elapsed_seconds(before, later) == 3600.0  # what really passed


@pytest.mark.parametrize(("zone", "start", "hours"), [
    (BERLIN, datetime(2026, 3, 28, 10, 0), 24), (BERLIN, datetime(2026, 10, 24, 10, 0), 24),
    (NEW_YORK, datetime(2026, 3, 7, 10, 0), 24), (NEW_YORK, datetime(2026, 10, 31, 10, 0), 24),
])
def test_after_adds_elapsed_time_across_both_changes(zone: ZoneInfo, start: datetime, hours: int) -> None:
    begun = start.replace(tzinfo=zone)
    due = after(begun, timedelta(hours=hours))
    assert due.tzinfo is UTC
    assert elapsed_seconds(begun, due) == hours * 3600
    # The wall clock shows 10:00 +/- 1 h the next day: the change is inside the interval.
    assert due.astimezone(zone).hour in (9, 11)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        as_utc(datetime(2026, 3, 29, 1, 30))
    with pytest.raises(ValueError, match="start"):
        elapsed_seconds(datetime(2026, 3, 29), datetime(2026, 3, 29, tzinfo=UTC))
