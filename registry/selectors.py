"""Reads. Every function returns a queryset already restricted to the user (never .objects.all())."""
from django.db.models import QuerySet

from registry.access import Action
from registry.models import AuditEvent, Hospital, HospitalMembership, Job, User


def hospital_list(*, user: User, action: Action = Action.VIEW) -> QuerySet[Hospital]:
    return Hospital.objects.restrict(user, action)


def membership_list(*, user: User, action: Action = Action.VIEW) -> QuerySet[HospitalMembership]:
    return HospitalMembership.objects.restrict(user, action).select_related("user", "hospital")


def audit_event_list(*, user: User) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.restrict(user, Action.VIEW)


def job_list(*, user: User) -> QuerySet[Job]:
    return Job.objects.restrict(user, Action.VIEW).select_related("requested_by")
