"""The registry's worklist groups (registry/worklist_sources.py): follow-up visits overdue and due, consents to renew.

Users of the patient's hospital only (restrict(CHANGE)), so the items name the patient by registry study ID. A family
that asked for no further contact is not to be called, even for an overdue visit; nor the family of a child who died.
"""
from datetime import date
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from registry.access import Action
from registry.consent_rules import annotate_consent
from registry.models import FollowUpVisit, Patient, User
from registry.worklist_sources import Listing, WorkItem, register_worklist_group

VISIT_FIELDS = ("pk", "patient_id", "patient__study_id", "patient__hospital__code", "target_date", "number")


def _visits(user: User, status: str, kind: str) -> Listing:
    rows = (FollowUpVisit.objects.restrict(user, Action.CHANGE)
            .filter(status=status, patient__contact_withdrawn_on__isnull=True, patient__death_date__isnull=True)
            .order_by("window_end", "patient__study_id", "pk").values(*VISIT_FIELDS))

    def item(r: dict[str, Any]) -> WorkItem:
        return WorkItem(kind, r["patient_id"], r["patient__study_id"], r["patient__hospital__code"], r["target_date"],
                        r["pk"], r["number"])

    return Listing(rows, item)


@register_worklist_group("visit_overdue", _("Follow-up visits overdue"), rank=30)
def visits_overdue(user: User, on: date) -> Listing:
    return _visits(user, FollowUpVisit.Status.OVERDUE, "visit_overdue")


@register_worklist_group("visit_due", _("Follow-up visits due"), rank=31)
def visits_due(user: User, on: date) -> Listing:
    return _visits(user, FollowUpVisit.Status.DUE, "visit_due")


def _consents(user: User, on: date, flag: str) -> Listing | None:
    patients = Patient.objects.restrict(user, Action.CHANGE)
    if patients.query.is_empty():  # no patient to act on: not even the consent documents' query
        return None
    rows: QuerySet[Any] = (annotate_consent(patients, on=on)
                           .filter(Q(**{flag: True})).order_by("study_id").values("pk", "study_id", "hospital__code"))

    def item(r: dict[str, Any]) -> WorkItem:
        return WorkItem(flag, r["pk"], r["study_id"], r["hospital__code"], None)

    return Listing(rows, item)


@register_worklist_group("reconsent_due", _("Re-consents due"), rank=70)
def reconsents(user: User, on: date) -> Listing | None:
    return _consents(user, on, "reconsent_due")


@register_worklist_group("adult_consent_due", _("Adult consents due"), rank=71)
def adult_consents(user: User, on: date) -> Listing | None:
    return _consents(user, on, "adult_consent_due")
