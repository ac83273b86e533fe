"""Elapsed time between instants (reference: docs/physics.md, "Time: instants and elapsed durations").

Python subtracts two aware datetimes that share one tzinfo object by their wall clocks, ignoring the offset
change between them, and adds a timedelta to an aware datetime on the wall clock too. Across a daylight-saving
change both are off by the change (one hour in Europe/Berlin or America/New_York): a 68Ga decay over the
spring change comes out 46 % low, a "24-hour" clock is 23 hours long. Every duration in the platform is
therefore taken between UTC instants, through these functions. Calendar-day rules (a regulation's "day 7",
a visit window in days) are not durations: they are counted on local dates and say so where they are made.
"""
from datetime import UTC, datetime, timedelta


def as_utc(value: datetime, name: str = "datetime") -> datetime:
    """The same instant in UTC. Raises ValueError for a naive datetime (its instant is unknown)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
    return value.astimezone(UTC)


def elapsed_seconds(start: datetime, end: datetime) -> float:
    """Seconds that really passed from `start` to `end` (negative when `end` is earlier), whatever their zones."""
    return (as_utc(end, "end") - as_utc(start, "start")).total_seconds()


def after(start: datetime, duration: timedelta) -> datetime:
    """The instant `duration` of elapsed time after `start`, in UTC (not the same wall-clock time `duration` later)."""
    return as_utc(start, "start") + duration
