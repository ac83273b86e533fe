"""QIDO-RS (PS3.18 10.6): search for studies, series and instances at every level, scoped to the caller.

Matching (PS3.4 C.2.2.2): an empty key matches everything; UIDs match a list (comma or backslash separated);
dates, times and date-times match a value or a range (`20240101-20240131`, either end open); text matches
exactly, or with the wildcards `*` and `?`; code strings (Modality, ModalitiesInStudy) match any of a list.
PatientName (the platform's study ID) matches without regard to case. `fuzzymatching=true` makes text keys
case-insensitive prefix matches. A key the platform does not match on is ignored with a 299 Warning header
(PS3.18 8.3.4.1); a key that names no DICOM attribute is a 400.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Substr
from django.db.models.lookups import Exact, GreaterThanOrEqual, LessThanOrEqual
from django.http import QueryDict
from django.utils.translation import gettext

from imaging.dicomweb import json as dj
from imaging.dicomweb.attributes import ATTRIBUTES, LEVELS, Attribute, Level, Row, find, known_tag, tag_of
from imaging.models import ImagingStudy, Instance, Series
from registry.access import Action
from registry.errors import ApplicationError

CONTROL = {"limit", "offset", "fuzzymatching", "includefield"}
DEFAULT_LIMIT = 1000
MAX_LIMIT = 5000
# The ORM path from each level's model to the model of a level at or above it.
PREFIX: dict[Level, dict[Level, str]] = {
    "study": {"study": ""},
    "series": {"study": "study__", "series": ""},
    "instance": {"study": "series__study__", "series": "series__", "instance": ""},
}
UIDS = {"study": "StudyInstanceUID", "series": "SeriesInstanceUID", "instance": "SOPInstanceUID"}
COUNTED = {"NumberOfStudyRelatedSeries", "NumberOfStudyRelatedInstances", "ModalitiesInStudy", "NumberOfSeriesRelatedInstances"}
_WILDCARD = re.compile(r"[*?]")


@dataclass
class Query:
    level: Level
    fixed: tuple[Level, ...]  # levels whose UID is in the path (their attributes are not returned by default)
    matches: list[tuple[Attribute, list[str]]] = field(default_factory=list)
    include: set[Attribute] = field(default_factory=set)
    include_all: bool = False
    fuzzy: bool = False
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def searchable(self) -> tuple[Level, ...]:
        return LEVELS[:LEVELS.index(self.level) + 1]

    @property
    def returned(self) -> tuple[Level, ...]:
        return tuple(lv for lv in self.searchable if lv not in self.fixed)


def published_studies(user: Any) -> QuerySet[ImagingStudy]:
    return ImagingStudy.objects.restrict(user, Action.VIEW).filter(status=ImagingStudy.Status.READY)


def published_series(user: Any) -> QuerySet[Series]:
    # A series is published when its study is ready and it has an instance that is not quarantined.
    shown = Instance.objects.filter(series=OuterRef("pk"), quarantine_reason="")
    return Series.objects.restrict(user, Action.VIEW).filter(Exists(shown), study__status=ImagingStudy.Status.READY)


def published_instances(user: Any) -> QuerySet[Instance]:
    return (Instance.objects.restrict(user, Action.VIEW)
            .filter(quarantine_reason="", series__study__status=ImagingStudy.Status.READY)
            .select_related("series__study__patient"))


def _bad(message: str, **values: Any) -> ApplicationError:
    return ApplicationError(message % values, code="invalid_query")


def _integer(params: QueryDict, name: str, default: int, low: int, high: int) -> int:
    text = params.get(name, "")
    if text == "":
        return default
    try:
        number = int(text)
    except ValueError as exc:
        raise _bad(gettext("%(name)s must be a whole number."), name=name) from exc
    if not low <= number <= high:
        raise _bad(gettext("%(name)s must be between %(low)s and %(high)s."), name=name, low=low, high=high)
    return number


def parse(params: QueryDict, level: Level, fixed: tuple[Level, ...] = ()) -> Query:
    query = Query(level=level, fixed=fixed)
    query.limit = _integer(params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    query.offset = _integer(params, "offset", 0, 0, 10**9)
    fuzzy = params.get("fuzzymatching", "false").lower()
    if fuzzy not in ("true", "false"):
        raise _bad(gettext("fuzzymatching must be true or false."))
    query.fuzzy = fuzzy == "true"
    for value in params.getlist("includefield"):
        for key in filter(None, (k.strip() for k in value.split(","))):
            if key == "all":
                query.include_all = True
            elif (attribute := _attribute(query, key)) is not None:
                query.include.add(attribute)
    for key in params:
        if key in CONTROL:
            continue
        attribute = _attribute(query, key)
        if attribute is not None:
            query.matches.append((attribute, params.getlist(key)))
    return query


def _attribute(query: Query, key: str) -> Attribute | None:
    """The attribute a key names at this level; None (with a warning) for a DICOM attribute the search does not
    support, such as a sequence path `00081111.00081150`; a 400 for a key that names no attribute."""
    if "." not in key:
        tag = tag_of(key)
        if tag is None or not known_tag(tag):
            raise _bad(gettext("%(key)s is not a DICOM attribute or a QIDO-RS parameter."), key=key)
        if (attribute := find(tag, query.searchable)) is not None:
            return attribute
    query.warnings.append(f"{key} is not supported for matching or return at this level and was ignored")
    return None


def _split(value: str) -> list[str]:
    return [v for v in re.split(r"[,\\]", value) if v]


def _range(value: str) -> tuple[str, str] | None:
    """(start, end) of a range key, either possibly empty; None for a single value."""
    if "-" not in value:
        return None
    start, end = value.split("-", 1)
    return start, end


def _as_date(text: str) -> date:
    try:
        return datetime.strptime(text, "%Y%m%d").date()
    except ValueError as exc:
        raise _bad(gettext("%(value)s is not a date (YYYYMMDD)."), value=text) from exc


def _digits(text: str, what: str) -> str:
    if not re.fullmatch(r"[0-9]+(\.[0-9]*)?", text.replace(":", "")):
        raise _bad(gettext("%(value)s is not a %(what)s."), value=text, what=what)
    return text.replace(":", "")


def _date_q(path: str, value: str) -> Q:
    bounds = _range(value)
    if bounds is None:
        return Q(**{path: _as_date(value)})
    q = Q(**{f"{path}__isnull": False})
    if bounds[0]:
        q &= Q(**{f"{path}__gte": _as_date(bounds[0])})
    if bounds[1]:
        q &= Q(**{f"{path}__lte": _as_date(bounds[1])})
    return q


def _text_range_q(expression: Any, value: str, what: str) -> Q:
    """A DA/TM/DT key against a fixed-width text column: a value matches every stored text it begins; a range's
    end is inclusive of everything it begins (`~` sorts after every digit and the fraction's dot)."""
    bounds = _range(value) or (value, value)
    q = ~Q(Exact(expression, ""))
    if bounds[0]:
        q &= Q(GreaterThanOrEqual(expression, _digits(bounds[0], what)))
    if bounds[1]:
        q &= Q(LessThanOrEqual(expression, _digits(bounds[1], what) + "~"))
    return q


def _pattern(value: str) -> str:
    return "^" + "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in value) + "$"


def _text_q(path: str, value: str, *, insensitive: bool, fuzzy: bool) -> Q:
    if _WILDCARD.search(value):
        if value.strip("*") == "":
            return Q()
        return Q(**{f"{path}__{'iregex' if insensitive or fuzzy else 'regex'}": _pattern(value)})
    if fuzzy:
        return Q(**{f"{path}__istartswith": value})
    return Q(**{f"{path}__{'iexact' if insensitive else 'exact'}": value})


def _number_q(path: str, value: str, vr: str) -> Q:
    try:
        return Q(**{path: int(value) if vr == "IS" else float(value)})
    except ValueError as exc:
        raise _bad(gettext("%(value)s is not a number."), value=value) from exc


def match_q(attribute: Attribute, value: str, *, level: Level, fuzzy: bool) -> Q:
    """The condition one key puts on rows of `level` (the search's level)."""
    if value == "":
        return Q()  # universal matching
    if attribute.field is None:
        return Q(pk__in=[])  # a value the platform does not keep matches no row
    prefix = PREFIX[level][attribute.level]
    path = prefix + attribute.field
    if attribute.kind == "modalities":
        study = OuterRef(f"{prefix}pk")
        return Q(Exists(Series.objects.filter(study=study, modality__in=_split(value),
                                              instances__quarantine_reason="")))
    if attribute.kind in ("acq_date", "acq_datetime"):
        return _text_range_q(Substr(path, 1), value, gettext("date") if attribute.kind == "acq_date" else gettext("date-time"))
    if attribute.kind == "acq_time":
        return _text_range_q(Substr(path, 9), value, gettext("time"))
    if attribute.vr == "UI":
        return Q(**{f"{path}__in": _split(value)})
    if attribute.vr == "DA":
        return _date_q(path, value)
    if attribute.vr in ("IS", "DS"):
        return _number_q(path, value, attribute.vr)
    if attribute.vr == "CS":
        values = _split(value)
        return Q(**{f"{path}__in": values}) if not any(_WILDCARD.search(v) for v in values) else \
            _text_q(path, value, insensitive=False, fuzzy=fuzzy)
    return _text_q(path, value, insensitive=attribute.kind == "text_ci", fuzzy=fuzzy)


def filtered(qs: QuerySet[Any], query: Query) -> QuerySet[Any]:
    for attribute, values in query.matches:
        either = Q()
        for value in values:
            either |= match_q(attribute, value, level=query.level, fuzzy=query.fuzzy)
        qs = qs.filter(either)
    return qs


def returned_attributes(query: Query) -> list[Attribute]:
    """Required attributes of the returned levels (or all of them), the UIDs down to the search's level, the
    included and the matched ones; in level order, so a deeper RetrieveURL replaces its parent's."""
    wanted: set[Attribute] = set(query.include) | {a for a, _ in query.matches}
    for attribute in ATTRIBUTES:
        if attribute.level in query.returned and (attribute.required or query.include_all):
            wanted.add(attribute)
        if attribute.level in query.searchable and attribute.keyword == UIDS[attribute.level]:
            wanted.add(attribute)
    return [a for a in ATTRIBUTES if a in wanted]


def _counts(study_ids: set[int]) -> tuple[dict[int, dict[str, Any]], dict[int, int]]:
    """Per study: published series, instances and modalities; per series: published instances (one query)."""
    studies: dict[int, dict[str, Any]] = defaultdict(lambda: {"series": 0, "instances": 0, "modalities": set()})
    per_series: dict[int, int] = {}
    rows = (Instance.objects.filter(series__study_id__in=study_ids, quarantine_reason="")
            .values_list("series__study_id", "series_id", "series__modality").annotate(n=Count("id")).order_by())
    for study_id, series_id, modality, n in rows:
        counts = studies[study_id]
        counts["series"] += 1
        counts["instances"] += n
        counts["modalities"].add(modality)
        per_series[series_id] = n
    return studies, per_series


def _element(attribute: Attribute, row: Row) -> dict[str, Any]:
    value = attribute.value(row) if attribute.value is not None else None
    if isinstance(value, set):
        return dj.attr(attribute.vr, *sorted(value))
    if attribute.vr == "PN":
        return {"vr": "PN", "Value": [{"Alphabetic": value}]} if value else {"vr": "PN"}
    return dj.attr(attribute.vr, value)


@dataclass
class Result:
    body: list[dict[str, Any]]
    warnings: list[str]


def search(qs: QuerySet[Any], query: Query, *, base: str) -> Result:
    """Run a parsed query on a scoped queryset of its level and answer in DICOM JSON."""
    order = {"study": ("-study_date", "pk"), "series": ("-study__study_date", "study_id", "series_number", "pk"),
             "instance": ("-series__study__study_date", "series__study_id", "series__series_number", "series_id",
                          "instance_number", "pk")}[query.level]
    related = {"study": ("patient",), "series": ("study__patient",), "instance": ("series__study__patient",)}[query.level]
    page = list(filtered(qs, query).select_related(*related).order_by(*order)[query.offset:query.offset + query.limit + 1])
    warnings = list(query.warnings)
    if len(page) > query.limit:
        page = page[:query.limit]
        warnings.append("There are additional results that can be requested")
    attributes = returned_attributes(query)
    rows = [_row(obj, query.level, base) for obj in page]
    if any(a.keyword in COUNTED for a in attributes) and rows:
        studies, per_series = _counts({r.study.pk for r in rows})
        rows = [Row(r.study, r.series, r.instance, {**studies[r.study.pk],
                                                    "series_instances": per_series.get(r.series.pk, 0) if r.series else None},
                    base) for r in rows]
    return Result([{a.tag: _element(a, row) for a in attributes} for row in rows], warnings)


def _row(obj: Any, level: Level, base: str) -> Row:
    if level == "study":
        return Row(obj, base=base)
    if level == "series":
        return Row(obj.study, obj, base=base)
    return Row(obj.series.study, obj.series, obj, base=base)
