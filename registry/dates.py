"""Date arithmetic used across the registry (ages in whole months and years)."""
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta


def months_between(start: date, end: date) -> int:
    """Whole months from start to end (a child born 2024-01-20 is 1 month old on 2024-02-20)."""
    delta = relativedelta(end, start)
    return delta.years * 12 + delta.months


def age_years(birth: date, on: date) -> int:
    return relativedelta(on, birth).years


def add_months(start: date, months: int) -> date:
    return start + relativedelta(months=months)


def adult_on(birth: date) -> date:
    return birth + relativedelta(years=18)


def latest_adult_birth(on: date) -> date:
    """The latest date of birth of someone adult on `on`: `adult_on(birth) <= on` exactly when `birth <= this`.

    Not simply `on - 18 years`: someone born on 29 February is adult on 28 February of a common year.
    """
    cutoff = on - relativedelta(years=18)
    following = cutoff + timedelta(days=1)
    return following if adult_on(following) <= on else cutoff
