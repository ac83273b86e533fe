"""Fields and records of a data query as the user reads them: verbose names in the active language, never column
names (`meddra_code`) or model names (`adverseevent`)."""
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Model
from django.utils.text import capfirst
from django.utils.translation import gettext as _


def _field(model: type[Model], name: str) -> Any:
    """The model field called `name`: on the model, or (a name the model lists in `queryable_field_names()`, e.g. an
    adverse event offering the fields of its reports) on a model that points at it."""
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        pass
    for relation in model._meta.related_objects:
        try:
            return relation.related_model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
    return None


def field_label(model: type[Model] | None, name: str) -> str:
    """A queried field as the user reads it: its verbose name in the active language ("Onset date", not onset_date)."""
    field = _field(model, name) if model is not None else None
    verbose = str(getattr(field, "verbose_name", None) or name.replace("_", " "))
    # A field left with Django's default verbose name ("visit", "grade": its name, not marked for translation) is
    # looked up in the catalogues as it is and capitalised, as the pages' labels of the same word are ("Visit").
    for candidate in (verbose, capfirst(verbose)):
        translated = _(candidate)
        if translated != candidate:
            return capfirst(translated)
    if model is not None and field is not None and verbose == name.replace("_", " "):
        # Not in the catalogues either (an adverse event's copy of its report's `is_serious`): the verbose name of the
        # same field on a model pointing at this one (the report's "Serious"), when it has one of its own.
        for relation in model._meta.related_objects:
            try:
                other = str(relation.related_model._meta.get_field(name).verbose_name)
            except FieldDoesNotExist:
                continue
            if other != verbose:
                return capfirst(other)
    return capfirst(verbose)


def field_choices(model: type[Model], names: Iterable[str]) -> list[tuple[str, str]]:
    """The field chooser of a query form: (name, label), in the order of the labels as the user reads them."""
    return sorted(((name, field_label(model, name)) for name in names), key=lambda choice: choice[1].lower())


def record_kind(model: type[Model] | None) -> str:
    return str(model._meta.verbose_name) if model is not None else ""
