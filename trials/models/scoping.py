"""Access rules shared by the trial models: a row of a trial is reached through the trial's sites and roles."""
from collections.abc import Mapping
from typing import ClassVar

from django.db.models import Q

from registry.access import ALL, ALL_TRIAL_ROLES, CURATED_HOSPITAL_ROLES, Action, Scope, ScopedModel, TrialRole

READ_ALL_TRIAL_ROLES: Mapping[Action, frozenset[str]] = {Action.VIEW: ALL_TRIAL_ROLES}
# Screening and deviations concern the conduct of the trial: sponsors and monitors follow them, central readers
# (who only score images) do not need them.
READ_OVERSIGHT_TRIAL_ROLES: Mapping[Action, frozenset[str]] = {
    Action.VIEW: frozenset({TrialRole.SPONSOR, TrialRole.MONITOR}),
}


def trial_q(scope: Scope, action: Action, *, trial_field: str) -> Q | None:
    """Rows of trials the scope reaches: a hospital role at one of the trial's sites, or a role in the trial.

    Set-up rows follow the trial itself, so a coordinator sees the protocol of every trial their hospital takes
    part in; clinical rows (subjects, dosing) use their own hospital path instead.
    """
    from trials.models import TrialSite

    parts: list[Q] = []
    hospitals = scope.hospitals_with(CURATED_HOSPITAL_ROLES.get(action, frozenset()))
    if hospitals is ALL:
        return Q()
    if hospitals:
        site_trials = TrialSite.objects.filter(hospital__in=hospitals).values("trial_id")
        parts.append(Q(**{f"{trial_field}__in": site_trials}))
    if action == Action.VIEW and scope.trial_roles:
        parts.append(Q(**{f"{trial_field}__in": list(scope.trial_roles)}))
    if not parts:
        return None
    combined = parts[0]
    for part in parts[1:]:
        combined |= part
    return combined


class TrialSetupModel(ScopedModel):
    """A row of a trial's set-up; `scope_trial_field` is the lookup to the trial id."""

    scope_hospital_path = None
    scope_trial_field: ClassVar[str] = "trial_id"

    class Meta:
        abstract = True

    @classmethod
    def scope_q(cls, scope: Scope, action: Action) -> Q | None:
        return trial_q(scope, action, trial_field=cls.scope_trial_field)
