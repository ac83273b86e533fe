"""Parameters shared by the site-scoped kinds of the low-dose programme (lowdose_validation, dose_saving): the hospitals
the requester may report on (registry.access Rule.REPORT_SITE, the one rule of the cohort and diagnostic reports), the
hospitals a request names, and a study-date range."""
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from registry.access import Rule
from registry.errors import ApplicationError
from registry.models import Hospital, User
from reports.params import parse_date


def reportable_hospitals(user: User) -> set[str]:
    """The codes of the hospitals the user may report on: data managers over theirs (or all), site investigators and
    coordinators over their own. Nobody else (monitors, sponsors, trial roles): refused."""
    allowed = set(Hospital.objects.restrict(user, Rule.REPORT_SITE).values_list("code", flat=True))
    if not allowed:
        raise PermissionDenied(_("Low-dose reports are for data managers, investigators and coordinators."))
    return allowed


def requested_hospitals(params: dict[str, Any], allowed: set[str]) -> list[str]:
    """The hospitals named (default: every one the user may report on); naming another is a bad parameter (400)."""
    requested = params.get("hospitals") or sorted(allowed)
    if not isinstance(requested, list) or not all(isinstance(c, str) for c in requested):
        raise ApplicationError(_("hospitals must be a list of hospital codes."), code="invalid_parameter",
                               fields={"hospitals": [_("A list of hospital codes.")]})
    outside = sorted(set(requested) - allowed)
    if outside:
        raise ApplicationError(_("The report names hospitals you cannot report on."), code="invalid_parameter",
                               fields={"hospitals": [_("Not a hospital you may report on: %(code)s.") % {"code": c} for c in outside]})
    return sorted(set(requested))


def study_range(params: dict[str, Any]) -> tuple[date | None, date | None]:
    """`study_from` and `study_to` (imaging study dates, inclusive), either may be missing, never crossed."""
    start, end = parse_date(params, "study_from"), parse_date(params, "study_to")
    if start and end and start > end:
        raise ApplicationError(_("study_from is after study_to."), code="invalid_parameter", fields={"study_from": [_("After study_to.")]})
    return start, end


def permit_hospitals(user: User, params: dict[str, Any]) -> None:
    """At request and at execution: every hospital of the run is still one the requester may report on."""
    if set(params["hospitals"]) - reportable_hospitals(user):
        raise PermissionDenied(_("The report names hospitals you cannot report on."))
