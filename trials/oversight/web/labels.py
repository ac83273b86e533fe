"""What a data query is about, in words ("AE 2 of NB-T1-01-003", "Visit W4 of NB-T1-01-003"), for the query pages.

A query may be on any clinical record (it holds a content type and an id), and the apps that own those records sit
beside or above oversight, so each registers how its records are labelled: `fn(ids) -> {id: label}`, one database
query per record type, and which page shows a record: `fn(user, ids) -> {id: url}`, over the records the user may
see (a record out of the user's scope gets no link). The trials records are registered here (oversight may import
its parent); safety registers its adverse events from its AppConfig.ready(), since oversight must not import its
sibling.

Fields are named by their verbose names in the user's language (trials/oversight/fields.py), never by column names.
"""
from collections.abc import Callable, Iterable
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Model
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from registry.access import Action
from trials.models import DosingRecord, Subject, SubjectVisit
from trials.oversight.models import DataQuery

LabelSource = Callable[[Iterable[int]], dict[int, str]]
LinkSource = Callable[[Any, Iterable[int]], dict[int, str]]
_sources: dict[type[Model], LabelSource] = {}
_links: dict[type[Model], LinkSource] = {}


def register_record_label(model: type[Model]) -> Callable[[LabelSource], LabelSource]:
    def register(fn: LabelSource) -> LabelSource:
        _sources[model] = fn  # by model, so a module imported twice registers once
        return fn

    return register


def register_record_link(model: type[Model]) -> Callable[[LinkSource], LinkSource]:
    def register(fn: LinkSource) -> LinkSource:
        _links[model] = fn
        return fn

    return register


def record_links(user: Any, queries: list[DataQuery]) -> dict[int, str]:
    """Query id -> the page of the record it is about, for the records this user may see (one query per record type)."""
    types = ContentType.objects.get_for_models(*_links)
    found: dict[tuple[int, int], str] = {}
    for model, content_type in types.items():
        ids = {q.object_id for q in queries if q.content_type_id == content_type.pk}
        if ids:
            found.update(((content_type.pk, pk), url) for pk, url in _links[model](user, ids).items())
    return {q.pk: found[(q.content_type_id, q.object_id)] for q in queries if (q.content_type_id, q.object_id) in found}


def record_labels(queries: list[DataQuery]) -> dict[int, str]:
    """Query id -> what it is about; "<model> <id>" for a record type nobody labels."""
    types = ContentType.objects.get_for_models(*_sources)
    found: dict[tuple[int, int], str] = {}
    for model, content_type in types.items():
        ids = {q.object_id for q in queries if q.content_type_id == content_type.pk}
        if ids:
            found.update(((content_type.pk, pk), label) for pk, label in _sources[model](ids).items())
    return {q.pk: found.get((q.content_type_id, q.object_id)) or f"{q.content_type.model} {q.object_id}" for q in queries}


def visit_label(visit: SubjectVisit) -> str:
    return _("Visit %(code)s of %(subject)s") % {"code": visit.definition.code, "subject": visit.subject.subject_number}


def dose_label(dose: DosingRecord) -> str:
    return _("Dose of %(date)s, %(subject)s") % {"date": date_format(timezone.localtime(dose.administered_at), "SHORT_DATETIME_FORMAT"),
                                                 "subject": dose.subject.subject_number}


@register_record_label(Subject)
def _subjects(ids: Iterable[int]) -> dict[int, str]:
    return dict(Subject.objects.filter(pk__in=ids).values_list("pk", "subject_number"))


@register_record_label(SubjectVisit)
def _visits(ids: Iterable[int]) -> dict[int, str]:
    return {visit.pk: visit_label(visit) for visit in SubjectVisit.objects.filter(pk__in=ids).select_related("subject", "definition")}


@register_record_label(DosingRecord)
def _doses(ids: Iterable[int]) -> dict[int, str]:
    return {dose.pk: dose_label(dose) for dose in DosingRecord.objects.filter(pk__in=ids).select_related("subject")}


def _visible(model: type[Model], user: Any, ids: Iterable[int]) -> Any:
    return model._default_manager.restrict(user, Action.VIEW).filter(pk__in=ids)


@register_record_link(Subject)
def _subject_links(user: Any, ids: Iterable[int]) -> dict[int, str]:
    return {pk: reverse("web-subject-detail", args=[pk]) for pk in _visible(Subject, user, ids).values_list("pk", flat=True)}


@register_record_link(SubjectVisit)
def _visit_links(user: Any, ids: Iterable[int]) -> dict[int, str]:
    return {pk: reverse("web-subject-detail", args=[subject]) + "#h-visits"
            for pk, subject in _visible(SubjectVisit, user, ids).values_list("pk", "subject_id")}


@register_record_link(DosingRecord)
def _dose_links(user: Any, ids: Iterable[int]) -> dict[int, str]:
    return {pk: reverse("web-subject-detail", args=[subject]) + "#h-doses"
            for pk, subject in _visible(DosingRecord, user, ids).values_list("pk", "subject_id")}
