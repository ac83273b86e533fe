"""Date arithmetic used across the registry (ages in whole months and years)."""
from datetime import date

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
