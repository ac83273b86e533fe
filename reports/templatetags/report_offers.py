"""`{% offered_report_kinds user as kinds %}`: the report kinds whose form this user is offered (reports.kinds)."""
from typing import Any

from django import template

from reports.kinds import ReportKind, offered_kinds

register = template.Library()


@register.simple_tag
def offered_report_kinds(user: Any) -> list[ReportKind]:
    return offered_kinds(user)
