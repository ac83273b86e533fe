"""Reads. Every function returns a queryset already restricted to the user (never .objects.all())."""
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Min, Q, QuerySet
from django.utils import timezone

from registry import worklist_sources
from registry.access import Action
from registry.consent_rules import annotate_consent
from registry.models import (
    AuditEvent,
    ConsentDocument,
    ConsentRecord,
    FollowUpVisit,
    Hospital,
    HospitalMembership,
    Job,
    Patient,
    User,
)


def hospital_list(*, user: User, action: Action = Action.VIEW) -> QuerySet[Hospital]:
    return Hospital.objects.restrict(user, action)


def membership_list(*, user: User, action: Action = Action.VIEW) -> QuerySet[HospitalMembership]:
    return HospitalMembership.objects.restrict(user, action).select_related("user", "hospital")


def audit_event_list(*, user: User) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.restrict(user, Action.VIEW)


def job_list(*, user: User) -> QuerySet[Job]:
    return Job.objects.restrict(user, Action.VIEW).select_related("requested_by")


def patient_list(*, user: User, on: date | None = None) -> QuerySet[Patient]:
    """Patients in the user's scope, with consent flags (has_registry_consent, reconsent_due, adult_consent_due)."""
    on = on or timezone.localdate()
    return annotate_consent(Patient.objects.restrict(user, Action.VIEW).select_related("hospital"), on=on)


def patients_for_research(*, user: User, on: date) -> QuerySet[Patient]:
    """What reports and exports may use: in scope, and no withdrawal of data use by `on`."""
    return Patient.objects.restrict(user, Action.VIEW).usable_for_research(on)


def consent_record_list(*, user: User) -> QuerySet[ConsentRecord]:
    return ConsentRecord.objects.restrict(user, Action.VIEW).select_related("patient", "document", "withdrawal")


def consent_document_list(*, user: User) -> QuerySet[ConsentDocument]:
    return ConsentDocument.objects.restrict(user, Action.VIEW)


def visit_list(*, user: User) -> QuerySet[FollowUpVisit]:
    return FollowUpVisit.objects.restrict(user, Action.VIEW).select_related("patient")


@dataclass(frozen=True)
class Outcome:
    """Survival times from diagnosis, in days, with the event flag (False = censored at last contact)."""

    patient_id: int
    study_id: str
    os_days: int
    os_event: bool
    efs_days: int
    efs_event: bool


EFS_EVENT_STATUSES = ("PD", "relapse")


def outcomes(patients: QuerySet[Patient]) -> list[Outcome]:
    """OS (death from any cause) and EFS (relapse, progression or death), censored at last contact."""
    rows = patients.annotate(
        first_event=Min("visits__event_date", filter=Q(visits__status=FollowUpVisit.Status.DONE)),
        first_event_visit=Min("visits__visit_date", filter=Q(visits__disease_status__in=EFS_EVENT_STATUSES)),
    ).values_list("pk", "study_id", "diagnosis_date", "death_date", "last_contact_date", "first_event", "first_event_visit")
    result = []
    for pk, study_id, dx, death, contact, event, event_visit in rows:
        end = death or contact or dx
        efs_date = min(d for d in (event, event_visit, death) if d) if (event or event_visit or death) else end
        result.append(Outcome(pk, study_id, (end - dx).days, death is not None, (efs_date - dx).days,
                              bool(event or event_visit or death)))
    return result


@dataclass(frozen=True)
class WorkItem:
    """One thing to do. Registry items (visit_due | visit_overdue | reconsent_due | adult_consent_due) name the
    patient by study ID (their users are of the patient's hospital); items of other apps (registry/worklist_sources.py)
    leave patient_id/study_id empty and say what to do in `title`, with `link` the API URL of the object."""
    kind: str
    patient_id: int | None
    study_id: str
    hospital_code: str
    due_date: date | None
    visit_id: int | None = None
    visit_number: int | None = None
    title: str = ""
    link: str = ""
    due_at: datetime | None = None


def worklist(*, user: User, on: date | None = None) -> list[WorkItem]:
    """What this user has to do: at their hospitals, overdue and due visits and consents to renew; then the items of
    every registered source (SAE clocks, trial tasks, imaging...), each limited to the user's scope and roles."""
    on = on or timezone.localdate()
    visits = (FollowUpVisit.objects.restrict(user, Action.CHANGE)
              .filter(status__in=[FollowUpVisit.Status.OVERDUE, FollowUpVisit.Status.DUE])
              # A family that asked for no further contact is not to be called, even for an overdue visit.
              .filter(patient__contact_withdrawn_on__isnull=True, patient__death_date__isnull=True)
              .select_related("patient__hospital").order_by("window_end", "patient__study_id"))
    items = [WorkItem("visit_overdue" if v.status == FollowUpVisit.Status.OVERDUE else "visit_due", v.patient_id,
                      v.patient.study_id, v.patient.hospital.code, v.target_date, v.pk, v.number) for v in visits]
    flagged = (annotate_consent(Patient.objects.restrict(user, Action.CHANGE), on=on)
               .filter(Q(reconsent_due=True) | Q(adult_consent_due=True)).select_related("hospital").order_by("study_id"))
    for p in flagged:
        if p.reconsent_due:
            items.append(WorkItem("reconsent_due", p.pk, p.study_id, p.hospital.code, None))
        if p.adult_consent_due:
            items.append(WorkItem("adult_consent_due", p.pk, p.study_id, p.hospital.code, None))
    for source in worklist_sources.sources().values():
        items.extend(source(user, on))
    return items
