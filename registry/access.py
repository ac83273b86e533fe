"""The one access-control rule of the platform.

A user reaches clinical data only through memberships: a role at a hospital (or at every hospital, for
a data manager given them all) and, from the trials app, a role in a trial. Every clinical model says
where its hospital and trial are and which roles may do what; `RestrictedQuerySet.restrict()` turns
that into a filter. Selectors and the base API viewset call it; nothing else filters by hand. A user
without a membership gets an empty queryset (deny by default), and so does an inactive or anonymous one.
"""
from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import reduce
from typing import TYPE_CHECKING, Any, ClassVar, Self

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from registry.errors import ApplicationError

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    UserLike = AbstractBaseUser | AnonymousUser


class Action(StrEnum):
    VIEW = "view"
    ADD = "add"
    CHANGE = "change"
    DELETE = "delete"


class HospitalRole(models.TextChoices):
    COORDINATOR = "coordinator", _("Research coordinator")
    INVESTIGATOR = "investigator", _("Investigator")
    MONITOR = "monitor", _("Monitor")
    DATA_MANAGER = "data_manager", _("Data manager")


class TrialRole(models.TextChoices):
    """Roles held in one trial; the trials app stores them in its TrialMembership model."""

    SPONSOR = "sponsor", _("Sponsor")
    CENTRAL_READER = "central_reader", _("Central reader")
    MONITOR = "monitor", _("Trial monitor")


ALL_HOSPITAL_ROLES = frozenset(HospitalRole.values)
# Clinical data is entered by coordinators and completed by investigators; data managers correct it.
# Nothing clinical is ever deleted, so DELETE is granted to nobody by default.
DEFAULT_HOSPITAL_ROLES: Mapping[Action, frozenset[str]] = {
    Action.VIEW: ALL_HOSPITAL_ROLES,
    Action.ADD: frozenset({HospitalRole.COORDINATOR, HospitalRole.INVESTIGATOR, HospitalRole.DATA_MANAGER}),
    Action.CHANGE: frozenset({HospitalRole.COORDINATOR, HospitalRole.INVESTIGATOR, HospitalRole.DATA_MANAGER}),
    Action.DELETE: frozenset(),
}


class _All:
    """Marker: the user holds the role at every hospital."""

    def __repr__(self) -> str:
        return "ALL"


ALL = _All()
HospitalIds = frozenset[int] | _All

# The trials app registers a function user -> {trial_id: roles}; registry cannot import trials.
TrialRoleSource = Callable[[Any], Mapping[int, frozenset[str]]]
_trial_role_sources: list[TrialRoleSource] = []


def register_trial_role_source(source: TrialRoleSource) -> None:
    if source not in _trial_role_sources:
        _trial_role_sources.append(source)


@dataclass(frozen=True)
class Scope:
    """Everything one user may reach, computed once per user object."""

    user_id: int | None = None
    hospital_roles: Mapping[int, frozenset[str]] = field(default_factory=dict)
    everywhere_roles: frozenset[str] = frozenset()
    trial_roles: Mapping[int, frozenset[str]] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return not (self.hospital_roles or self.everywhere_roles or self.trial_roles)

    def hospitals_with(self, roles: frozenset[str]) -> HospitalIds:
        if self.everywhere_roles & roles:
            return ALL
        return frozenset(h for h, held in self.hospital_roles.items() if held & roles)

    def trials_with(self, roles: frozenset[str]) -> frozenset[int]:
        return frozenset(t for t, held in self.trial_roles.items() if held & roles)

    def has_role(self, role: str) -> bool:
        return role in self.everywhere_roles or any(role in held for held in self.hospital_roles.values())


EMPTY_SCOPE = Scope()


def scope_for(user: UserLike | None) -> Scope:
    if user is None or not user.is_authenticated or not user.is_active:
        return EMPTY_SCOPE
    cached: Scope | None = getattr(user, "_nbnm_scope", None)
    if cached is not None:
        return cached
    from registry.models import HospitalMembership

    hospital_roles: dict[int, set[str]] = {}
    everywhere: set[str] = set()
    for hospital_id, role in HospitalMembership.objects.filter(user=user).values_list("hospital_id", "role"):
        if hospital_id is None:
            everywhere.add(role)
        else:
            hospital_roles.setdefault(hospital_id, set()).add(role)
    trial_roles: dict[int, set[str]] = {}
    for source in _trial_role_sources:
        for trial_id, roles in source(user).items():
            trial_roles.setdefault(trial_id, set()).update(roles)
    scope = Scope(
        user_id=user.pk,
        hospital_roles={h: frozenset(r) for h, r in hospital_roles.items()},
        everywhere_roles=frozenset(everywhere),
        trial_roles={t: frozenset(r) for t, r in trial_roles.items()},
    )
    user._nbnm_scope = scope  # type: ignore[union-attr]
    return scope


def forget_scope(user: Any) -> None:
    """Drop the cached scope after memberships change."""
    if hasattr(user, "_nbnm_scope"):
        del user._nbnm_scope


class RestrictedQuerySet(models.QuerySet):
    def restrict(self, user: UserLike | None, action: Action = Action.VIEW) -> Self:
        scope = scope_for(user)
        if scope.is_empty:
            return self.none()
        q = self.model.scope_q(scope, action)
        return self.none() if q is None else self.filter(q)


class ScopedModel(models.Model):
    """A model whose rows belong to a hospital and/or a trial.

    scope_hospital_path: lookup from this model to a hospital id ("hospital", "patient__hospital", "pk").
    scope_trial_path:    lookup to a trial id, or None. Trial paths may cross to-many relations; they are
                         applied through a pk subquery so no row is duplicated.
    scope_hospital_roles / scope_trial_roles: which roles grant which action on this model.
    """

    scope_hospital_path: ClassVar[str | None] = "hospital"
    scope_trial_path: ClassVar[str | None] = None
    scope_hospital_roles: ClassVar[Mapping[Action, frozenset[str]]] = DEFAULT_HOSPITAL_ROLES
    scope_trial_roles: ClassVar[Mapping[Action, frozenset[str]]] = {}

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        abstract = True

    @classmethod
    def scope_q(cls, scope: Scope, action: Action) -> Q | None:
        """The filter for rows this scope may act on, or None when it may act on none."""
        parts: list[Q] = []
        if cls.scope_hospital_path is not None:
            hospitals = scope.hospitals_with(cls.scope_hospital_roles.get(action, frozenset()))
            if hospitals is ALL:
                return Q()
            if hospitals:
                parts.append(Q(**{f"{cls.scope_hospital_path}__in": hospitals}))
        if cls.scope_trial_path is not None:
            trials = scope.trials_with(cls.scope_trial_roles.get(action, frozenset()))
            if trials:
                inner = cls._default_manager.filter(**{f"{cls.scope_trial_path}__in": trials}).values("pk")
                parts.append(Q(pk__in=inner))
        return reduce(operator.or_, parts) if parts else None


def ensure_in_scope(instance: models.Model, *, user: UserLike, action: Action = Action.CHANGE) -> None:
    """Re-check, inside the writing transaction, that the row is still the writer's to act on.

    Called by every service after it saves; raising rolls the whole write back, so nobody can move a
    record to a hospital they cannot see.
    """
    manager = type(instance)._default_manager
    if not manager.restrict(user, action).filter(pk=instance.pk).exists():
        raise ApplicationError(
            "This change would put the record outside the hospitals and trials you work in.",
            code="out_of_scope",
        )
