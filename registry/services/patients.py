"""Registering patients and changing their clinical data and identity."""
from collections.abc import Mapping
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from registry import identity_crypto
from registry.access import Action, ensure_in_scope, reach
from registry.audit import REDACTED, audit_record, snapshot
from registry.dates import months_between
from registry.errors import ApplicationError
from registry.models import Hospital, Patient, PatientIdentity, StudyIdCounter, User
from registry.services.common import apply_changes, audited_save, require_reason, validate
from registry.services.followup import followup_schedule_generate

IDENTITY_FIELDS = ("name", "record_number", "national_id", "guardian1_name", "guardian1_phone",
                   "guardian2_name", "guardian2_phone")
CLINICAL_FIELDS = frozenset({
    "sex", "birth_date", "birth_date_precision", "diagnosis_date", "primary_site", "inrgss_stage", "inss_stage",
    "inrg_risk", "cog_risk", "mycn", "aberration_11q", "ploidy", "histology",
})


def require_hospital_scope(*, actor: User, hospital: Hospital, action: Action, model: type) -> None:
    """Refuse a write at a hospital where the actor's role does not allow it (before anything is written)."""
    if reach(actor, action, model).covers(hospital_id=hospital.pk):
        return
    raise ApplicationError(_("Your role does not allow this at this hospital."), code="out_of_scope",
                           fields={"hospital": [_("Not one of your hospitals for this action.")]})


def _check_dates(*, birth_date: date, diagnosis_date: date, today: date) -> None:
    errors: dict[str, list[str]] = {}
    if birth_date > today:
        errors["birth_date"] = [_("The date of birth is in the future.")]
    if diagnosis_date > today:
        errors["diagnosis_date"] = [_("The diagnosis date is in the future.")]
    if diagnosis_date < birth_date:
        errors["diagnosis_date"] = [_("The diagnosis date is before the date of birth.")]
    if errors:
        raise ApplicationError(next(iter(errors.values()))[0], code="invalid", fields=errors)


def _first_of_month_if_month_precision(patient: Patient) -> None:
    """With month precision only the year and month are known; the model stores the 1st of that month.

    A day typed anyway must not count: it would shift the age at diagnosis (born "March 2019" is 18 months
    old at any date in September 2020) and could put the birth after a diagnosis in the same month.
    """
    if patient.birth_date_precision == Patient.BirthDatePrecision.MONTH and isinstance(patient.birth_date, date):
        patient.birth_date = patient.birth_date.replace(day=1)


def _clean_identity(identity: Mapping[str, Any]) -> dict[str, str]:
    unknown = set(identity) - set(IDENTITY_FIELDS)
    if unknown:
        raise ApplicationError(_("Unknown identity fields."), code="invalid",
                               fields={k: [_("Unknown field.")] for k in sorted(unknown)})
    cleaned = {k: str(identity.get(k) or "").strip() for k in IDENTITY_FIELDS}
    missing = [k for k in ("name", "record_number") if not cleaned[k]]
    if missing:
        raise ApplicationError(_("The name and hospital record number are required."), code="invalid",
                               fields={k: [_("This field is required.")] for k in missing})
    return cleaned


def _refuse_duplicate(hospital: Hospital, record_hash: str, *, exclude_pk: int | None = None) -> None:
    existing = Patient.objects.filter(hospital=hospital, record_number_hash=record_hash).exclude(pk=exclude_pk).first()
    if existing is not None:
        raise ApplicationError(
            _("This hospital record number is already registered at this hospital as %(study_id)s.")
            % {"study_id": existing.study_id},
            code="duplicate_patient", fields={"record_number": [_("Already registered as %(study_id)s.") % {"study_id": existing.study_id}]},
        )


def next_study_id(hospital: Hospital) -> str:
    """Hospital code + sequence; the counter row is locked, so a number is issued once and never reused."""
    counter, _ = StudyIdCounter.objects.select_for_update().get_or_create(hospital=hospital)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return f"{hospital.code}-{counter.last_number:05d}"


@transaction.atomic
def patient_register(
    *, actor: User, hospital: Hospital, identity: Mapping[str, Any], today: date | None = None, **clinical: Any
) -> Patient:
    today = today or timezone.localdate()
    unknown = set(clinical) - CLINICAL_FIELDS
    if unknown:
        raise ApplicationError(_("Unknown fields."), code="invalid", fields={k: [_("Unknown field.")] for k in sorted(unknown)})
    require_hospital_scope(actor=actor, hospital=hospital, action=Action.ADD, model=Patient)
    ident = _clean_identity(identity)
    record_hash = identity_crypto.record_number_hash(hospital.code, ident["record_number"])
    _refuse_duplicate(hospital, record_hash)
    if not (clinical.get("birth_date") and clinical.get("diagnosis_date")):
        raise ApplicationError(_("The date of birth and the diagnosis date are required."), code="invalid",
                               fields={k: [_("This field is required.")] for k in ("birth_date", "diagnosis_date")
                                       if not clinical.get(k)})
    patient = Patient(hospital=hospital, record_number_hash=record_hash, **clinical)
    _first_of_month_if_month_precision(patient)
    _check_dates(birth_date=patient.birth_date, diagnosis_date=patient.diagnosis_date, today=today)
    patient.age_at_diagnosis_months = months_between(patient.birth_date, patient.diagnosis_date)
    patient.study_id = "pending"  # replaced below; validation must not consume a number for a rejected patient
    validate(patient, exclude=["study_id"])
    patient.study_id = next_study_id(hospital)
    try:
        with transaction.atomic():
            patient.save()
    except IntegrityError as exc:  # a concurrent registration of the same record number
        raise ApplicationError(_("This hospital record number is already registered at this hospital."),
                               code="duplicate_patient", fields={"record_number": [_("Already registered.")]}) from exc
    ensure_in_scope(patient, user=actor, action=Action.ADD)
    audit_record(actor=actor, action="create", instance=patient, after=snapshot(patient), hospital_id=hospital.pk)
    stored = PatientIdentity.objects.create(patient=patient, ciphertext=identity_crypto.encrypt(ident))
    audit_record(actor=actor, action="create", instance=stored, after={"patient_id": patient.pk, "identity": REDACTED},
                 hospital_id=hospital.pk)
    followup_schedule_generate(actor=actor, patient=patient)
    return patient


@transaction.atomic
def patient_update(*, actor: User, patient: Patient, data: Mapping[str, Any], reason: str,
                   today: date | None = None) -> Patient:
    reason = require_reason(reason)
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    before = snapshot(patient)
    changed = apply_changes(patient, data, allowed=CLINICAL_FIELDS)
    _first_of_month_if_month_precision(patient)
    if not changed or snapshot(patient) == before:
        return patient
    _check_dates(birth_date=patient.birth_date, diagnosis_date=patient.diagnosis_date, today=today or timezone.localdate())
    patient.age_at_diagnosis_months = months_between(patient.birth_date, patient.diagnosis_date)
    audited_save(patient, actor=actor, action="update", before=before, reason=reason)
    return patient


@transaction.atomic
def identity_update(*, actor: User, patient: Patient, changes: Mapping[str, Any], reason: str) -> None:
    """Correct identifiers. The trail records which fields changed, never their values."""
    reason = require_reason(reason)
    stored = PatientIdentity.objects.restrict(actor, Action.CHANGE).select_for_update().filter(patient=patient).first()
    if stored is None:
        raise ApplicationError(_("You cannot change this patient's identity."), code="out_of_scope")
    current = identity_crypto.decrypt(stored.ciphertext)
    merged = _clean_identity({**current, **changes})
    changed = sorted(k for k in IDENTITY_FIELDS if merged[k] != current.get(k, ""))
    if not changed:
        return
    if "record_number" in changed:
        patient = Patient.objects.select_for_update().get(pk=patient.pk)
        new_hash = identity_crypto.record_number_hash(patient.hospital.code, merged["record_number"])
        _refuse_duplicate(patient.hospital, new_hash, exclude_pk=patient.pk)
        try:
            with transaction.atomic():
                Patient.objects.filter(pk=patient.pk).update(record_number_hash=new_hash)
        except IntegrityError as exc:  # the same number registered concurrently
            raise ApplicationError(_("This hospital record number is already registered at this hospital."),
                                   code="duplicate_patient", fields={"record_number": [_("Already registered.")]}) from exc
    stored.ciphertext = identity_crypto.encrypt(merged)
    stored.save(update_fields=["ciphertext", "updated_at"])
    audit_record(actor=actor, action="update", instance=stored, before={"fields": changed},
                 after={"fields": changed, "values": REDACTED}, reason=reason, hospital_id=patient.hospital_id)


@transaction.atomic
def patient_find_by_record_number(*, actor: User, record_number: str) -> list[Patient]:
    """The patients with this hospital record number, at the hospitals whose identities the actor reads (own-hospital
    staff: PatientIdentity's VIEW map; not a role held at every hospital, a monitor or a trial role).

    There is no plaintext column to search: the number is hashed as at registration (the platform's PATIENT_HASH_KEY
    with each such hospital's code) and compared with the stored keyed hash. The number itself is never stored,
    logged or written to the audit trail; each patient found is recorded as an identity lookup (who found whom).
    """
    number = identity_crypto.normalise_record_number(record_number or "")
    if not number:
        message = _("Enter a hospital record number.")
        raise ApplicationError(message, code="invalid", fields={"record_number": [message]})
    identities = PatientIdentity.objects.restrict(actor, Action.VIEW)
    codes = Hospital.objects.filter(pk__in=identities.values("patient__hospital")).values_list("code", flat=True)
    wanted = [identity_crypto.record_number_hash(code, number) for code in codes]
    if not wanted:
        return []
    found = list(Patient.objects.filter(record_number_hash__in=wanted, identity__in=identities)
                 .select_related("hospital").order_by("study_id"))
    # A hash is per hospital (its code is hashed in), so a match at one hospital is that hospital's number; the
    # identity filter above keeps the match inside the actor's own hospitals.
    for patient in found:
        audit_record(actor=actor, action="find_by_record_number", instance=patient, hospital_id=patient.hospital_id)
    return found


@transaction.atomic
def identity_read(*, actor: User, patient: Patient) -> dict[str, str]:
    """Decrypt an identity for own-hospital staff; every read is recorded (who looked at whom, not what)."""
    stored = PatientIdentity.objects.restrict(actor, Action.VIEW).filter(patient=patient).first()
    if stored is None:
        raise ApplicationError(_("Identity not available to you."), code="not_found")
    audit_record(actor=actor, action="view_identity", instance=stored, hospital_id=patient.hospital_id)
    return identity_crypto.decrypt(stored.ciphertext)
