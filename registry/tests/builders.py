"""Builders for service tests: valid defaults, written through the services (so they are audited).

Unlike factories.py, these go through `patient_register`, `consent_record_create` and friends, so a test
arranges data exactly the way the application writes it. Every date is fixed and in the past, so the
tests do not depend on the day they run; pass `today=` to a service where "the future" matters.
"""
import itertools
from collections.abc import Mapping
from datetime import date
from typing import Any

from django.http import HttpResponse
from django.test import Client

from registry.dates import age_years
from registry.models import (
    AuditEvent,
    ConsentDocument,
    ConsentRecord,
    ConsentWithdrawal,
    FollowUpVisit,
    Hospital,
    Patient,
    PatientIdentity,
    StudyIdCounter,
    User,
)
from registry.models.people import SYSTEM_USERNAME
from registry.services.consent import consent_document_create, consent_record_create
from registry.services.followup import followup_visit_record
from registry.services.patients import patient_register

_numbers = itertools.count(1)

CLINICAL_DEFAULTS: Mapping[str, Any] = {
    "sex": "F",
    "birth_date": date(2019, 3, 15),
    "birth_date_precision": "day",
    "diagnosis_date": date(2020, 9, 15),
    "primary_site": "adrenal",
    "inrgss_stage": "M",
    "inrg_risk": "high",
    "mycn": "amplified",
    "aberration_11q": "no",
    "ploidy": "diploid",
    "histology": "unfavourable",
}


def system_user() -> User:
    return User.objects.get(username=SYSTEM_USERNAME)


def identity(**overrides: str) -> dict[str, str]:
    """A fresh, unique identity (record numbers never collide between calls)."""
    n = next(_numbers)
    data = {"name": f"Zhang Xiaoming {n}", "record_number": f"MRN-{n:07d}", "guardian1_name": f"Zhang Wei {n}",
            "guardian1_phone": f"1390000{n:04d}"}
    data.update(overrides)
    return data


def make_patient(actor: User, hospital: Hospital, *, ident: Mapping[str, Any] | None = None,
                 today: date | None = None, **overrides: Any) -> Patient:
    """Register a patient through `patient_register` with valid defaults; any clinical field may be overridden."""
    clinical = {**CLINICAL_DEFAULTS, **overrides}
    return patient_register(actor=actor, hospital=hospital, identity=dict(ident) if ident else identity(),
                            today=today, **clinical)


def make_document(*, actor: User | None = None, version: str = "1.0", effective_from: date = date(2010, 1, 1),
                  **overrides: Any) -> ConsentDocument:
    """A registry consent document, published by the system user unless an actor is given."""
    fields: dict[str, Any] = {
        "scope": "registry", "version": version, "title": f"Registry consent v{version}",
        "ethics_approval_number": f"EC-{version}", "ethics_approval_date": effective_from,
        "effective_from": effective_from,
    }
    fields.update(overrides)
    return consent_document_create(actor=actor or system_user(), **fields)


def default_document() -> ConsentDocument:
    return ConsentDocument.objects.filter(scope="registry", version="1.0").first() or make_document()


def make_registry_consent(actor: User, patient: Patient, *, document: ConsentDocument | None = None,
                          signed_date: date | None = None, today: date | None = None, **overrides: Any) -> ConsentRecord:
    """A guardian-signed registry consent, by default on the diagnosis date, with assent as the age requires."""
    document = document or default_document()
    signed_date = signed_date or patient.diagnosis_date
    if "assent" not in overrides:
        old_enough = age_years(patient.birth_date, signed_date) >= document.assent_age_years
        overrides["assent"] = ConsentRecord.Assent.GIVEN if old_enough else ConsentRecord.Assent.NOT_APPLICABLE
    if overrides.get("signer", ConsentRecord.Signer.GUARDIAN) == ConsentRecord.Signer.GUARDIAN:
        overrides.setdefault("guardian1_relationship", ConsentRecord.Relationship.MOTHER)
    return consent_record_create(actor=actor, patient=patient, document=document, signed_date=signed_date,
                                 today=today, **overrides)


def consented_patient(actor: User, hospital: Hospital, **overrides: Any) -> Patient:
    patient = make_patient(actor, hospital, **overrides)
    make_registry_consent(actor, patient)
    return patient


def visit(patient: Patient, number: int) -> FollowUpVisit:
    return FollowUpVisit.objects.get(patient=patient, number=number)


def record_visit(actor: User, patient: Patient, number: int | None, *, reason: str = "", today: date | None = None,
                 **data: Any) -> FollowUpVisit:
    """Record scheduled visit `number` (or an unscheduled one with number=None); alive by default."""
    data.setdefault("vital_status", FollowUpVisit.VitalStatus.ALIVE)
    target = None if number is None else visit(patient, number)
    if "visit_date" not in data and target is not None:
        data["visit_date"] = target.target_date
    return followup_visit_record(actor=actor, patient=patient, visit=target, data=data, reason=reason, today=today)


def refresh(patient: Patient) -> Patient:
    return Patient.objects.get(pk=patient.pk)


def last_seq() -> int:
    last = AuditEvent.objects.order_by("-seq").first()
    return last.seq if last else 0


def events_after(seq: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(seq__gt=seq).order_by("seq"))


def counts() -> dict[str, int]:
    """Row counts of everything a registry write can touch: compare before/after to prove nothing was written."""
    return {
        "patients": Patient.objects.count(), "identities": PatientIdentity.objects.count(),
        "visits": FollowUpVisit.objects.count(), "consents": ConsentRecord.objects.count(),
        "withdrawals": ConsentWithdrawal.objects.count(), "events": AuditEvent.objects.count(),
        "numbers": sum(StudyIdCounter.objects.values_list("last_number", flat=True)),
    }


def client_of(user: User) -> Client:
    """A test client signed in as `user` (the page tests' way in)."""
    client = Client()
    client.force_login(user)
    return client


def text(response: HttpResponse) -> str:
    return response.content.decode()
