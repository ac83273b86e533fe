"""The API's query filters (django-filter): DRF's backend with the project's FilterSet.

A filter on a related row (`?trial=3`, `?site=5`) names the row by id. An id past 64 bits names no row, but the
database driver refuses it with an error (SQLite: "Python int too large to convert to SQLite INTEGER"; PostgreSQL: out
of range for bigint), which was a 500 (found by schemathesis). Here it is refused as any unknown row is: 400 naming
the parameter. Every filterset, generated from `filterset_fields` or declared, derives from FilterSet below, and a
declared filter on a row's id through a path is a RowIdFilter.
"""
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django_filters import fields
from django_filters import rest_framework as filters

from registry.api.serializers import ROW_ID_MAX


class RowChoiceField(fields.ModelChoiceField):
    def to_python(self, value: Any) -> Any:
        text = str(value).strip()
        if value not in self.empty_values and text.lstrip("-").isdigit() and not 0 < int(text) <= ROW_ID_MAX:
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class RowChoiceFilter(filters.ModelChoiceFilter):
    field_class = RowChoiceField


def _row_filter(default: dict[str, Any]) -> dict[str, Any]:
    return {**default, "filter_class": RowChoiceFilter}


class RowIdFilter(filters.NumberFilter):
    """A related row by id through a path (`?trial=` on `subject__trial`): 1 to ROW_ID_MAX, anything else 400."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, min_value=1, max_value=ROW_ID_MAX, **kwargs)


class FilterSet(filters.FilterSet):
    FILTER_DEFAULTS = {
        **filters.FilterSet.FILTER_DEFAULTS,
        models.ForeignKey: _row_filter(filters.FilterSet.FILTER_DEFAULTS[models.ForeignKey]),
        models.OneToOneField: _row_filter(filters.FilterSet.FILTER_DEFAULTS[models.OneToOneField]),
    }


class FilterBackend(filters.DjangoFilterBackend):
    filterset_base = FilterSet
