"""The one access-control module of the platform: every decision about a user and a record is made here.

A user reaches clinical data only through memberships: a role at a hospital (or at every hospital, for a
data manager given them all) and, from the trials app, a role in a trial. Three questions are asked, and
only through this module:

- `Model.objects.restrict(user, action)`: the rows of a queryset the user may act on (VIEW/ADD/CHANGE/DELETE,
  from each model's role maps and `scope_q`), or the rows on which they hold a named rule (below).
- `may(user, action_or_rule, obj)`: the same question for one record (at most one query, none when the
  answer follows from the roles alone), or for a model class ("may they add this kind of row anywhere?"),
  or, for a rule without an object, "do they hold it anywhere?". The `{% may %}` template tag asks it too.
- `reach(user, action_or_rule, model)`: the hospitals and trials where the user holds it, for worklists,
  reports and form choices that filter on a path of their own.

A user without a membership gets nothing (deny by default), and so does an inactive or anonymous one.
Superusers get no clinical data from being superusers.

The reach of each role, defined once
------------------------------------
- Coordinator, investigator, monitor: the hospitals named in their memberships, nothing else.
- Data manager at a hospital: that hospital's data and staff, as the models' role maps say.
- Data manager at every hospital (a membership without a hospital; "central data manager"): every hospital, so every
  record a rule of theirs reaches, rows reached through a trial alone included (every trial runs at hospitals inside
  "every"), except identity-like ones (patient identities, signed consent pages), which need a role named at the
  patient's own hospital. Alone among the roles they hold the programme-wide privileges: publish consent documents,
  set up trials, edit follow-up plans, verify the audit trail, run trial reports across every site. A data manager of
  one hospital does not hold them: a programme-wide change made by someone who sees one site is the unsafe reading.
- Sponsor, trial monitor, central reader: the trials named in their trial memberships.
- The built-in system actor (`User.is_system_actor`, never a role) and Django superusers hold only the
  platform set-up rules (create hospitals, grant the first memberships); the system actor also publishes
  the seeded consent documents.
"""
from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import reduce
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar

from django.db import models
from django.db.models import Prefetch, Q
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
ALL_TRIAL_ROLES = frozenset(TrialRole.values)
# Only a data manager may hold a role at every hospital (a database constraint says so too).
ROLES_HELD_EVERYWHERE = frozenset({HospitalRole.DATA_MANAGER})
# Clinical data is entered by coordinators and completed by investigators; data managers correct it.
# Nothing clinical is ever deleted, so DELETE is granted to nobody by default.
DEFAULT_HOSPITAL_ROLES: Mapping[Action, frozenset[str]] = {
    Action.VIEW: ALL_HOSPITAL_ROLES,
    Action.ADD: frozenset({HospitalRole.COORDINATOR, HospitalRole.INVESTIGATOR, HospitalRole.DATA_MANAGER}),
    Action.CHANGE: frozenset({HospitalRole.COORDINATOR, HospitalRole.INVESTIGATOR, HospitalRole.DATA_MANAGER}),
    Action.DELETE: frozenset(),
}
# Curated rows that hang off a patient's record but are not clinical entries (trial set-up, evaluation pairs,
# enhancement runs): every member of the hospital reads them, only its data managers write them.
CURATED_HOSPITAL_ROLES: Mapping[Action, frozenset[str]] = {
    Action.VIEW: ALL_HOSPITAL_ROLES,
    Action.ADD: frozenset({HospitalRole.DATA_MANAGER}),
    Action.CHANGE: frozenset({HospitalRole.DATA_MANAGER}),
    Action.DELETE: frozenset(),
}


class _All:
    """Marker: the user holds the role at every hospital."""

    def __repr__(self) -> str:
        return "ALL"


ALL = _All()
HospitalIds = frozenset[int] | _All
QS = TypeVar("QS", bound=models.QuerySet[Any])

# The trials app registers a function user -> {trial_id: roles}; registry cannot import trials.
TrialRoleSource = Callable[[Any], Mapping[int, frozenset[str]]]
_trial_role_sources: list[TrialRoleSource] = []


def register_trial_role_source(source: TrialRoleSource) -> None:
    if source not in _trial_role_sources:
        _trial_role_sources.append(source)


@dataclass(frozen=True)
class Scope:
    """Everything one user may reach, computed once per user object. Read it only inside this module and scope_q."""

    user_id: int | None = None
    hospital_roles: Mapping[int, frozenset[str]] = field(default_factory=dict)
    everywhere_roles: frozenset[str] = frozenset()
    trial_roles: Mapping[int, frozenset[str]] = field(default_factory=dict)
    is_system_actor: bool = False
    is_superuser: bool = False

    @property
    def is_empty(self) -> bool:
        return not (self.hospital_roles or self.everywhere_roles or self.trial_roles)

    @property
    def is_central_data_manager(self) -> bool:
        """A data manager at every hospital: the only holder of the programme-wide privileges."""
        return HospitalRole.DATA_MANAGER in self.everywhere_roles

    def hospitals_with(self, roles: frozenset[str]) -> HospitalIds:
        if self.everywhere_roles & roles:
            return ALL
        return frozenset(h for h, held in self.hospital_roles.items() if held & roles)

    def own_hospitals_with(self, roles: frozenset[str]) -> frozenset[int]:
        """Hospitals named in the user's memberships with one of `roles` (a role held everywhere does not count)."""
        return frozenset(h for h, held in self.hospital_roles.items() if held & roles)

    def trials_with(self, roles: frozenset[str]) -> frozenset[int]:
        return frozenset(t for t, held in self.trial_roles.items() if held & roles)

    def has_role(self, role: str) -> bool:
        return role in self.everywhere_roles or any(role in held for held in self.hospital_roles.values())


EMPTY_SCOPE = Scope()


def scope_for(user: UserLike | None) -> Scope:
    if user is None or not user.is_authenticated:
        return EMPTY_SCOPE
    if getattr(user, "is_system_actor", False):
        # The system actor signs nobody in (it is inactive) but still acts for seeds, sweeps and commands.
        return Scope(user_id=user.pk, is_system_actor=True)
    if not user.is_active:
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
        is_superuser=bool(getattr(user, "is_superuser", False)),
    )
    user._nbnm_scope = scope  # type: ignore[union-attr]
    return scope


def role_summary(user: UserLike | None, hospital_codes: Mapping[int, str]) -> list[str]:
    """What a user holds, in words for command output: "data_manager at all hospitals", "coordinator at AAA", "sponsor in 2 trials"."""
    scope = scope_for(user)
    held = [f"{role} at all hospitals" for role in sorted(scope.everywhere_roles)]
    held += sorted(f"{role} at {hospital_codes[h]}" for h, roles in scope.hospital_roles.items() for role in roles)
    per_role = Counter(role for roles in scope.trial_roles.values() for role in roles)
    return held + [f"{role} in {n} trial{'s' if n > 1 else ''}" for role, n in sorted(per_role.items())]


def forget_scope(user: Any) -> None:
    """Drop the cached scope after memberships change."""
    if hasattr(user, "_nbnm_scope"):
        del user._nbnm_scope


@dataclass(frozen=True)
class Reach:
    """Where a user holds an action or a rule: hospitals (or ALL) and trials."""

    hospitals: HospitalIds = frozenset()
    trials: frozenset[int] = frozenset()

    @property
    def anywhere(self) -> bool:
        return self.hospitals is ALL or bool(self.hospitals) or bool(self.trials)

    def covers(self, *, hospital_id: int | None = None, trial_id: int | None = None) -> bool:
        """Whether a record of this hospital (and trial) is inside the reach."""
        if self.hospitals is ALL:
            return True
        return (hospital_id is not None and hospital_id in self.hospitals) or (trial_id is not None and trial_id in self.trials)

    def filter(self, queryset: QS, *, hospital_path: str | None = None, trial_path: str | None = None) -> QS:
        """`queryset` narrowed to rows whose hospital or trial (by these lookups) is inside the reach."""
        q = self.q(queryset.model, hospital_path=hospital_path, trial_path=trial_path)
        return queryset.none() if q is None else queryset.filter(q)

    def q_for(self, model: type[models.Model]) -> Q | None:
        """The filter for rows of `model` inside the reach, through the model's own paths.

        A reach of every hospital covers every row, as covers() says of one record: also the rows of a model reached
        through a trial alone (a trial, its set-up rows), since every trial runs at hospitals inside it, and of a model
        with no path at all (a programme-wide row: a consent document, a report run).
        """
        if self.hospitals is ALL:
            return Q()
        return self.q(model, hospital_path=_hospital_path(model), trial_path=_trial_path(model))

    def q(self, model: type[models.Model], *, hospital_path: str | None, trial_path: str | None) -> Q | None:
        """The filter for rows of `model` whose hospital or trial (by these lookups) is inside the reach, or None.

        Trial paths may cross to-many relations; they are applied through a pk subquery so no row is duplicated.
        """
        parts: list[Q] = []
        if hospital_path is not None:
            if self.hospitals is ALL:
                return Q()
            if self.hospitals:
                parts.append(Q(**{f"{hospital_path}__in": self.hospitals}))
        if trial_path is not None and self.trials:
            inner = model._default_manager.filter(**{f"{trial_path}__in": self.trials}).values("pk")
            parts.append(Q(pk__in=inner))
        return reduce(operator.or_, parts) if parts else None


def _hospital_path(model: type[models.Model]) -> str | None:
    return getattr(model, "scope_hospital_path", None)


def _trial_path(model: type[models.Model]) -> str | None:
    # Clinical rows name a trial path; a trial's set-up rows (and the trial itself) name a trial field.
    return getattr(model, "scope_trial_path", None) or getattr(model, "scope_trial_field", None)


@dataclass(frozen=True)
class Grant:
    """Who holds a named rule; each field widens it."""

    at_hospital: frozenset[str] = frozenset()  # roles at the record's hospital (a role held everywhere counts everywhere)
    at_own_hospital: frozenset[str] = frozenset()  # roles at the record's hospital, named in a membership (not held everywhere)
    in_trial: frozenset[str] = frozenset()  # roles in the record's trial
    central: frozenset[str] = frozenset()  # roles that grant the rule only when held at every hospital
    system_actor: bool = False  # the built-in system actor (seeds, commands)
    superuser: bool = False  # Django superusers (platform set-up through the admin)

    def reach(self, scope: Scope) -> Reach:
        if (self.system_actor and scope.is_system_actor) or (self.superuser and scope.is_superuser) \
                or scope.everywhere_roles & self.central:
            return Reach(hospitals=ALL)
        hospitals = scope.hospitals_with(self.at_hospital)
        if not isinstance(hospitals, _All):
            hospitals |= scope.own_hospitals_with(self.at_own_hospital)
        return Reach(hospitals=hospitals, trials=scope.trials_with(self.in_trial))


class Rule(StrEnum):
    """The decisions that are not plain view/add/change/delete of a row; their grants are in RULES."""

    HOLD_A_ROLE = "hold_a_role"
    KNOW_PATIENT = "know_patient"
    READ_SIGNED_CONSENT = "read_signed_consent"
    SITE_STAFF = "site_staff"
    SIGN = "sign"
    UNBLIND = "unblind"
    ANSWER_QUERY = "answer_query"
    CLOSE_QUERY = "close_query"
    MONITOR = "monitor"
    ASSESS_AS_SPONSOR = "assess_as_sponsor"
    REVIEW_UPLOADS = "review_uploads"
    READ_IMAGES = "read_images"
    SCORE_IMAGES = "score_images"
    ADJUDICATE = "adjudicate"
    REPORT_SITE = "report_site"
    REPORT_TRIAL = "report_trial"
    READ_REPORTS = "read_reports"
    EXTRACT = "extract"
    PUBLISH_CONSENT_DOCUMENTS = "publish_consent_documents"
    SET_UP_TRIALS = "set_up_trials"
    SET_UP_PLATFORM = "set_up_platform"
    VERIFY_AUDIT = "verify_audit"
    USE_ADMIN = "use_admin"
    RECOMPUTE_DOSE = "recompute_dose"
    READ_RECEIVED_IDENTITY = "read_received_identity"


_COORD, _INV, _MON, _DM = HospitalRole.COORDINATOR, HospitalRole.INVESTIGATOR, HospitalRole.MONITOR, HospitalRole.DATA_MANAGER
_CENTRAL_DM = frozenset({_DM})

RULES: dict[Rule, Grant] = {
    # Any role at all: may sign in and work (e.g. be named a reader of a session).
    Rule.HOLD_A_ROLE: Grant(at_hospital=ALL_HOSPITAL_ROLES, in_trial=ALL_TRIAL_ROLES),
    # Which registry patient a record is (study ID): the hospital's own staff; a trial role never shows it.
    Rule.KNOW_PATIENT: Grant(at_hospital=ALL_HOSPITAL_ROLES),
    # A consent's scanned signature page names and shows the signatures of the child's guardians (identity-like):
    # whoever holds a role at the patient's own hospital, the monitor included (verifying signed consent against the
    # source is a monitor's task); not a data manager who holds their role at every hospital, a trial role or a superuser.
    Rule.READ_SIGNED_CONSENT: Grant(at_own_hospital=ALL_HOSPITAL_ROLES),
    # The site's own clinical staff: they answer the 24-hour SAE clock and open queries.
    Rule.SITE_STAFF: Grant(at_hospital=frozenset({_COORD, _INV})),
    # Signing is the investigator's act at the record's hospital.
    Rule.SIGN: Grant(at_hospital=frozenset({_INV})),
    # Unblinding discloses an allocation: a data manager of the subject's hospital (or of every hospital), never
    # the site's coordinators or investigators, a sponsor or a monitor.
    Rule.UNBLIND: Grant(at_hospital=frozenset({_DM})),
    Rule.ANSWER_QUERY: Grant(at_hospital=frozenset({_COORD, _INV, _DM})),
    Rule.CLOSE_QUERY: Grant(at_hospital=frozenset({_MON, _DM}), in_trial=frozenset({TrialRole.MONITOR})),
    Rule.MONITOR: Grant(at_hospital=frozenset({_MON}), in_trial=frozenset({TrialRole.MONITOR})),
    # Sponsor assessment of expectedness and the SUSAR clocks.
    Rule.ASSESS_AS_SPONSOR: Grant(in_trial=frozenset({TrialRole.SPONSOR})),
    # Uploads held as a possible wrong patient are released by the hospital's coordinators.
    Rule.REVIEW_UPLOADS: Grant(at_hospital=frozenset({_COORD})),
    # Image reads are physicians' work: investigators and data managers at a hospital, central readers of a trial.
    Rule.READ_IMAGES: Grant(at_hospital=frozenset({_INV, _DM}), in_trial=frozenset({TrialRole.CENTRAL_READER})),
    # The scoring worklist: investigators of the study's hospital and central readers.
    Rule.SCORE_IMAGES: Grant(at_hospital=frozenset({_INV}), in_trial=frozenset({TrialRole.CENTRAL_READER})),
    # A data manager of the study's hospital may adjudicate a study they read themselves.
    Rule.ADJUDICATE: Grant(at_hospital=frozenset({_DM})),
    Rule.REPORT_SITE: Grant(at_hospital=frozenset({_COORD, _INV, _DM})),
    Rule.REPORT_TRIAL: Grant(central=_CENTRAL_DM, in_trial=frozenset({TrialRole.SPONSOR})),
    Rule.READ_REPORTS: Grant(at_hospital=frozenset({_INV, _DM}), in_trial=frozenset({TrialRole.SPONSOR})),
    Rule.EXTRACT: Grant(at_hospital=frozenset({_DM})),
    Rule.PUBLISH_CONSENT_DOCUMENTS: Grant(central=_CENTRAL_DM, system_actor=True),
    Rule.SET_UP_TRIALS: Grant(central=_CENTRAL_DM),
    Rule.SET_UP_PLATFORM: Grant(system_actor=True, superuser=True),
    Rule.VERIFY_AUDIT: Grant(central=_CENTRAL_DM),
    # The admin site's querysets are restricted like the API's; a data manager of any hospital may use it.
    Rule.USE_ADMIN: Grant(at_hospital=frozenset({_DM}), superuser=True),
    # Recomputing stored doses with another table version (manage.py dose_recompute): the study's hospital's data manager.
    Rule.RECOMPUTE_DOSE: Grant(at_hospital=frozenset({_DM}), system_actor=True),
    # What a scanner called a child it sent images of (imaging.UnmatchedInstance): identifiers, so only the sending
    # hospital's own coordinators and data managers, who resolve the unmatched queue; not a data manager of every hospital.
    Rule.READ_RECEIVED_IDENTITY: Grant(at_own_hospital=frozenset({_COORD, _DM})),
}


def _is_action(action: Action | Rule | str) -> bool:
    return action in Action._value2member_map_


def reach(user: UserLike | None, action: Action | Rule | str, model: type[models.Model] | None = None) -> Reach:
    """Where the user holds an action on `model` (from its role maps) or a named rule (model not needed)."""
    scope = scope_for(user)
    if _is_action(action):
        if model is None:
            raise TypeError("reach() of an action needs the model whose role maps answer it")
        return Reach(hospitals=scope.hospitals_with(getattr(model, "scope_hospital_roles", {}).get(Action(action), frozenset())),
                     trials=scope.trials_with(getattr(model, "scope_trial_roles", {}).get(Action(action), frozenset())))
    return RULES[Rule(action)].reach(scope)


def _q(model: type[models.Model], scope: Scope, action: Action | Rule | str) -> Q | None:
    if _is_action(action):
        return None if scope.is_empty else model.scope_q(scope, Action(action))  # type: ignore[attr-defined]
    return RULES[Rule(action)].reach(scope).q_for(model)


def may(user: UserLike | None, action: Action | Rule | str, obj: models.Model | type[models.Model] | None = None) -> bool:
    """Whether the user may do `action` (view/add/change/delete, or a Rule) on `obj`.

    obj a row: on that row (one query at most). obj a model class: on some row of it (no query). obj None (rules
    only): anywhere.
    """
    scope = scope_for(user)
    if obj is None:
        if _is_action(action):
            raise TypeError("may() of an action needs a record or a model")
        return RULES[Rule(action)].reach(scope).anywhere
    model = obj if isinstance(obj, type) else type(obj)
    q = _q(model, scope, action)
    if q is None:
        return False
    if isinstance(obj, type) or q == Q():
        return True
    return model._default_manager.filter(q, pk=obj.pk).exists()


def require(user: UserLike | None, action: Action | Rule | str, obj: models.Model | type[models.Model] | None, message: str) -> None:
    """Refuse with `not_allowed` and `message` unless may(); for services whose callers show the message."""
    if not may(user, action, obj):
        raise ApplicationError(message, code="not_allowed")


def restricted_prefetch(lookup: str, user: UserLike | None, queryset: models.QuerySet[Any], action: Action = Action.VIEW,
                        to_attr: str | None = None) -> Prefetch:
    """A prefetch that brings only related rows the user may see (NetBox's RestrictedPrefetch)."""
    return Prefetch(lookup, queryset=queryset.restrict(user, action), to_attr=to_attr)  # type: ignore[attr-defined]


class RestrictedQuerySet(models.QuerySet):
    def restrict(self, user: UserLike | None, action: Action | Rule | str = Action.VIEW) -> Self:
        q = _q(self.model, scope_for(user), action)
        return self.none() if q is None else self.filter(q)


class ScopedModel(models.Model):
    """A model whose rows belong to a hospital and/or a trial.

    scope_hospital_path: lookup from this model to a hospital id ("hospital", "patient__hospital", "pk").
    scope_trial_path:    lookup to a trial id, or None. Trial paths may cross to-many relations.
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
        hospitals = scope.hospitals_with(cls.scope_hospital_roles.get(action, frozenset()))
        trials = scope.trials_with(cls.scope_trial_roles.get(action, frozenset()))
        return Reach(hospitals=hospitals, trials=trials).q(cls, hospital_path=cls.scope_hospital_path, trial_path=cls.scope_trial_path)


class ProgrammeReaders(StrEnum):
    """Who reads a programme-wide row (ProgrammeModel.programme_readers)."""

    ANY_ROLE = "any_role"  # anyone holding a role anywhere, trial roles included (approved consent forms)
    HOSPITAL_MEMBERS = "hospital_members"  # anyone holding a hospital role (protocols, models, comparisons)
    DATA_MANAGERS = "data_managers"  # only data managers of every hospital (reading sessions, which name the arms)


class ProgrammeModel(ScopedModel):
    """A programme-wide row with no hospital of its own: read by `programme_readers`, written only by a data
    manager of every hospital (the one rule behind consent documents, follow-up plans, evaluation protocols,
    enhancement models and reading designs)."""

    scope_hospital_path = None
    programme_readers: ClassVar[ProgrammeReaders] = ProgrammeReaders.HOSPITAL_MEMBERS

    class Meta:
        abstract = True

    @classmethod
    def scope_q(cls, scope: Scope, action: Action) -> Q | None:
        if action == Action.VIEW and cls.programme_readers == ProgrammeReaders.ANY_ROLE:
            return None if scope.is_empty else Q()
        if action == Action.VIEW and cls.programme_readers == ProgrammeReaders.HOSPITAL_MEMBERS:
            return Q() if scope.hospitals_with(ALL_HOSPITAL_ROLES) else None
        return Q() if scope.is_central_data_manager else None


def ensure_in_scope(instance: models.Model, *, user: UserLike, action: Action = Action.CHANGE) -> None:
    """Re-check, inside the writing transaction, that the row is still the writer's to act on.

    Called by every service after it saves; raising rolls the whole write back, so nobody can move a
    record to a hospital they cannot see.
    """
    if not may(user, action, instance):
        raise ApplicationError(
            "This change would put the record outside the hospitals and trials you work in.",
            code="out_of_scope",
        )
