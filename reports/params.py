"""Parameter checks shared by the report kinds."""
from datetime import date
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from registry.errors import ApplicationError


def parse_date(params: dict[str, Any], name: str, *, default: date | None = None) -> date | None:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise ApplicationError(_("%(name)s must be a date (YYYY-MM-DD).") % {"name": name}, code="invalid_parameter",
                               fields={name: [_("Enter a date as YYYY-MM-DD.")]}) from None


def as_of_date(params: dict[str, Any]) -> date:
    """The report's reference date: today by default, never in the future (data of the future does not exist)."""
    today = timezone.localdate()
    as_of = parse_date(params, "as_of", default=today)
    assert as_of is not None
    if as_of > today:
        raise ApplicationError(_("as_of cannot be in the future."), code="invalid_parameter", fields={"as_of": [_("In the future.")]})
    return as_of


def refuse_unknown(params: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ApplicationError(_("Unknown parameter(s): %(names)s.") % {"names": ", ".join(unknown)}, code="invalid_parameter",
                               fields={k: [_("Unknown parameter.")] for k in unknown})
