"""Follow-up: the schedule from the plan, the daily sweep, the worklist, recording and correcting visits."""
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from conftest import Actors
from registry.dates import add_months
from registry.errors import ApplicationError
from registry.models import AuditEvent, FollowUpPlan, FollowUpVisit, Patient
from registry.selectors import worklist
from registry.services.followup import followup_mark_statuses, followup_schedule_generate, followup_visit_mark_missed, schedule_offsets
from registry.tasks import follow_up_daily
from registry.tests.builders import consented_patient, counts, events_after, last_seq, make_document, make_patient, record_visit, refresh, visit

S = FollowUpVisit.Status
DX = date(2024, 1, 15)  # visit 1: 2024-04-15 (window 04-01..04-29), visit 2: 2024-07-15 (07-01..07-29)
SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_OFFSETS = [3, 6, 9, 12, 15, 18, 21, 24, 30, 36, 42, 48, 54, 60, 72, 84, 96, 108, 120]


@pytest.fixture
def patient(actors: Actors) -> Patient:
    make_document()
    return consented_patient(actors.coordinator_a, actors.hospital_a, birth_date=date(2022, 5, 4), diagnosis_date=DX)


def statuses(patient: Patient) -> dict[int, str]:
    return dict(FollowUpVisit.objects.filter(patient=patient).values_list("number", "status"))


# --- schedule --------------------------------------------------------------------------------------

def test_default_plan_schedule(actors: Actors) -> None:
    plan = FollowUpPlan.objects.get(is_default=True)
    assert schedule_offsets(plan) == DEFAULT_OFFSETS
    assert len(DEFAULT_OFFSETS) == 8 + 6 + 5 == 19
    dx = date(2021, 11, 30)  # month ends: 3 months later is 28 February
    patient = make_patient(actors.coordinator_a, actors.hospital_a, birth_date=date(2020, 1, 1), diagnosis_date=dx)
    visits = list(FollowUpVisit.objects.filter(patient=patient).order_by("number"))
    assert [v.number for v in visits] == list(range(1, 20))
    assert [v.target_date for v in visits] == [add_months(dx, m) for m in DEFAULT_OFFSETS]
    assert visits[0].target_date == date(2022, 2, 28) and visits[-1].target_date == date(2031, 11, 30)
    assert all(v.window_start == v.target_date - timedelta(days=14) for v in visits)
    assert all(v.window_end == v.target_date + timedelta(days=14) for v in visits)
    assert {v.status for v in visits} == {S.SCHEDULED}
    event = AuditEvent.objects.get(action="schedule")
    assert event.after == {"plan": "Registry default", "visits": 19} and event.object_id == f"patient:{patient.pk}"


def test_an_edited_plan_generates_accordingly(actors: Actors) -> None:
    FollowUpPlan.objects.filter(is_default=True).update(
        rules=[{"until_month": 12, "every_months": 2}, {"until_month": None, "every_months": 12}],
        window_days=7, horizon_years=4)
    patient = make_patient(actors.coordinator_a, actors.hospital_a, diagnosis_date=date(2020, 9, 15))
    visits = list(FollowUpVisit.objects.filter(patient=patient).order_by("number"))
    offsets = [2, 4, 6, 8, 10, 12, 24, 36, 48]
    assert [v.target_date for v in visits] == [add_months(date(2020, 9, 15), m) for m in offsets]
    assert all((v.target_date - v.window_start, v.window_end - v.target_date) == (timedelta(7), timedelta(7))
               for v in visits)


def test_a_plan_given_explicitly_is_used(actors: Actors) -> None:
    patient = make_patient(actors.coordinator_a, actors.hospital_a)
    plan = FollowUpPlan.objects.create(name="Low risk", rules=[{"until_month": None, "every_months": 6}],
                                       window_days=30, horizon_years=2)
    FollowUpVisit.objects.filter(patient=patient).delete()
    assert followup_schedule_generate(actor=actors.coordinator_a, patient=patient, plan=plan) == 4
    assert [v.window_end - v.target_date for v in patient.visits.all()] == [timedelta(30)] * 4


@pytest.mark.timeout(10)
@pytest.mark.parametrize("rules", [
    [{"until_month": 24, "every_months": 0}],
    [{"until_month": None, "every_months": -3}],
])
def test_a_broken_plan_is_refused_rather_than_looping(actors: Actors, rules: list) -> None:
    FollowUpPlan.objects.filter(is_default=True).update(rules=rules)
    before = counts()
    with pytest.raises(ApplicationError) as err:
        make_patient(actors.coordinator_a, actors.hospital_a)
    assert "rules" in err.value.fields and counts() == before


# --- daily sweep -----------------------------------------------------------------------------------

def test_sweep_marks_due_inside_the_window_and_overdue_after(patient: Patient) -> None:
    assert followup_mark_statuses(today=date(2024, 3, 31)) == {"due": 0, "overdue": 0}
    assert statuses(patient)[1] == S.SCHEDULED
    assert followup_mark_statuses(today=date(2024, 4, 1)) == {"due": 1, "overdue": 0}
    assert statuses(patient)[1] == S.DUE
    followup_mark_statuses(today=date(2024, 4, 29))  # the last day of the window: still due
    assert statuses(patient)[1] == S.DUE
    assert followup_mark_statuses(today=date(2024, 4, 30)) == {"due": 0, "overdue": 1}
    assert statuses(patient)[1] == S.OVERDUE and statuses(patient)[2] == S.SCHEDULED
    # A sweep that did not run inside visit 2's window takes it straight from scheduled to overdue.
    assert followup_mark_statuses(today=date(2024, 8, 1)) == {"due": 0, "overdue": 1}
    assert statuses(patient)[2] == S.OVERDUE and statuses(patient)[3] == S.SCHEDULED


def test_sweep_leaves_closed_visits_alone(actors: Actors, patient: Patient) -> None:
    record_visit(actors.coordinator_a, patient, 1)
    followup_visit_mark_missed(actor=actors.coordinator_a, visit=visit(patient, 2), reason="no answer")
    FollowUpVisit.objects.filter(patient=patient, number=3).update(status=S.CANCELLED)
    followup_mark_statuses(today=date(2025, 2, 1))  # the windows of visits 1-4 (to 2025-01-29) have closed
    got = statuses(patient)
    assert (got[1], got[2], got[3], got[4], got[5]) == (S.DONE, S.MISSED, S.CANCELLED, S.OVERDUE, S.SCHEDULED)


def test_sweep_is_idempotent_and_audited_once_per_change(patient: Patient) -> None:
    start = last_seq()
    first = followup_mark_statuses(today=date(2024, 7, 2))
    assert first == {"due": 1, "overdue": 1}
    [event] = events_after(start)
    assert (event.action, event.actor_username, event.object_id) == ("mark_statuses", "system", "2024-07-02")
    assert event.after == first
    snapshot = statuses(patient)
    assert followup_mark_statuses(today=date(2024, 7, 2)) == {"due": 0, "overdue": 0}
    assert statuses(patient) == snapshot and events_after(start) == [event]


def test_daily_task_uses_the_local_date(patient: Patient) -> None:
    # 16:30 UTC on 31 March is already 1 April in Shanghai (TIME_ZONE): visit 1's window has opened.
    with time_machine.travel(datetime(2024, 3, 31, 16, 30, tzinfo=ZoneInfo("UTC")), tick=False):
        assert follow_up_daily() == {"due": 1, "overdue": 0}
        assert follow_up_daily() == {"due": 0, "overdue": 0}
    event = AuditEvent.objects.get(action="mark_statuses")
    assert event.source == "task" and event.object_id == "2024-04-01"
    with time_machine.travel(datetime(2024, 4, 30, 8, 0, tzinfo=SHANGHAI), tick=False):
        assert follow_up_daily() == {"due": 0, "overdue": 1}
    assert statuses(patient)[1] == S.OVERDUE


# --- worklist --------------------------------------------------------------------------------------

def test_worklist_lists_the_users_hospitals_only(actors: Actors, patient: Patient) -> None:
    other_a = consented_patient(actors.coordinator_a, actors.hospital_a, birth_date=date(2022, 5, 4),
                                diagnosis_date=date(2024, 2, 1))  # visit 1: 2024-05-01, window 04-17..05-15
    at_b = consented_patient(actors.coordinator_b, actors.hospital_b, birth_date=date(2022, 5, 4), diagnosis_date=DX)
    followup_mark_statuses(today=date(2024, 5, 1))
    mine = worklist(user=actors.coordinator_a, on=date(2024, 5, 1))
    assert [(i.kind, i.study_id, i.visit_number, i.due_date) for i in mine] == [
        ("visit_overdue", patient.study_id, 1, date(2024, 4, 15)),
        ("visit_due", other_a.study_id, 1, date(2024, 5, 1)),
    ]
    assert {i.hospital_code for i in mine} == {"AAA"}
    assert mine[0].visit_id == visit(patient, 1).pk
    theirs = worklist(user=actors.coordinator_b, on=date(2024, 5, 1))
    assert [(i.kind, i.study_id) for i in theirs] == [("visit_overdue", at_b.study_id)]
    assert worklist(user=actors.monitor_a, on=date(2024, 5, 1)) == []  # monitors do not enter follow-up
    assert worklist(user=actors.nobody, on=date(2024, 5, 1)) == []
    assert {i.study_id for i in worklist(user=actors.data_manager, on=date(2024, 5, 1))} == {
        patient.study_id, other_a.study_id, at_b.study_id}


def test_worklist_drops_a_visit_once_recorded_and_adds_consents_to_renew(actors: Actors, patient: Patient) -> None:
    followup_mark_statuses(today=date(2024, 5, 1))
    record_visit(actors.coordinator_a, patient, 1, visit_date=date(2024, 4, 30))
    assert worklist(user=actors.coordinator_a, on=date(2024, 5, 1)) == []
    make_document(version="2.0", effective_from=date(2024, 5, 1), requires_reconsent=True)
    items = worklist(user=actors.coordinator_a, on=date(2024, 5, 1))
    assert [(i.kind, i.study_id, i.due_date) for i in items] == [("reconsent_due", patient.study_id, None)]


# --- recording visits ------------------------------------------------------------------------------

def test_recording_a_visit(actors: Actors, patient: Patient) -> None:
    start = last_seq()
    done = record_visit(actors.investigator_a, patient, 1, visit_date=date(2024, 4, 16), disease_status="PR",
                        treatment_phase="induction", last_contact_date=date(2024, 4, 20), today=date(2024, 5, 1))
    assert done.status == S.DONE and done.recorded_by == actors.investigator_a and done.recorded_at
    assert refresh(patient).last_contact_date == date(2024, 4, 20)
    record, update = events_after(start)
    assert (record.action, record.object_type, record.reason) == ("record", "registry.followupvisit", "")
    assert record.before["status"] == S.SCHEDULED and record.after["status"] == S.DONE
    assert (update.action, update.object_type) == ("update", "registry.patient")
    assert update.after["last_contact_date"] == "2024-04-20"
    # A later visit moves the last contact on; an earlier one (entered late) does not move it back.
    record_visit(actors.coordinator_a, patient, 2, visit_date=date(2024, 7, 15))
    assert refresh(patient).last_contact_date == date(2024, 7, 15)
    record_visit(actors.coordinator_a, patient, None, visit_date=date(2024, 3, 1))
    assert refresh(patient).last_contact_date == date(2024, 7, 15)


def test_recording_an_unscheduled_visit(actors: Actors, patient: Patient) -> None:
    extra = record_visit(actors.coordinator_a, patient, None, visit_date=date(2024, 2, 20), disease_status="SD")
    assert extra.number == 20 and extra.target_date is None and extra.status == S.DONE
    assert refresh(patient).last_contact_date == date(2024, 2, 20)


def test_death_closes_the_schedule(actors: Actors, patient: Patient) -> None:
    record_visit(actors.coordinator_a, patient, 1, visit_date=date(2024, 4, 15))
    followup_mark_statuses(today=date(2024, 8, 1))  # visit 2 overdue
    start = last_seq()
    record_visit(actors.coordinator_a, patient, 3, visit_date=date(2024, 9, 2), vital_status="dead",
                 death_date=date(2024, 8, 20), death_cause="progressive disease")
    patient = refresh(patient)
    assert patient.death_date == date(2024, 8, 20) and not patient.is_followed
    got = statuses(patient)
    assert (got[1], got[3]) == (S.DONE, S.DONE)
    assert {got[n] for n in (2, *range(4, 20))} == {S.CANCELLED}
    assert [e.action for e in events_after(start)] == ["record", "update", "cancel_visits"]
    assert events_after(start)[-1].after["cancelled"] == 17
    assert worklist(user=actors.coordinator_a, on=date(2024, 9, 3)) == []


def test_a_dead_patient_cannot_be_recorded_alive_later(actors: Actors, patient: Patient) -> None:
    record_visit(actors.coordinator_a, patient, 1, visit_date=date(2024, 4, 20), vital_status="dead",
                 death_date=date(2024, 4, 18))
    before = counts()
    with pytest.raises(ApplicationError) as err:
        record_visit(actors.coordinator_a, patient, None, visit_date=date(2024, 6, 1), vital_status="alive")
    assert err.value.code == "invalid" and "vital_status" in err.value.fields
    assert "2024-04-18" in err.value.message and counts() == before
    # An earlier contact alive (entered late) is fine, and a second report of the same death too.
    record_visit(actors.coordinator_a, patient, None, visit_date=date(2024, 4, 1), vital_status="alive")
    record_visit(actors.coordinator_a, patient, None, visit_date=date(2024, 5, 1), vital_status="dead",
                 death_date=date(2024, 4, 18))
    with pytest.raises(ApplicationError) as err:
        record_visit(actors.coordinator_a, patient, None, visit_date=date(2024, 5, 2), vital_status="dead",
                     death_date=date(2024, 4, 17))
    assert "death_date" in err.value.fields


def test_a_death_before_a_contact_alive_is_refused(actors: Actors, patient: Patient) -> None:
    record_visit(actors.coordinator_a, patient, 1, visit_date=date(2024, 4, 15), last_contact_date=date(2024, 5, 10))
    with pytest.raises(ApplicationError) as err:
        record_visit(actors.coordinator_a, patient, 2, visit_date=date(2024, 7, 15), vital_status="dead",
                     death_date=date(2024, 5, 1))
    assert "death_date" in err.value.fields
    assert refresh(patient).death_date is None and statuses(patient)[3] == S.SCHEDULED


@pytest.mark.parametrize(("data", "field"), [
    ({"visit_date": date(2024, 1, 14)}, "visit_date"),  # before the diagnosis
    ({"visit_date": date(2024, 5, 2)}, "visit_date"),  # after "today"
    ({"visit_date": None}, "visit_date"),
    ({"vital_status": ""}, "vital_status"),
    ({"vital_status": "dead"}, "death_date"),  # no death date
    ({"vital_status": "dead", "death_date": date(2024, 4, 16)}, "death_date"),  # after the visit
    ({"vital_status": "dead", "death_date": date(2024, 1, 10)}, "death_date"),  # before the diagnosis
    ({"death_date": date(2024, 4, 1)}, "death_date"),  # alive, with a death date
    ({"event_date": date(2024, 1, 1)}, "event_date"),
    ({"event_date": date(2024, 4, 20)}, "event_date"),  # after the visit
    ({"last_contact_date": date(2024, 4, 1)}, "last_contact_date"),  # before the visit
    ({"last_contact_date": date(2024, 5, 2)}, "last_contact_date"),  # after "today"
    ({"disease_status": "cured"}, "disease_status"),
])
def test_impossible_visits_are_refused(actors: Actors, patient: Patient, data: dict, field: str) -> None:
    before = counts()
    with pytest.raises(ApplicationError) as err:
        record_visit(actors.coordinator_a, patient, 1, today=date(2024, 5, 1), **{"visit_date": date(2024, 4, 15),
                                                                                  **data})
    assert err.value.code == "invalid" and field in err.value.fields
    assert counts() == before and statuses(patient)[1] == S.SCHEDULED


def test_unknown_visit_field_is_refused(actors: Actors, patient: Patient) -> None:
    with pytest.raises(ApplicationError) as err:
        record_visit(actors.coordinator_a, patient, 1, status="done")
    assert "status" in err.value.fields


@pytest.mark.parametrize("actor", ["coordinator_b", "monitor_a"])
def test_recording_out_of_scope_is_refused(actors: Actors, patient: Patient, actor: str) -> None:
    before = counts()
    with pytest.raises(ApplicationError) as err:
        record_visit(getattr(actors, actor), patient, 1)
    assert err.value.code == "out_of_scope" and counts() == before
    assert statuses(patient)[1] == S.SCHEDULED and refresh(patient).last_contact_date is None


def test_an_outsider_learns_nothing_from_a_refused_visit(actors: Actors, patient: Patient) -> None:
    record_visit(actors.coordinator_a, patient, 1, visit_date=date(2024, 4, 20), vital_status="dead",
                 death_date=date(2024, 4, 18))
    with pytest.raises(ApplicationError) as err:
        record_visit(actors.coordinator_b, patient, None, visit_date=date(2024, 6, 1), vital_status="alive")
    assert err.value.code == "out_of_scope" and "2024" not in err.value.message and not err.value.fields
    with pytest.raises(ApplicationError) as err:
        followup_visit_mark_missed(actor=actors.coordinator_b, visit=visit(patient, 1), reason="r")
    assert err.value.code == "out_of_scope" and "done" not in err.value.message


# --- corrections, missed visits -----------------------------------------------------------------------

def test_correcting_a_done_visit_needs_a_reason(actors: Actors, patient: Patient) -> None:
    done = record_visit(actors.coordinator_a, patient, 1, visit_date=date(2024, 4, 16), disease_status="PR")
    for reason in ("", "  "):
        with pytest.raises(ApplicationError) as err:
            record_visit(actors.coordinator_a, patient, 1, reason=reason, visit_date=date(2024, 4, 16),
                         disease_status="CR")
        assert err.value.code == "reason_required"
    assert visit(patient, 1).disease_status == "PR"
    start = last_seq()
    record_visit(actors.coordinator_a, patient, 1, reason="report misread", visit_date=date(2024, 4, 16),
                 disease_status="CR")
    [event] = events_after(start)
    assert (event.action, event.object_id, event.reason) == ("update", str(done.pk), "report misread")
    assert (event.before["disease_status"], event.after["disease_status"]) == ("PR", "CR")


def test_correcting_the_visit_that_recorded_the_death(actors: Actors, patient: Patient) -> None:
    record_visit(actors.coordinator_a, patient, 1, visit_date=date(2024, 4, 20), vital_status="dead",
                 death_date=date(2024, 4, 2))
    record_visit(actors.coordinator_a, patient, 1, reason="date on the certificate", visit_date=date(2024, 4, 20),
                 vital_status="dead", death_date=date(2024, 4, 12))
    assert refresh(patient).death_date == date(2024, 4, 12)
    assert set(statuses(patient).values()) == {S.DONE, S.CANCELLED}
    # Recorded dead by mistake: the correction brings the patient back to follow-up.
    start = last_seq()
    record_visit(actors.coordinator_a, patient, 1, reason="wrong patient", visit_date=date(2024, 4, 20),
                 vital_status="alive", death_date=None)
    patient = refresh(patient)
    assert patient.death_date is None and patient.last_contact_date == date(2024, 4, 20) and patient.is_followed
    assert {statuses(patient)[n] for n in range(2, 20)} == {S.SCHEDULED}
    assert [e.action for e in events_after(start)] == ["update", "update", "reopen_visits"]


def test_correcting_a_visit_date_moves_the_last_contact_back(actors: Actors, patient: Patient) -> None:
    record_visit(actors.coordinator_a, patient, 1, visit_date=date(2024, 4, 28))
    record_visit(actors.coordinator_a, patient, 1, reason="typo", visit_date=date(2024, 4, 18))
    assert refresh(patient).last_contact_date == date(2024, 4, 18)


def test_a_cancelled_visit_cannot_be_recorded(actors: Actors, patient: Patient) -> None:
    FollowUpVisit.objects.filter(patient=patient, number=1).update(status=S.CANCELLED)
    with pytest.raises(ApplicationError) as err:
        record_visit(actors.coordinator_a, patient, 1)
    assert err.value.code == "visit_cancelled"


def test_mark_missed(actors: Actors, patient: Patient) -> None:
    followup_mark_statuses(today=date(2024, 5, 1))
    for reason in ("", " "):
        with pytest.raises(ApplicationError) as err:
            followup_visit_mark_missed(actor=actors.coordinator_a, visit=visit(patient, 1), reason=reason)
        assert err.value.code == "reason_required"
    assert statuses(patient)[1] == S.OVERDUE
    start = last_seq()
    missed = followup_visit_mark_missed(actor=actors.coordinator_a, visit=visit(patient, 1), reason="unreachable")
    assert (missed.status, missed.missed_reason) == (S.MISSED, "unreachable")
    [event] = events_after(start)
    assert event.action == "mark_missed" and event.before["status"] == S.OVERDUE and event.reason == "unreachable"
    # Scheduled and due visits may be marked missed too...
    followup_visit_mark_missed(actor=actors.coordinator_a, visit=visit(patient, 2), reason="moved away")
    # ...but not a visit already closed.
    record_visit(actors.coordinator_a, patient, 3, visit_date=date(2024, 10, 15))
    FollowUpVisit.objects.filter(patient=patient, number=4).update(status=S.CANCELLED)
    for number in (1, 3, 4):
        with pytest.raises(ApplicationError) as err:
            followup_visit_mark_missed(actor=actors.coordinator_a, visit=visit(patient, number), reason="r")
        assert err.value.code == "invalid_transition"
    # A missed visit whose data turns up later can still be recorded.
    assert record_visit(actors.coordinator_a, patient, 1, visit_date=date(2024, 4, 20)).status == S.DONE


@pytest.mark.parametrize("actor", ["coordinator_b", "monitor_a"])
def test_mark_missed_out_of_scope_is_refused(actors: Actors, patient: Patient, actor: str) -> None:
    with pytest.raises(ApplicationError) as err:
        followup_visit_mark_missed(actor=getattr(actors, actor), visit=visit(patient, 1), reason="r")
    assert err.value.code == "out_of_scope" and statuses(patient)[1] == S.SCHEDULED
