"""Follow-up: the expected-visit schedule, recording visits, and the daily status sweep."""
from datetime import date, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from registry.access import Action, ensure_in_scope
from registry.audit import audit_record, snapshot
from registry.consent_rules import require_consent
from registry.dates import add_months
from registry.errors import ApplicationError
from registry.models import FollowUpPlan, FollowUpVisit, Patient, User
from registry.models.people import SYSTEM_USERNAME
from registry.services.common import require_reason, validate

V = FollowUpVisit.Status


def schedule_offsets(plan: FollowUpPlan) -> list[int]:
    """Months after diagnosis of each expected visit, e.g. 3, 6, ... 24, 30, ... 60, 72, ... 120."""
    offsets, month = [], 0
    horizon = plan.horizon_years * 12
    for rule in plan.rules:
        if not isinstance(rule.get("every_months"), int) or rule["every_months"] < 1:
            # A plan edited outside followup_plan_update (admin, SQL) must not hang every registration.
            raise ApplicationError(_("Follow-up plan %(plan)s has a rule without a positive every_months.") % {"plan": repr(plan.name)},
                                   code="invalid", fields={"rules": [_("every_months must be a whole number >= 1.")]})
        until = rule["until_month"] if rule["until_month"] is not None else horizon
        while month + rule["every_months"] <= min(until, horizon):
            month += rule["every_months"]
            offsets.append(month)
    return offsets


def build_schedule(patient: Patient, plan: FollowUpPlan) -> list[FollowUpVisit]:
    """Expected visits in calendar months after the diagnosis date, windows in calendar days: date arithmetic, never
    durations, so the platform's time zone and its daylight-saving changes do not move them."""
    window = timedelta(days=plan.window_days)
    visits = []
    for number, months in enumerate(schedule_offsets(plan), start=1):
        target = add_months(patient.diagnosis_date, months)
        visits.append(FollowUpVisit(patient=patient, number=number, target_date=target,
                                    window_start=target - window, window_end=target + window))
    return visits


def followup_schedule_generate(*, actor: User, patient: Patient, plan: FollowUpPlan | None = None) -> int:
    plan = plan or FollowUpPlan.objects.get(is_default=True)
    visits = build_schedule(patient, plan)
    FollowUpVisit.objects.bulk_create(visits)
    # One event for the whole schedule: it is derived from the plan, not entered by anyone.
    audit_record(actor=actor, action="schedule", object_type="registry.followupvisit", object_id=f"patient:{patient.pk}",
                 after={"plan": plan.name, "visits": len(visits)}, hospital_id=patient.hospital_id)
    return len(visits)


VISIT_FIELDS = frozenset({"visit_date", "vital_status", "disease_status", "event_date", "event_site", "treatment_phase",
                          "last_contact_date", "death_date", "death_cause"})


def _check_visit(patient: Patient, visit: FollowUpVisit, today: date) -> None:
    errors: dict[str, str] = {}
    if visit.visit_date is None:
        errors["visit_date"] = _("The visit date is required.")
    else:
        if visit.visit_date > today:
            errors["visit_date"] = _("The visit date is in the future.")
        elif visit.visit_date < patient.birth_date:
            errors["visit_date"] = _("The visit date is before the date of birth.")
        elif visit.visit_date < patient.diagnosis_date:
            errors["visit_date"] = _("The visit date is before the diagnosis.")
    if not visit.vital_status:
        errors["vital_status"] = _("The vital status is required.")
    if visit.vital_status == FollowUpVisit.VitalStatus.DEAD:
        if not visit.death_date:
            errors["death_date"] = _("A death date is required when the patient has died.")
        elif visit.visit_date and visit.death_date > visit.visit_date:
            errors["death_date"] = _("The death date is after the visit date.")
        elif visit.death_date < patient.diagnosis_date:
            errors["death_date"] = _("The death date is before the diagnosis.")
    elif visit.death_date:
        errors["death_date"] = _("A death date was given for a patient recorded alive.")
    # Compare with the patient's other recorded visits, not with the patient's derived fields: when the visit
    # being corrected is the one that recorded the death, its own old death date must not block the correction.
    others = FollowUpVisit.objects.filter(patient=patient, status=V.DONE).exclude(pk=visit.pk)
    recorded_death = next((v.death_date for v in others if v.vital_status == FollowUpVisit.VitalStatus.DEAD), None)
    seen_alive = max((d for v in others if v.vital_status == FollowUpVisit.VitalStatus.ALIVE
                      for d in (v.visit_date, v.last_contact_date) if d), default=None)
    this_alive = max((d for d in (visit.visit_date, visit.last_contact_date) if d), default=None)
    if recorded_death and visit.vital_status == FollowUpVisit.VitalStatus.ALIVE and this_alive \
            and this_alive > recorded_death:
        errors["vital_status"] = (_("The patient's death was recorded on %(date)s; a later visit cannot record them alive.")
                                  % {"date": recorded_death.isoformat()})
    if recorded_death and visit.death_date and visit.death_date != recorded_death:
        errors["death_date"] = _("A different death date (%(date)s) is already recorded.") % {"date": recorded_death.isoformat()}
    elif visit.death_date and seen_alive and visit.death_date < seen_alive:
        errors["death_date"] = _("The patient was in contact alive on %(date)s, after this death date.") % {"date": seen_alive.isoformat()}
    if visit.event_date and (visit.event_date < patient.diagnosis_date or (visit.visit_date and visit.event_date > visit.visit_date)):
        errors["event_date"] = _("The relapse/progression date must fall between the diagnosis and the visit.")
    if visit.last_contact_date and visit.visit_date and visit.last_contact_date < visit.visit_date:
        errors["last_contact_date"] = _("The last contact cannot be before the visit itself.")
    elif visit.last_contact_date and visit.last_contact_date > today:
        errors["last_contact_date"] = _("The last contact date is in the future.")
    if errors:
        raise ApplicationError(next(iter(errors.values())), code="invalid", fields={k: [v] for k, v in errors.items()})


def _update_patient_from_visit(*, actor: User, patient: Patient, visit: FollowUpVisit) -> None:
    """Re-derive the last contact and the death from all recorded visits, so a correction can also undo a date."""
    before = snapshot(patient)
    done = list(FollowUpVisit.objects.filter(patient=patient, status=V.DONE))
    patient.last_contact_date = max((d for v in done for d in (v.visit_date, v.last_contact_date, v.death_date) if d),
                                    default=None)
    patient.death_date = min((v.death_date for v in done if v.vital_status == FollowUpVisit.VitalStatus.DEAD
                              and v.death_date), default=None)
    if snapshot(patient) == before:
        return
    patient.save(update_fields=["last_contact_date", "death_date", "updated_at"])
    audit_record(actor=actor, action="update", instance=patient, before=before, after=snapshot(patient),
                 reason=f"follow-up visit {visit.number}", hospital_id=patient.hospital_id)
    if patient.death_date and not before["death_date"]:
        cancelled = FollowUpVisit.objects.filter(patient=patient, status__in=FollowUpVisit.OPEN_STATUSES).update(
            status=V.CANCELLED)
        if cancelled:
            audit_record(actor=actor, action="cancel_visits", object_type="registry.followupvisit",
                         object_id=f"patient:{patient.pk}", after={"cancelled": cancelled, "why": "patient died"},
                         hospital_id=patient.hospital_id)
    elif before["death_date"] and not patient.death_date and patient.contact_withdrawn_on is None:
        # A death recorded in error: the visits its recording cancelled are expected again (the sweep re-marks them).
        reopened = FollowUpVisit.objects.filter(patient=patient, status=V.CANCELLED, target_date__isnull=False).update(
            status=V.SCHEDULED)
        if reopened:
            audit_record(actor=actor, action="reopen_visits", object_type="registry.followupvisit",
                         object_id=f"patient:{patient.pk}", after={"reopened": reopened, "why": "death corrected"},
                         reason=f"follow-up visit {visit.number}", hospital_id=patient.hospital_id)


@transaction.atomic
def followup_visit_record(*, actor: User, patient: Patient, data: dict[str, Any], visit: FollowUpVisit | None = None,
                          reason: str = "", today: date | None = None) -> FollowUpVisit:
    """Record an expected visit (or, with no visit given, an unscheduled one); correcting a done visit needs a reason."""
    today = today or timezone.localdate()
    unknown = set(data) - VISIT_FIELDS
    if unknown:
        raise ApplicationError(_("Unknown fields."), code="invalid", fields={k: [_("Unknown field.")] for k in sorted(unknown)})
    # In scope first: the checks below would otherwise tell an outsider about the patient (e.g. a death date).
    patient = Patient.objects.restrict(actor, Action.CHANGE).select_for_update().filter(pk=patient.pk).first()
    if patient is None:
        raise ApplicationError(_("This patient is not at one of your hospitals."), code="out_of_scope")
    if visit is None:
        last = FollowUpVisit.objects.filter(patient=patient).order_by("-number").values_list("number", flat=True).first()
        visit = FollowUpVisit(patient=patient, number=(last or 0) + 1)
    else:
        visit = FollowUpVisit.objects.select_for_update().get(pk=visit.pk, patient=patient)
    correcting = visit.status == V.DONE
    if correcting:
        reason = require_reason(reason)
    elif visit.status == V.CANCELLED:
        raise ApplicationError(_("This visit was cancelled and cannot be recorded."), code="visit_cancelled")
    before = snapshot(visit) if visit.pk else None
    for key, value in data.items():
        setattr(visit, key, value)
    _check_visit(patient, visit, today)
    require_consent(patient, on=visit.visit_date, action="follow-up entry")
    if patient.contact_withdrawn_on and visit.visit_date >= patient.contact_withdrawn_on:
        raise ApplicationError(_("Cannot accept follow-up entry: this patient withdrew from further contact on %(date)s.")
                               % {"date": patient.contact_withdrawn_on.isoformat()}, code="consent_missing")
    visit.status = V.DONE
    visit.recorded_by = actor
    visit.recorded_at = timezone.now()
    validate(visit)
    visit.save()
    ensure_in_scope(visit, user=actor, action=Action.CHANGE)
    audit_record(actor=actor, action="update" if correcting else "record", instance=visit, before=before,
                 after=snapshot(visit), reason=reason, hospital_id=patient.hospital_id)
    _update_patient_from_visit(actor=actor, patient=patient, visit=visit)
    return visit


@transaction.atomic
def followup_visit_mark_missed(*, actor: User, visit: FollowUpVisit, reason: str) -> FollowUpVisit:
    reason = require_reason(reason)
    visit = FollowUpVisit.objects.restrict(actor, Action.CHANGE).select_for_update().filter(pk=visit.pk).first()
    if visit is None:
        raise ApplicationError(_("This visit is not at one of your hospitals."), code="out_of_scope")
    if visit.status not in FollowUpVisit.OPEN_STATUSES:
        raise ApplicationError(_("Only an open visit can be marked missed (this one is %(status)s).")
                               % {"status": visit.get_status_display().lower()},
                               code="invalid_transition")
    before = snapshot(visit)
    visit.status, visit.missed_reason = V.MISSED, reason
    visit.save(update_fields=["status", "missed_reason"])
    ensure_in_scope(visit, user=actor, action=Action.CHANGE)
    audit_record(actor=actor, action="mark_missed", instance=visit, before=before, after=snapshot(visit),
                 reason=reason, hospital_id=visit.patient.hospital_id)
    return visit


@transaction.atomic
def followup_mark_statuses(*, today: date | None = None) -> dict[str, int]:
    """The daily sweep: open windows become due, closed windows overdue. Idempotent for a given day."""
    today = today or timezone.localdate()
    became_due = FollowUpVisit.objects.filter(status=V.SCHEDULED, window_start__lte=today, window_end__gte=today).update(
        status=V.DUE)
    became_overdue = FollowUpVisit.objects.filter(
        Q(status=V.SCHEDULED) | Q(status=V.DUE), window_end__lt=today).update(status=V.OVERDUE)
    counts = {"due": became_due, "overdue": became_overdue}
    if became_due or became_overdue:
        audit_record(actor=User.objects.get(username=SYSTEM_USERNAME), action="mark_statuses",
                     object_type="registry.followupvisit", object_id=today.isoformat(), after=counts)
    return counts
