"""Trial status transitions (guarded, conditional, audited), trial roles in the scope, and screening outcomes."""
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import Actors
from registry.access import forget_scope, scope_for
from registry.errors import ApplicationError
from registry.models import AuditEvent
from registry.tests.builders import make_patient
from trials.models import EligibilityCriterion, ScreeningRecord, Trial
from trials.services import setup
from trials.services.screening import screening_record_create
from trials.tests.builders import TODAY, answers, make_trial, screen, site_of


@pytest.fixture
def draft(actors: Actors) -> Trial:
    return make_trial(actors.data_manager, [actors.hospital_a], recruiting=False)


def go(actors: Actors, trial: Trial, to: str) -> Trial:
    return setup.trial_transition(actor=actors.data_manager, trial=trial, to=to, reason="committee decision")


def test_the_status_walks_the_allowed_path(actors: Actors, draft: Trial) -> None:
    for to in ("recruiting", "suspended", "recruiting", "closed_to_accrual", "completed"):
        assert go(actors, draft, to).status == to
    events = AuditEvent.objects.filter(object_type="trials.trial", action="transition").order_by("seq")
    assert [(e.before["status"], e.after["status"]) for e in events] == [
        ("draft", "recruiting"), ("recruiting", "suspended"), ("suspended", "recruiting"),
        ("recruiting", "closed_to_accrual"), ("closed_to_accrual", "completed")]


@pytest.mark.parametrize(("path", "refused"), [
    ((), "completed"), ((), "closed_to_accrual"), (("recruiting",), "draft"), (("recruiting", "closed_to_accrual"), "recruiting"),
    (("recruiting", "closed_to_accrual", "completed"), "recruiting"), (("recruiting", "suspended"), "completed"),
])
def test_other_transitions_are_refused(actors: Actors, draft: Trial, path: tuple[str, ...], refused: str) -> None:
    for to in path:
        go(actors, draft, to)
    with pytest.raises(ApplicationError) as caught:
        go(actors, draft, refused)
    assert caught.value.code == "invalid_transition"


def test_a_stale_status_loses_the_conditional_update(actors: Actors, draft: Trial) -> None:
    go(actors, draft, "recruiting")
    Trial.objects.filter(pk=draft.pk).update(status="suspended")  # someone else suspended it meanwhile
    stale = Trial.objects.get(pk=draft.pk)
    stale.status = "recruiting"
    with pytest.raises(ApplicationError):
        go(actors, stale, "closed_to_accrual")
    assert Trial.objects.get(pk=draft.pk).status == "suspended"


def test_only_data_managers_move_a_trial_and_a_reason_is_required(actors: Actors, draft: Trial) -> None:
    with pytest.raises(ApplicationError) as caught:
        setup.trial_transition(actor=actors.coordinator_a, trial=draft, to="recruiting", reason="go")
    assert caught.value.code == "not_allowed"
    with pytest.raises(ApplicationError) as caught:
        setup.trial_transition(actor=actors.data_manager, trial=draft, to="recruiting", reason=" ")
    assert caught.value.code == "reason_required"


def test_a_trial_without_a_protocol_cannot_recruit(actors: Actors) -> None:
    trial = setup.trial_create(actor=actors.data_manager, code="BARE", title_zh="x", title_en="x", phase="I",
                               agent_code="I123_MIBG", sponsor_organisation="x", target_accrual=3)
    with pytest.raises(ApplicationError) as caught:
        go(actors, trial, "recruiting")
    assert caught.value.code == "no_protocol"


def test_trial_roles_reach_the_scope_in_one_query(actors: Actors, draft: Trial) -> None:
    setup.trial_membership_grant(actor=actors.data_manager, user=actors.sponsor, trial=draft, role="sponsor")
    setup.trial_membership_grant(actor=actors.data_manager, user=actors.sponsor, trial=draft, role="monitor")
    forget_scope(actors.sponsor)
    with CaptureQueriesContext(connection) as queries:
        scope = scope_for(actors.sponsor)
    assert scope.trial_roles == {draft.pk: frozenset({"sponsor", "monitor"})}
    assert len(queries) == 2  # hospital memberships + trial memberships
    with pytest.raises(ApplicationError):
        setup.trial_membership_grant(actor=actors.coordinator_a, user=actors.nobody, trial=draft, role="sponsor")


def test_screening_derives_the_outcome_and_lists_failed_criteria(actors: Actors) -> None:
    trial = make_trial(actors.data_manager, [actors.hospital_a])
    site = site_of(trial, actors.hospital_a)
    ok = screen(actors.coordinator_a, trial, site, make_patient(actors.coordinator_a, actors.hospital_a))
    assert (ok.outcome, ok.failed_criteria) == ("eligible", [])
    failed = screen(actors.coordinator_a, trial, site, make_patient(actors.coordinator_a, actors.hospital_a), failing=("E1", "I1"))
    assert (failed.outcome, failed.failed_criteria) == ("screen_failure", ["I1", "E1"])
    assert failed.answers.count() == 3


def test_screening_must_answer_every_criterion(actors: Actors) -> None:
    trial = make_trial(actors.data_manager, [actors.hospital_a])
    partial = answers(trial)
    dropped = EligibilityCriterion.objects.get(pk=partial.popitem()[0]).label
    with pytest.raises(ApplicationError) as caught:
        screening_record_create(actor=actors.coordinator_a, trial=trial, site=site_of(trial, actors.hospital_a),
                                patient=make_patient(actors.coordinator_a, actors.hospital_a), screened_on=date(2026, 6, 1),
                                answers=partial, today=TODAY)
    assert caught.value.code == "incomplete_screening" and f"missing: {dropped}." in caught.value.message
    assert not ScreeningRecord.objects.exists()


def test_screening_of_another_hospitals_patient_is_refused(actors: Actors) -> None:
    trial = make_trial(actors.data_manager, [actors.hospital_a, actors.hospital_b])
    with pytest.raises(ApplicationError):
        screen(actors.coordinator_a, trial, site_of(trial, actors.hospital_a), make_patient(actors.coordinator_b, actors.hospital_b))
    with pytest.raises(ApplicationError) as caught:
        screen(actors.coordinator_a, trial, site_of(trial, actors.hospital_b), make_patient(actors.coordinator_b, actors.hospital_b))
    assert caught.value.code == "out_of_scope"
    assert not ScreeningRecord.objects.exists()
