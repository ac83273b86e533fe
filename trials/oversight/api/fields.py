"""A choice field documented as one named enum component, whatever the field is called.

drf-spectacular names enums after the field ("status", "kind", "outcome"): the platform has many different
"status" choice sets, and one choice set (e.g. relatedness) appears under several field names, which makes it
warn and invent names. These fields name their enum after their choice class instead.
"""
from typing import Any

from django.db.models import TextChoices
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers


class NamedChoiceField(serializers.ChoiceField):
    def __init__(self, choices_class: type[TextChoices], *, enum_name: str, **kwargs: Any) -> None:
        self.enum_name = enum_name + ("OrBlank" if kwargs.get("allow_blank") else "") + "Enum"
        super().__init__(choices=choices_class.choices, **kwargs)


class NamedChoiceFieldExtension(OpenApiSerializerFieldExtension):
    target_class = NamedChoiceField

    def get_name(self) -> str:
        return self.target.enum_name

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        values = list(self.target.choices)
        if self.target.allow_blank:
            values.append("")
        return {"type": "string", "enum": values,
                "description": "\n".join(f"* `{value}` - {label}" for value, label in self.target.choices.items())}
