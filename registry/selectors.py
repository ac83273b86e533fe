"""Reads. Every function returns a queryset already restricted to the user (never .objects.all())."""
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import Min, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import get_language

from registry import worklist_sources
from registry.access import Action
from registry.consent_rules import annotate_consent, reconsent_document
from registry.models import (
    AuditChainHead,
    AuditEvent,
    ConsentDocument,
    ConsentRecord,
    FollowUpVisit,
    Hospital,
    HospitalMembership,
    Job,
    Patient,
    User,
)
from registry.worklist_sources import Listing, WorkItem


def hospital_list(*, user: User, action: Action = Action.VIEW) -> QuerySet[Hospital]:
    return Hospital.objects.restrict(user, action)


def membership_list(*, user: User, action: Action = Action.VIEW) -> QuerySet[HospitalMembership]:
    return HospitalMembership.objects.restrict(user, action).select_related("user", "hospital")


def audit_event_list(*, user: User) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.restrict(user, Action.VIEW)


def job_list(*, user: User) -> QuerySet[Job]:
    return Job.objects.restrict(user, Action.VIEW).select_related("requested_by")


def patient_list(*, user: User, on: date | None = None, consent: bool = True) -> QuerySet[Patient]:
    """Patients in the user's scope, with consent flags (has_registry_consent, reconsent_due, adult_consent_due).

    consent=False leaves the flags out: a list pages the plain rows and adds the flags to its page only
    (patient_page_rows), since SQLite computes the flags' subqueries for every row before it sorts and cuts the page.
    """
    patients = Patient.objects.restrict(user, Action.VIEW).select_related("hospital")
    return annotate_consent(patients, on=on or timezone.localdate()) if consent else patients


# The page query's SQL, compiled once per database, day, re-consent version, fields and order (its text and every
# parameter are a function of these alone; the page's keys come in as a subquery). Building and compiling the
# consent flags' expressions cost about six times running them (SQLite, 50 rows), so a list request reuses them.
_PAGE_MARK = "SELECT NULL /* page keys */"
_page_sql: dict[tuple[Any, ...], tuple[str, list[Any], int, list[Any], list[str]]] = {}


def patient_page_rows(page: QuerySet[Patient], *, fields: list[str], on: date | None = None) -> list[dict[str, Any]]:
    """One page of a patient list as values() rows, with the consent flags computed for that page's rows only.

    `page` is a sliced, ordered patient queryset already restricted to the user; it becomes the subquery that
    selects the rows, so the flags' subqueries run for the page (at most page-size rows), not for every row in scope
    before the database sorts and cuts. Queries: the in-force re-consent version, then the page; the first request
    for a key also builds the SQL (annotate_consent reads the re-consent version itself: one more query).
    """
    on = on or timezone.localdate()
    db = page.db
    newer = reconsent_document(on)
    ordering = tuple([*(page.query.order_by or Patient._meta.ordering), "pk"])
    key = (db, on, newer.effective_from if newer else None, tuple(fields), ordering)
    if key not in _page_sql:
        rows = (annotate_consent(Patient.objects.using(db).filter(pk__in=RawSQL(_PAGE_MARK, ())), on=on)
                .order_by(*ordering).values(*fields))
        compiler = rows.query.get_compiler(using=db)
        sql, params = compiler.as_sql()
        selected = compiler.select[:compiler.col_count]
        columns, names = [column for column, _sql, _alias in selected], [alias for _column, _sql, alias in selected]
        assert sorted(names) == sorted(fields), names  # every column named as values() names it
        if len(_page_sql) > 256:  # days go by: keep the cache small
            _page_sql.clear()
        _page_sql[key] = (sql, list(params), sql.index(_PAGE_MARK), columns, names)
    sql, params, mark, columns, names = _page_sql[key]
    try:
        keys_sql, keys_params = page.values("pk").query.get_compiler(using=db).as_sql()
    except EmptyResultSet:  # a filter or a scope that can match nothing (Django builds no SQL for it)
        return []
    before = sql[:mark].count("%s")
    query = sql[:mark] + keys_sql + sql[mark + len(_PAGE_MARK):]
    arguments = [*params[:before], *keys_params, *params[before:]]
    compiler = page.query.get_compiler(using=db)
    with connections[db].cursor() as cursor:
        cursor.execute(query, arguments)
        found: Any = cursor.fetchall()
    converters = compiler.get_converters(columns)
    if converters:
        found = compiler.apply_converters(found, converters)
    return [dict(zip(names, row, strict=True)) for row in found]


def patients_for_research(*, user: User, on: date) -> QuerySet[Patient]:
    """What reports and exports may use: in scope, and no withdrawal of data use by `on`."""
    return Patient.objects.restrict(user, Action.VIEW).usable_for_research(on)


def consent_record_list(*, user: User) -> QuerySet[ConsentRecord]:
    return ConsentRecord.objects.restrict(user, Action.VIEW).select_related("patient", "document", "withdrawal")


def consent_document_list(*, user: User) -> QuerySet[ConsentDocument]:
    return ConsentDocument.objects.restrict(user, Action.VIEW)


def visit_list(*, user: User) -> QuerySet[FollowUpVisit]:
    return FollowUpVisit.objects.restrict(user, Action.VIEW).select_related("patient")


@dataclass(frozen=True)
class Outcome:
    """Survival times from diagnosis, in days, with the event flag (False = censored at last contact)."""

    patient_id: int
    study_id: str
    os_days: int
    os_event: bool
    efs_days: int
    efs_event: bool


EFS_EVENT_STATUSES = ("PD", "relapse")


def outcomes(patients: QuerySet[Patient]) -> list[Outcome]:
    """OS (death from any cause) and EFS (relapse, progression or death), censored at last contact."""
    rows = patients.annotate(
        first_event=Min("visits__event_date", filter=Q(visits__status=FollowUpVisit.Status.DONE)),
        first_event_visit=Min("visits__visit_date", filter=Q(visits__disease_status__in=EFS_EVENT_STATUSES)),
    ).values_list("pk", "study_id", "diagnosis_date", "death_date", "last_contact_date", "first_event", "first_event_visit")
    result = []
    for pk, study_id, dx, death, contact, event, event_visit in rows:
        end = death or contact or dx
        efs_date = min(d for d in (event, event_visit, death) if d) if (event or event_visit or death) else end
        result.append(Outcome(pk, study_id, (end - dx).days, death is not None, (efs_date - dx).days,
                              bool(event or event_visit or death)))
    return result


@dataclass(frozen=True)
class WorkGroup:
    """One group of the worklist: its total and the items of the page asked for."""
    key: str
    heading: Any
    count: int
    items: list[WorkItem]


_Entry = tuple[str, Any, int, Listing | list[WorkItem]]


def _entries(user: User, on: date, only: str | None) -> list[_Entry]:
    """The user's groups by rank, each a Listing (a query not yet run) or, for the older list sources, its items."""
    entries: list[_Entry] = []
    registered = worklist_sources.groups()
    for group in registered:
        if only is None or group.key == only:
            listing = group.listing(user, on)
            if listing is not None:
                entries.append((group.key, group.heading, group.rank, listing))
    if only is None or only not in {g.key for g in registered}:
        by_kind: dict[str, list[WorkItem]] = {}
        for source in worklist_sources.sources().values():
            for item in source(user, on):
                by_kind.setdefault(item.kind, []).append(item)
        for kind, items in by_kind.items():
            if only is None or kind == only:
                entries.append((kind, worklist_sources.LEGACY_HEADINGS.get(kind, kind),
                                worklist_sources.LEGACY_RANKS.get(kind, 900), items))
    return sorted(entries, key=lambda e: (e[2], e[0]))


def _counts(entries: list[_Entry]) -> list[int]:
    """Every group's size in one statement, SELECT (SELECT COUNT(*) FROM (<group>)), ...: no row is fetched. A group
    whose query is empty by construction (no scope: `.none()`) counts 0 without SQL."""
    parts: list[str] = []
    params: list[Any] = []
    db = "default"
    for i, (_key, _heading, _rank, source) in enumerate(entries):
        if isinstance(source, list):
            parts.append(str(len(source)))
            continue
        try:
            sql, p = source.rows.order_by().query.sql_with_params()
        except EmptyResultSet:
            parts.append("0")
            continue
        db = source.rows.db
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) wl{i})")
        params.extend(p)
    if not params and all(p.isdigit() for p in parts):
        return [int(p) for p in parts]
    with connections[db].cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        return [int(n) for n in cursor.fetchone()]


def _slice(source: Listing | list[WorkItem], offset: int, limit: int) -> list[WorkItem]:
    if isinstance(source, list):
        return source[offset:offset + limit]
    return [source.item(row) for row in source.rows[offset:offset + limit]]  # LIMIT/OFFSET in SQL


def worklist_groups(*, user: User, on: date | None = None, offset: int = 0, limit: int = 10,
                    only: str | None = None) -> list[WorkGroup]:
    """The user's non-empty groups, most urgent first, each with its count and the rows offset..offset+limit: one query
    for all the counts, then one per group shown, whatever the number of items."""
    entries = _entries(user, on or timezone.localdate(), only)
    return [WorkGroup(key, heading, n, _slice(source, offset, limit))
            for (key, heading, _rank, source), n in zip(entries, _counts(entries), strict=True) if n]


def worklist_page(*, user: User, on: date | None = None, offset: int = 0, limit: int = 50,
                  only: str | None = None) -> tuple[list[WorkGroup], list[WorkItem]]:
    """One page of the worklist read as a single list in group order (or of one group, `only`): the groups with their
    counts (items left empty) and the page's items, fetched from only the groups the page spans."""
    entries = _entries(user, on or timezone.localdate(), only)
    counts = _counts(entries)
    items: list[WorkItem] = []
    start = offset
    for (_key, _heading, _rank, source), n in zip(entries, counts, strict=True):
        if len(items) >= limit:
            break
        if start >= n:
            start -= n
            continue
        items.extend(_slice(source, start, min(limit - len(items), n - start)))
        start = 0
    return [WorkGroup(key, heading, n, []) for (key, heading, _rank, _s), n in zip(entries, counts, strict=True) if n], items


def _audit_head() -> str:
    """The audit chain's head hash: it moves with every audited write (every service write, the sweeps included) and
    is unique to its event, so a key built on it never meets an entry cached before that write, nor one of another
    database (a test rolled back)."""
    return AuditChainHead.objects.filter(pk=1).values_list("hash", flat=True).first() or ""


def _cached(user: User, name: str, build: Callable[[], Any], *key: Any) -> Any:
    """The worklist for pages and the API: built once per user, page and language until the next audited write (one
    primary-key read of the audit head per request instead of building every group's query). Per process (the
    default local-memory cache) unless CACHES names a shared one."""
    # The date too: due and overdue move at midnight with no write (and the TTL bounds how stale a clock's state is).
    cache_key = ":".join(str(k) for k in ("worklist", name, user.pk, get_language(), timezone.localdate(), _audit_head(), *key))
    found = cache.get(cache_key)
    if found is None:
        found = build()
        cache.set(cache_key, found, WORKLIST_CACHE_SECONDS)
    return found


WORKLIST_CACHE_SECONDS = 300


def worklist_groups_for_page(*, user: User, limit: int, offset: int = 0, only: str | None = None) -> list[WorkGroup]:
    """worklist_groups for today, cached until the next audited write (the home page and the group page)."""
    on = timezone.localdate()
    return _cached(user, "groups", lambda: worklist_groups(user=user, on=on, offset=offset, limit=limit, only=only),
                   on, offset, limit, only)


def worklist_page_for_api(*, user: User, offset: int, limit: int,
                          only: str | None = None) -> tuple[list[WorkGroup], list[dict[str, Any]]]:
    """worklist_page for today, its items as the API's rows, cached until the next audited write (the API)."""
    on = timezone.localdate()

    def build() -> tuple[list[WorkGroup], list[dict[str, Any]]]:
        groups, items = worklist_page(user=user, on=on, offset=offset, limit=limit, only=only)
        return groups, [item.as_row() for item in items]

    return _cached(user, "page", build, on, offset, limit, only)


def worklist(*, user: User, on: date | None = None) -> list[WorkItem]:
    """Every item of every group, most urgent group first (for tests and small scripts; pages and the API page)."""
    items: list[WorkItem] = []
    for _key, _heading, _rank, source in _entries(user, on or timezone.localdate(), None):
        items.extend(source if isinstance(source, list) else [source.item(row) for row in source.rows])
    return items
