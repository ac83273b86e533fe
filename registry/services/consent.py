"""Consent documents, signed consents and withdrawals, and the downloads of their stored files."""
from datetime import date
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models.fields.files import FieldFile
from django.utils import timezone
from django.utils.translation import gettext as _

from registry.access import Action, Rule, ensure_in_scope, may
from registry.audit import audit_record, snapshot
from registry.dates import adult_on, age_years
from registry.errors import ApplicationError
from registry.models import ConsentDocument, ConsentRecord, ConsentScope, ConsentWithdrawal, FollowUpVisit, Patient, User
from registry.services.common import validate
from registry.services.files import file_download


@transaction.atomic
def consent_document_create(*, actor: User, pdf: UploadedFile | None = None, **fields: Any) -> ConsentDocument:
    if not may(actor, Rule.PUBLISH_CONSENT_DOCUMENTS):
        raise ApplicationError(_("Only data managers publish consent documents."), code="not_allowed")
    document = ConsentDocument(**fields)
    if pdf is not None:
        document.pdf.save(pdf.name, pdf, save=False)
    validate(document)
    document.save()
    audit_record(actor=actor, action="create", instance=document, after=snapshot(document), trial_id=document.trial_id)
    return document


@transaction.atomic
def consent_record_create(
    *, actor: User, patient: Patient, document: ConsentDocument, assent: str, signed_date: date,
    signer: str = ConsentRecord.Signer.GUARDIAN, guardian1_relationship: str = "", guardian2_relationship: str = "",
    witnessed_by: str = "", signature_page: UploadedFile | None = None, today: date | None = None,
) -> ConsentRecord:
    """Record a signed consent; refuse it when it would not be valid (dates, guardian, assent, adult signer), naming
    every problem at once (each next to its field).

    A child at or above the document's assent age either gives assent or refuses it; a refusal is recorded (assent
    "refused", audited like any consent) and the consent is then not valid (registry.consent_rules): the child's
    refusal is respected, whatever the guardians signed.
    """
    today = today or timezone.localdate()
    errors: dict[str, list[str]] = {}

    def fail(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if signed_date > today:
        fail("signed_date", _("The signature date is in the future."))
    if signed_date < patient.birth_date:
        fail("signed_date", _("The signature date is before the date of birth."))
    if signed_date < document.effective_from or (document.effective_to and signed_date > document.effective_to):
        fail("document", _("Version %(version)s was not in force on %(date)s.")
             % {"version": document.version, "date": signed_date.isoformat()})
    age = age_years(patient.birth_date, signed_date)
    if signer == ConsentRecord.Signer.PARTICIPANT:
        if signed_date < adult_on(patient.birth_date):
            fail("signer", _("The participant was %(age)s on that date; a participant signs from age 18.") % {"age": age})
        assent = ConsentRecord.Assent.NOT_APPLICABLE
    else:
        if signed_date >= adult_on(patient.birth_date):
            fail("signer", _("The participant was %(age)s on that date: an adult signs their own consent.") % {"age": age})
        if not guardian1_relationship:
            fail("guardian1_relationship", _("The signing guardian's relationship to the child is required."))
        if age >= document.assent_age_years and assent not in (ConsentRecord.Assent.GIVEN, ConsentRecord.Assent.REFUSED):
            fail("assent", _("The child was %(age)s at signing: assent is required from age %(assent_age)s under "
                             "version %(version)s (record it as given or refused).")
                 % {"age": age, "assent_age": document.assent_age_years, "version": document.version})
    if errors:
        raise ApplicationError(next(iter(errors.values()))[0], code="invalid", fields=errors)
    # Two submissions of the same consent at once (a double click, a client's retry): the patient's row is locked, so
    # the second waits for the first to commit and is refused here, before any file is stored, rather than tripping
    # the unique constraint (consent_record_once_per_version) with a server error.
    Patient.objects.select_for_update().get(pk=patient.pk)
    if ConsentRecord.objects.filter(patient=patient, document=document).exists():
        message = _("This patient has already signed version %(version)s.") % {"version": document.version}
        raise ApplicationError(message, code="already_signed", fields={"document": [message]})
    record = ConsentRecord(
        patient=patient, document=document, signer=signer, guardian1_relationship=guardian1_relationship,
        guardian2_relationship=guardian2_relationship, assent=assent, signed_date=signed_date,
        witnessed_by=witnessed_by, recorded_by=actor,
    )
    if signature_page is not None:
        record.signature_page.save(signature_page.name, signature_page, save=False)
    validate(record)
    record.save()
    ensure_in_scope(record, user=actor, action=Action.ADD)
    audit_record(actor=actor, action="create", instance=record, after=snapshot(record), hospital_id=patient.hospital_id,
                 trial_id=document.trial_id)
    return record


@transaction.atomic
def consent_withdraw(*, actor: User, consent: ConsentRecord, withdrawn_on: date, scope: str, reason: str,
                     today: date | None = None) -> ConsentWithdrawal:
    """Withdraw a consent. Nothing is deleted: registry withdrawals stop contact (and, by scope, data use)."""
    today = today or timezone.localdate()
    # Locked, since a registry withdrawal sets the patient's dates; and in the actor's scope before anything is
    # said about this consent (the messages below name the patient).
    patient = Patient.objects.restrict(actor, Action.CHANGE).select_for_update().filter(pk=consent.patient_id).first()
    if patient is None:
        raise ApplicationError(_("This consent is not at one of your hospitals."), code="out_of_scope")
    errors: dict[str, list[str]] = {}  # every problem of the input at once, each next to its field
    if not reason.strip():
        errors["reason"] = [_("A reason for the withdrawal is required.")]
    if withdrawn_on > today:
        errors["withdrawn_on"] = [_("The withdrawal date is in the future.")]
    elif withdrawn_on < consent.signed_date:
        errors["withdrawn_on"] = [_("The withdrawal date is before the consent was signed.")]
    if errors:
        raise ApplicationError(next(iter(errors.values()))[0], code="invalid", fields=errors)
    if ConsentWithdrawal.objects.filter(consent=consent).exists():
        raise ApplicationError(_("This consent has already been withdrawn."), code="already_withdrawn")
    if consent.document.scope == ConsentScope.REGISTRY:
        # A registry withdrawal is the patient's, whichever signed version it is recorded against: a second one
        # (against another version) would move the dates set by the first and reopen follow-up in between.
        earlier = (ConsentWithdrawal.objects
                   .filter(consent__patient=patient, consent__document__scope=ConsentScope.REGISTRY)
                   .order_by("withdrawn_on").first())
        if earlier is not None:
            raise ApplicationError(_("This patient already withdrew from the registry on %(date)s.")
                                   % {"date": earlier.withdrawn_on.isoformat()}, code="already_withdrawn")
    # Consent is judged on the latest signed version (consent_rules.consent_state): withdrawing an older one would
    # leave the patient "consented" there while the patient's own dates say withdrawn.
    latest = (ConsentRecord.objects.filter(patient=patient, document__scope=consent.document.scope,
                                           document__trial_id=consent.document.trial_id)
              .select_related("document").order_by("-signed_date", "-id").first())
    if latest is not None and latest.pk != consent.pk:
        message = (_("Version %(version)s, signed on %(date)s, replaces this consent: record the withdrawal against it.")
                   % {"version": latest.document.version, "date": latest.signed_date.isoformat()})
        raise ApplicationError(message, code="superseded", fields={"consent": [message]})
    withdrawal = ConsentWithdrawal(consent=consent, withdrawn_on=withdrawn_on, scope=scope, reason=reason.strip(),
                                   recorded_by=actor)
    validate(withdrawal)
    withdrawal.save()
    ensure_in_scope(withdrawal, user=actor, action=Action.ADD)
    audit_record(actor=actor, action="withdraw", instance=withdrawal, after=snapshot(withdrawal),
                 reason=reason.strip(), hospital_id=patient.hospital_id, trial_id=consent.document.trial_id)
    if consent.document.scope == ConsentScope.REGISTRY:
        _apply_registry_withdrawal(actor=actor, patient=patient, withdrawal=withdrawal)
    return withdrawal


def _apply_registry_withdrawal(*, actor: User, patient: Patient, withdrawal: ConsentWithdrawal) -> None:
    before = snapshot(patient)
    patient.contact_withdrawn_on = withdrawal.withdrawn_on
    if withdrawal.scope == ConsentWithdrawal.Scope.WITHDRAW_DATA_USE:
        patient.data_use_withdrawn_on = withdrawal.withdrawn_on
    patient.save(update_fields=["contact_withdrawn_on", "data_use_withdrawn_on", "updated_at"])
    audit_record(actor=actor, action="update", instance=patient, before=before, after=snapshot(patient),
                 reason="consent withdrawn", hospital_id=patient.hospital_id)
    cancelled = FollowUpVisit.objects.filter(
        patient=patient, status__in=FollowUpVisit.OPEN_STATUSES, target_date__gte=withdrawal.withdrawn_on
    ).update(status=FollowUpVisit.Status.CANCELLED)
    if cancelled:
        audit_record(actor=actor, action="cancel_visits", object_type="registry.followupvisit",
                     object_id=f"patient:{patient.pk}", after={"cancelled": cancelled, "why": "consent withdrawn"},
                     hospital_id=patient.hospital_id)


@transaction.atomic
def consent_signature_page_download(*, actor: User, record: ConsentRecord) -> FieldFile:
    """The scanned signature page to send, after recording who pulled which file (with its SHA-256) in the audit trail.

    It shows the guardians' names and signatures: staff holding a role at the patient's own hospital only
    (Rule.READ_SIGNED_CONSENT); anyone else is told it is not there, as for a record out of scope.
    """
    if not may(actor, Rule.READ_SIGNED_CONSENT, record):
        raise ApplicationError(_("This consent is not at one of your hospitals."), code="out_of_scope")
    return file_download(actor=actor, instance=record, field="signature_page", action="consent_page_download",
                         missing=_("No signature page was scanned for this consent."),
                         hospital_id=record.patient.hospital_id, trial_id=record.document.trial_id)


@transaction.atomic
def consent_document_pdf_download(*, actor: User, document: ConsentDocument) -> FieldFile:
    """The approved form's PDF, for anyone who may see the document, after recording the download in the audit trail."""
    if not may(actor, Action.VIEW, document):
        raise ApplicationError(_("There is no such consent document."), code="out_of_scope")
    return file_download(actor=actor, instance=document, field="pdf", action="consent_document_download",
                         missing=_("No PDF was published with version %(version)s.") % {"version": document.version},
                         trial_id=document.trial_id)
