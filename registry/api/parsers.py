"""The API's JSON parser: a body with a NUL character anywhere is refused as bad input (400 naming where).

PostgreSQL cannot store NUL in text or jsonb; a string field's serializer refuses it (DRF's CharField), but a JSON
value (score-sheet values, report parameters, follow-up rules) reaches the database without such a check. Refusing
it when the body is parsed guards every endpoint at once, present and future.
"""
from typing import Any

from django.utils.translation import gettext as _
from rest_framework import exceptions, parsers


def nul_path(value: Any, path: str = "") -> str | None:
    """The dotted path of the first key or string holding a NUL character, or None."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return where
            found = nul_path(item, where)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = nul_path(item, f"{path}.{index}" if path else str(index))
            if found is not None:
                return found
    return None


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict[str, Any] | None = None) -> Any:
        data = super().parse(stream, media_type, parser_context)
        where = nul_path(data)
        if where is not None:
            raise exceptions.ValidationError({where or "non_field_errors": [_("Null characters are not allowed.")]})
        return data


def _refuse_nul_fields(data: Any) -> None:
    """A form body (QueryDict) with NUL in a field name or value: 400 naming the field."""
    for key in data.keys():
        if "\x00" in key or any("\x00" in value for value in data.getlist(key) if isinstance(value, str)):
            raise exceptions.ValidationError({key.replace("\x00", "") or "non_field_errors": [_("Null characters are not allowed.")]})


class FormParser(parsers.FormParser):
    """Form-encoded bodies get the same guard as JSON ones (a related-field lookup would carry NUL to PostgreSQL)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict[str, Any] | None = None) -> Any:
        data = super().parse(stream, media_type, parser_context)
        _refuse_nul_fields(data)
        return data


class MultiPartParser(parsers.MultiPartParser):
    """Multipart bodies: the form fields get the same guard (file contents are not text and are not checked)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict[str, Any] | None = None) -> Any:
        parsed = super().parse(stream, media_type, parser_context)
        _refuse_nul_fields(parsed.data)
        return parsed
