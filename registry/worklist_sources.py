"""Worklist groups from every app (registry, trials, safety, imaging...) without registry importing the apps further on.

Each app puts a `worklist` module next to its models (imported once by Django's autodiscover, as for demo_seed) that
registers its groups with `register_worklist_group(key, heading, rank)`. A group's function `fn(user, on)` returns a
`Listing`: an ordered queryset of `values()` rows, already restricted to what the user may act on, and a function that
formats one row as a `WorkItem`; or None when the user's roles give them nothing there (then it runs no query). The
worklist never builds a whole group: registry.selectors counts every group in one SQL statement and fetches only the
rows of the page shown (LIMIT/OFFSET), so its cost does not grow with the number of items.

Groups appear by rank, the most urgent first: SAE/SUSAR clocks (10), the user's own signatures and scoring (20-29),
visits (30-39), then the rest (40 and on). Titles carry no patient identifier (trial subject numbers for trial roles;
registry study IDs only in `study_id`, for the patient's hospital).

`register_worklist_source(name)` is the older form, `fn(user, on) -> list[WorkItem]`, kept for sources with few items
(data queries): its items are built whole and grouped by kind, ranked by LEGACY_RANKS.
"""
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext_lazy as _

from registry.models import User


@dataclass(frozen=True)
class WorkItem:
    """One thing to do. Registry items (visit_due | visit_overdue | reconsent_due | adult_consent_due) name the
    patient by study ID (their users are of the patient's hospital); items of other apps leave patient_id/study_id
    empty (except held uploads, for the hospital's coordinators) and say what to do in `title`, with `link` the API
    URL of the object."""
    kind: str
    patient_id: int | None
    study_id: str
    hospital_code: str
    due_date: date | None
    visit_id: int | None = None
    visit_number: int | None = None
    title: str = ""
    link: str = ""
    due_at: datetime | None = None

    def as_row(self) -> dict[str, Any]:
        """The API's item (WorklistView), built once and cached with the page: no serializer walk per request."""
        due_at = None
        if self.due_at is not None:  # as DRF's DateTimeField writes it: the current time zone, "Z" for UTC
            due_at = timezone.localtime(self.due_at).isoformat()
            due_at = due_at[:-6] + "Z" if due_at.endswith("+00:00") else due_at
        return {"kind": self.kind, "title": self.title, "study_id": self.study_id, "hospital_code": self.hospital_code,
                "due_date": self.due_date.isoformat() if self.due_date else None, "due_at": due_at, "link": self.link,
                "visit_id": self.visit_id, "visit_number": self.visit_number}


@dataclass(frozen=True)
class Listing:
    rows: QuerySet[Any]  # values() rows in the order shown; never evaluated whole by the worklist
    item: Callable[[dict[str, Any]], WorkItem]


GroupFn = Callable[[User, date], Listing | None]
Source = Callable[[User, date], list[WorkItem]]


@dataclass(frozen=True)
class Group:
    key: str
    heading: Any  # a lazy translation
    rank: int
    listing: GroupFn


_groups: dict[str, Group] = {}
_sources: dict[str, Source] = {}
_discovered = False
# Kinds of the older list sources: where their items rank among the groups.
LEGACY_RANKS = {"query_to_answer": 50, "query_to_close": 51}
LEGACY_HEADINGS = {"query_to_answer": _("Open data queries to answer"), "query_to_close": _("Answered data queries to close")}


def register_worklist_group(key: str, heading: Any, rank: int) -> Callable[[GroupFn], GroupFn]:
    def register(fn: GroupFn) -> GroupFn:
        _groups[key] = Group(key, heading, rank, fn)
        return fn

    return register


def register_worklist_source(name: str) -> Callable[[Source], Source]:
    def register(fn: Source) -> Source:
        _sources[name] = fn
        return fn

    return register


def _discover() -> None:
    global _discovered
    if not _discovered:
        autodiscover_modules("worklist")
        _discovered = True


def groups() -> list[Group]:
    _discover()
    return sorted(_groups.values(), key=lambda g: (g.rank, g.key))


def sources() -> dict[str, Source]:
    _discover()
    return dict(_sources)
