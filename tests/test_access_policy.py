"""One access policy: registry.access is the only place that reads roles, and its answers per role.

The ban test walks the source of every app and fails, naming file:line, when a role or a scope is read by hand
outside registry/access.py and the models' scope_q filters (the per-model rule that restrict() and may() apply).
"""
import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.template import engines

from conftest import Actors
from registry.access import Action, Rule, may, reach, require, restricted_prefetch
from registry.errors import ApplicationError
from registry.models import ConsentDocument, FollowUpPlan, Hospital, HospitalMembership, Patient, User
from registry.services.hospitals import membership_grant
from registry.tests.builders import make_patient
from registry.tests.factories import MembershipFactory, UserFactory

ROOT = Path(__file__).resolve().parent.parent
APPS = ("registry", "trials", "imaging", "reports")
BANNED_NAMES = frozenset({"scope_for"})
BANNED_ATTRIBUTES = frozenset({"hospitals_with", "has_role", "everywhere_roles", "trials_with", "hospital_roles", "trial_roles"})
ROLE_ENUMS = frozenset({"HospitalRole", "TrialRole"})


def _sources() -> Iterator[Path]:
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            parts = path.relative_to(ROOT).parts
            if "tests" in parts or "migrations" in parts or path.relative_to(ROOT).as_posix() == "registry/access.py":
                continue
            yield path


def _is_role_member(node: ast.AST) -> bool:
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        # A member (HospitalRole.DATA_MANAGER), not the enum's .values or .choices (validating a role is no access check).
        return node.value.id in ROLE_ENUMS and node.attr.isupper()
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return any(_is_role_member(e) for e in node.elts)
    return False


def _is_system_username(node: ast.Compare) -> bool:
    sides = [node.left, *node.comparators]
    return (any(isinstance(s, ast.Attribute) and s.attr == "username" for s in sides)
            and any(isinstance(s, ast.Constant) and s.value == "system" for s in sides))


class _Finder(ast.NodeVisitor):
    """Collects hand-written access checks; the filters inside a models package's scope_q (and its *_q helpers) may read roles."""

    def __init__(self, in_models: bool) -> None:
        self.in_models = in_models
        self.allowed_depth = 0
        self.found: list[tuple[int, str]] = []

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        allowed = self.in_models and node.name.endswith("_q")
        self.allowed_depth += allowed
        self.generic_visit(node)
        self.allowed_depth -= allowed

    def _flag(self, node: ast.AST, what: str) -> None:
        if not self.allowed_depth:
            self.found.append((node.lineno, what))  # type: ignore[attr-defined]

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in BANNED_NAMES:
            self._flag(node, node.id)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            if alias.name in BANNED_NAMES:
                self._flag(node, f"import {alias.name}")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in BANNED_ATTRIBUTES or node.attr in BANNED_NAMES:
            self._flag(node, f".{node.attr}")
        self.generic_visit(node)

    def visit_Compare(self, node: ast.Compare) -> None:
        if any(_is_role_member(side) for side in (node.left, *node.comparators)):
            self._flag(node, "comparison with a role")
        if _is_system_username(node):
            self._flag(node, 'username == "system"')
        self.generic_visit(node)


def hand_written_checks() -> list[str]:
    found = []
    for path in _sources():
        relative = path.relative_to(ROOT)
        finder = _Finder(in_models="models" in relative.parts[:-1] or relative.name == "models.py")
        finder.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        found += [f"{relative}:{line}: {what}" for line, what in finder.found]
    return found


def test_no_access_decision_outside_the_access_module() -> None:
    found = hand_written_checks()
    assert not found, "decide access through registry.access (may, restrict, reach, Rule):\n" + "\n".join(found)


def test_the_ban_sees_what_it_bans(tmp_path: Path) -> None:
    """The walker flags each banned form (so an empty result above means something)."""
    source = ('from registry.access import scope_for\n'
              'ok = scope_for(user).has_role("x") or role == HospitalRole.DATA_MANAGER\n'
              'sys = actor.username == "system" or TrialRole.SPONSOR in held\n'
              'def scope_q(scope): return scope.hospitals_with(roles)\n')
    outside, inside = _Finder(in_models=False), _Finder(in_models=True)
    outside.visit(ast.parse(source))
    inside.visit(ast.parse(source))
    assert sorted(what for _, what in outside.found) == sorted(["import scope_for", "scope_for", ".has_role", "comparison with a role",
                                                                'username == "system"', "comparison with a role", ".hospitals_with"])
    assert ".hospitals_with" not in [what for _, what in inside.found]


# may() per role -----------------------------------------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize(("actor", "view", "change"), [
    ("coordinator_a", True, True), ("investigator_a", True, True), ("monitor_a", True, False),
    ("data_manager", True, True), ("coordinator_b", False, False), ("nobody", False, False), ("sponsor", False, False),
    ("anonymous", False, False),
])
def test_may_on_a_patient_follows_the_models_role_maps(actors: Actors, actor: str, view: bool, change: bool) -> None:
    patient = make_patient(actors.data_manager, actors.hospital_a)
    user = actors.by_name(actor)
    assert may(user, Action.VIEW, patient) is view
    assert may(user, "change", patient) is change
    assert may(user, Action.DELETE, patient) is False
    # may() and restrict() are one rule.
    assert Patient.objects.restrict(user, Action.CHANGE).filter(pk=patient.pk).exists() is change


@pytest.mark.django_db
def test_may_on_a_model_asks_whether_any_row_could_be_added(actors: Actors) -> None:
    assert may(actors.coordinator_a, Action.ADD, Patient) is True
    assert may(actors.monitor_a, Action.ADD, Patient) is False
    assert may(actors.nobody, Action.ADD, Patient) is False


@pytest.mark.django_db
def test_may_on_one_row_costs_at_most_one_query(actors: Actors, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    patient = make_patient(actors.data_manager, actors.hospital_a)
    may(actors.coordinator_a, Action.VIEW, patient)  # the scope is computed once per user object and cached
    with django_assert_max_num_queries(1):
        assert may(actors.coordinator_a, Action.CHANGE, patient)
    with django_assert_max_num_queries(0):
        assert may(actors.data_manager, Action.CHANGE, patient)  # every hospital: no row to look up


@pytest.mark.django_db
def test_a_data_manager_of_one_hospital_holds_no_programme_wide_privilege(actors: Actors) -> None:
    """'Data manager' means 'at every hospital' for programme-wide privileges; at one hospital, that hospital's data."""
    dm_a = UserFactory(username="dm_a")
    MembershipFactory(user=dm_a, hospital=actors.hospital_a, role="data_manager")
    for rule in (Rule.PUBLISH_CONSENT_DOCUMENTS, Rule.SET_UP_TRIALS, Rule.VERIFY_AUDIT):
        assert may(dm_a, rule) is False
        assert may(actors.data_manager, rule) is True
    assert may(dm_a, Action.CHANGE, FollowUpPlan) is False and may(actors.data_manager, Action.CHANGE, FollowUpPlan) is True
    assert may(dm_a, Action.ADD, ConsentDocument) is False and may(actors.data_manager, Action.ADD, ConsentDocument) is True
    patient_a, patient_b = make_patient(actors.data_manager, actors.hospital_a), make_patient(actors.data_manager, actors.hospital_b)
    assert may(dm_a, Rule.UNBLIND, patient_a) is True and may(dm_a, Rule.UNBLIND, patient_b) is False
    assert may(actors.data_manager, Rule.UNBLIND, patient_b) is True


@pytest.mark.django_db
def test_rules_on_a_record_follow_its_hospital(actors: Actors) -> None:
    patient_a = make_patient(actors.data_manager, actors.hospital_a)
    assert may(actors.investigator_a, Rule.SIGN, patient_a) is True
    assert may(actors.coordinator_a, Rule.SIGN, patient_a) is False
    assert may(actors.coordinator_b, Rule.KNOW_PATIENT, patient_a) is False
    assert may(actors.monitor_a, Rule.KNOW_PATIENT, patient_a) is True
    assert may(actors.coordinator_a, Rule.REVIEW_UPLOADS, patient_a) is True
    assert reach(actors.investigator_a, Rule.SIGN).covers(hospital_id=actors.hospital_a.pk) is True
    assert reach(actors.investigator_a, Rule.SIGN).covers(hospital_id=actors.hospital_b.pk) is False
    assert list(Patient.objects.restrict(actors.investigator_a, Rule.SIGN)) == [patient_a]


@pytest.mark.django_db
def test_the_system_actor_is_recognised_by_its_flag_not_its_name(actors: Actors) -> None:
    system = User.objects.get(username="system")
    assert system.is_system_actor and not system.is_active
    assert may(system, Rule.SET_UP_PLATFORM) and may(system, Rule.PUBLISH_CONSENT_DOCUMENTS)
    assert not may(system, Action.VIEW, make_patient(actors.data_manager, actors.hospital_a))  # no clinical data from the flag
    impostor = UserFactory(username="system2")
    impostor.username = "system"  # the name alone grants nothing
    assert not may(impostor, Rule.SET_UP_PLATFORM)
    with pytest.raises(ApplicationError) as refused:
        require(impostor, Rule.PUBLISH_CONSENT_DOCUMENTS, None, "no")
    assert refused.value.code == "not_allowed"


@pytest.mark.django_db
def test_only_the_platform_or_an_every_hospital_data_manager_grants_a_role_everywhere(actors: Actors) -> None:
    dm_a = UserFactory(username="dm_a")
    MembershipFactory(user=dm_a, hospital=actors.hospital_a, role="data_manager")
    newcomer = UserFactory(username="newcomer")
    with pytest.raises(ApplicationError) as refused:
        membership_grant(actor=dm_a, user=newcomer, role="data_manager", hospital=None)
    assert refused.value.code == "out_of_scope"
    assert not HospitalMembership.objects.filter(user=newcomer).exists()
    membership_grant(actor=actors.data_manager, user=newcomer, role="data_manager", hospital=None)
    membership_grant(actor=User.objects.get(username="system"), user=UserFactory(username="other"), role="data_manager",
                     hospital=None)


@pytest.mark.django_db
def test_the_template_tag_asks_the_same_rule(actors: Actors) -> None:
    patient = make_patient(actors.data_manager, actors.hospital_a)
    template = engines["django"].from_string(
        '{% load access %}{% may user "change" patient as can_edit %}{% may user "sign" patient as can_sign %}'
        '{{ can_edit }}/{{ can_sign }}')
    assert template.render({"user": actors.investigator_a, "patient": patient}) == "True/True"
    assert template.render({"user": actors.monitor_a, "patient": patient}) == "False/False"
    assert template.render({"user": actors.coordinator_b, "patient": patient}) == "False/False"


@pytest.mark.django_db
def test_a_restricted_prefetch_brings_only_rows_in_scope(actors: Actors) -> None:
    coordinator_b_membership = HospitalMembership.objects.get(user=actors.coordinator_b)
    hospitals = Hospital.objects.prefetch_related(
        restricted_prefetch("memberships", actors.coordinator_a, HospitalMembership.objects.all())).order_by("code")
    seen = {m.pk for h in hospitals for m in h.memberships.all()}
    assert coordinator_b_membership.pk not in seen
    assert HospitalMembership.objects.get(user=actors.coordinator_a).pk in seen


@pytest.mark.django_db
def test_an_every_hospital_reach_covers_rows_reached_through_a_trial_alone(actors: Actors) -> None:
    """A trial has no hospital path: Rule.REPORT_TRIAL (central data managers, the trial's sponsors) reaches every trial
    for a data manager of every hospital, as reach().covers() says of one trial, and only the sponsored one for a sponsor."""
    from trials.models import Trial, TrialMembership
    from trials.tests.builders import quick_trial

    sponsored, other = quick_trial([actors.hospital_a], code="NB-R1"), quick_trial([actors.hospital_b], code="NB-R2")
    TrialMembership.objects.create(user=actors.sponsor, trial=sponsored, role="sponsor")
    dm_a = UserFactory(username="dm_a")
    MembershipFactory(user=dm_a, hospital=actors.hospital_a, role="data_manager")
    users = {name: actors.by_name(name) for name in ("data_manager", "sponsor", "coordinator_a", "nobody")} | {"dm_a": dm_a}
    reported = {name: set(Trial.objects.restrict(user, Rule.REPORT_TRIAL).values_list("code", flat=True)) for name, user in users.items()}
    assert reported == {"data_manager": {"NB-R1", "NB-R2"}, "sponsor": {"NB-R1"}, "coordinator_a": set(), "nobody": set(), "dm_a": set()}
    assert may(actors.data_manager, Rule.REPORT_TRIAL, other) is True
    assert may(actors.sponsor, Rule.REPORT_TRIAL, other) is False
    # A programme-wide row with no path at all: the central data manager publishes consent documents, nobody else does.
    document = ConsentDocument.objects.create(scope="registry", version="9.0", title="v9", ethics_approval_number="EC-9",
                                              ethics_approval_date="2025-01-01", effective_from="2025-01-01")
    assert may(actors.data_manager, Rule.PUBLISH_CONSENT_DOCUMENTS, document) is True
    assert may(dm_a, Rule.PUBLISH_CONSENT_DOCUMENTS, document) is False


@pytest.mark.django_db
def test_a_signed_consent_page_is_read_by_roles_named_at_the_patients_own_hospital(actors: Actors) -> None:
    """Identity-like: any role held at the patient's hospital (the monitor verifies consent); a role held at every hospital,
    a trial role or another hospital's role does not reach it."""
    patient_a = make_patient(actors.data_manager, actors.hospital_a)
    dm_a = UserFactory(username="dm_a")
    MembershipFactory(user=dm_a, hospital=actors.hospital_a, role="data_manager")
    readers = {name for name in ("coordinator_a", "investigator_a", "monitor_a", "coordinator_b", "data_manager", "sponsor", "nobody")
               if may(actors.by_name(name), Rule.READ_SIGNED_CONSENT, patient_a)}
    assert readers == {"coordinator_a", "investigator_a", "monitor_a"}
    assert may(dm_a, Rule.READ_SIGNED_CONSENT, patient_a) is True
    assert list(Patient.objects.restrict(actors.data_manager, Rule.READ_SIGNED_CONSENT)) == []
