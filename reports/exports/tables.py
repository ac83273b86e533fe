"""The tables of the de-identified data extract: which rows, which columns, and what each column means.

Each column is a path into the table's model (read with values_list, so every table is one query) or a derived
value. Free text (reasons, notes, sites of relapse, causes of death, lot numbers, witnesses), identifiers (study
IDs, names, record numbers, national IDs, guardian contacts) and dates of birth never appear: patients are known
by a pseudonymous key, imaging studies by their own, trial subjects by their subject number, and the age is the
age at diagnosis in months (as in the reports).
"""
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db import models
from django.db.models import QuerySet
from django.utils import timezone

from registry.models import User


@dataclass(frozen=True)
class Column:
    name: str
    path: str | None  # ORM path read with values_list; None: derived from `derive`
    description: str
    type: str = ""  # filled from the model field when empty
    derive: Callable[[dict[str, Any]], Any] | None = None
    needs: tuple[str, ...] = ()  # paths a derived column reads


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    model: type[models.Model]
    rows: Callable[[User, QuerySet[Any]], QuerySet[Any]]  # (requester, the extract's patients) -> rows, stably ordered
    columns: list[Column] = field(default_factory=list)

    def paths(self) -> list[str]:
        wanted: list[str] = []
        for c in self.columns:
            for p in ((c.path,) if c.path else c.needs):
                if p not in wanted:
                    wanted.append(p)
        return wanted


def model_field(model: type[models.Model], path: str) -> models.Field:  # type: ignore[type-arg]
    """The field at the end of a values_list path (`patient__hospital__code`)."""
    current: Any = model
    found: Any = None
    for part in path.split("__"):
        found = current._meta.get_field(part)
        current = found.related_model if found.is_relation else None
    return found


TYPES = {models.DateField: "date", models.DateTimeField: "datetime", models.BooleanField: "boolean", models.DecimalField: "decimal",
         models.FloatField: "decimal", models.IntegerField: "integer", models.CharField: "text", models.TextField: "text"}


def field_type(f: models.Field) -> str:  # type: ignore[type-arg]
    for cls in type(f).__mro__:
        if cls in TYPES:
            # DateTimeField subclasses DateField: the MRO walk finds the most specific first.
            return TYPES[cls]
    return "text"


def as_date(value: date | datetime | None) -> date | None:
    """Times of day are not needed for analysis and narrow a record down: datetimes leave as their date,
    the hospital's calendar day (TIME_ZONE), so a dose given at 07:00 in Beijing is not dated the day before."""
    return timezone.localdate(value) if isinstance(value, datetime) else value
