from collections.abc import Mapping
from typing import Any

from django.apps import AppConfig


def trial_roles_of(user: Any) -> Mapping[int, frozenset[str]]:
    """The user's roles per trial, in one query (scope_for calls this once per user object)."""
    from trials.models import TrialMembership

    roles: dict[int, set[str]] = {}
    for trial_id, role in TrialMembership.objects.filter(user=user).values_list("trial_id", "role"):
        roles.setdefault(trial_id, set()).add(role)
    return {t: frozenset(r) for t, r in roles.items()}


class TrialsConfig(AppConfig):
    name = "trials"
    verbose_name = "Trials"

    def ready(self) -> None:
        from registry.access import register_trial_role_source

        register_trial_role_source(trial_roles_of)
        from trials.web import panels  # noqa: F401  (registers the patient page's trial-participation panel)
