"""Editing the registry's follow-up plan (data managers of every hospital)."""
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from registry.access import Action
from registry.audit import snapshot
from registry.errors import ApplicationError
from registry.models import FollowUpPlan, User
from registry.services.common import apply_changes, audited_save, require_reason


def _check_rules(rules: Any) -> None:
    problem = None
    if not isinstance(rules, list) or not rules:
        problem = _("Give at least one rule.")
    else:
        last = 0
        for i, rule in enumerate(rules):
            every, until = (rule.get("every_months"), rule.get("until_month")) if isinstance(rule, dict) else (None, None)
            if not isinstance(every, int) or every < 1:
                problem = _("Rule %(number)s: every_months must be a whole number of months >= 1.") % {"number": i + 1}
            elif until is None and i != len(rules) - 1:
                problem = _("Rule %(number)s: only the last rule may be open-ended (until_month null).") % {"number": i + 1}
            elif until is not None and (not isinstance(until, int) or until <= last):
                problem = _("Rule %(number)s: until_month must increase from rule to rule.") % {"number": i + 1}
            if problem:
                break
            last = until or last
    if problem:
        raise ApplicationError(problem, code="invalid", fields={"rules": [problem]})


@transaction.atomic
def followup_plan_update(*, actor: User, plan: FollowUpPlan, data: dict[str, Any], reason: str) -> FollowUpPlan:
    """Change the rhythm or window. Applies to schedules generated from now on; existing visits keep their dates."""
    reason = require_reason(reason)
    plan = FollowUpPlan.objects.select_for_update().get(pk=plan.pk)
    if "rules" in data:
        _check_rules(data["rules"])
    before = snapshot(plan)
    if apply_changes(plan, data, allowed=frozenset({"rules", "window_days", "horizon_years"})):
        audited_save(plan, actor=actor, action="update", before=before, reason=reason, scope_action=Action.CHANGE)
    return plan
