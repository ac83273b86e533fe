"""Part 11 style e-signatures, and the small API other apps' services call when they edit a signed record.

For the services of other apps (trials casebook, safety, registry): before saving an edit of a record
that may be signed, call

    reason = require_reason_if_signed(record, reason)      # refuses an edit without a reason when signed
    ... save the edit and audit it with `reason` ...
    void_for_edit(record, actor=actor, reason=reason)       # voids every valid signature, audited

A model may define `signature_content(self) -> dict` to say what its signature covers (an adverse
event signs its current version; a subject's casebook may include its visits and dosing); by default
the record's own fields, identifiers redacted, are signed.
"""
import hashlib
from typing import Any

from django.contrib.auth import authenticate
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, models, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from registry.access import Action, Rule, ensure_in_scope, reach
from registry.audit import audit_record, canonical_json, snapshot, to_json_value
from registry.errors import ApplicationError
from registry.models import User
from trials.oversight.models import Signature
from trials.oversight.services.records import record_location, visible_record

# Fields that change without anyone editing the record's content: not part of what is signed.
VOLATILE_FIELDS = frozenset({"updated_at", "modified_at", "last_modified"})


def signed_content(record: models.Model) -> dict[str, Any]:
    custom = getattr(record, "signature_content", None)
    content = custom() if callable(custom) else snapshot(record)
    return to_json_value({k: v for k, v in content.items() if k not in VOLATILE_FIELDS})


def content_hash(content: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()


def all_signatures(record: models.Model) -> models.QuerySet[Signature]:
    """Every signature of a record, newest first, voided ones included (a signed record shows its history)."""
    return Signature.objects.filter(content_type=ContentType.objects.get_for_model(record), object_id=record.pk)


def valid_signatures(record: models.Model) -> models.QuerySet[Signature]:
    return all_signatures(record).filter(status=Signature.Status.VALID)


def has_signed(*, signer: User, record: models.Model, meaning: str) -> bool:
    """Whether `signer` already holds a valid signature with this meaning on the record's current version."""
    return valid_signatures(record).filter(signer=signer, meaning=meaning).exists()


def may_sign(user: User, record: models.Model, *, meaning: str, hospital_id: int) -> bool:
    """What the pages ask before offering the Sign button: the signing rule at the record's hospital, and no valid
    signature of this user with this meaning yet (the service refuses a second one: already_signed)."""
    return reach(user, Rule.SIGN).covers(hospital_id=hospital_id) and not has_signed(signer=user, record=record, meaning=meaning)


def _already_signed() -> ApplicationError:
    return ApplicationError(_("You have already signed this version of the record with this meaning: your signature stands."),
                            code="already_signed")


def require_reason_if_signed(record: models.Model, reason: str) -> str:
    """The stripped reason; refused (reason_required) when the record carries a valid signature and no reason is given."""
    reason = (reason or "").strip()
    if not reason and record.pk is not None and valid_signatures(record).exists():
        raise ApplicationError(_("This record is signed: a reason is required to change it (the signature will be voided)."),
                               code="reason_required", fields={"reason": [_("Required: the record is signed.")]})
    return reason


def void_for_edit(record: models.Model, *, actor: User, reason: str) -> int:
    """Void every valid signature of `record` because it was edited; one audit event per voided signature."""
    now = timezone.now()
    voided = 0
    for signature in valid_signatures(record).select_for_update():
        before = snapshot(signature)
        signature.status, signature.voided_at, signature.voided_by = Signature.Status.VOIDED, now, actor
        signature.void_reason = reason
        signature.save(update_fields=["status", "voided_at", "voided_by", "void_reason"])
        audit_record(actor=actor, action="void_signature", instance=signature, before=before, after=snapshot(signature),
                     reason=reason, hospital_id=signature.hospital_id, trial_id=signature.trial_id)
        voided += 1
    return voided


def _password_ok(actor: User, password: str, request: HttpRequest | None) -> bool:
    """Re-check the password; through django-axes when there is a request, so failures count towards the lockout."""
    if request is None:
        return actor.check_password(password)
    return authenticate(request, username=actor.get_username(), password=password) is not None


def signature_sign(*, actor: User, content_type: ContentType, object_id: int, meaning: str, password: str,
                   request: HttpRequest | None = None) -> Signature:
    """Sign one record as its hospital's investigator, after re-entering the password.

    A refused password is audited and committed on its own (the signature attempt is evidence too), so
    this function is not one transaction: the check comes first, the signing is atomic.
    """
    record = visible_record(actor=actor, content_type=content_type, object_id=object_id)
    hospital_id, trial_id = record_location(record)
    if not reach(actor, Rule.SIGN).covers(hospital_id=hospital_id):
        raise ApplicationError(_("Only an investigator of this record's hospital can sign it."), code="not_allowed")
    if meaning not in Signature.Meaning.values:
        raise ApplicationError(_("Unknown signature meaning."), code="invalid", fields={"meaning": [_("Unknown meaning.")]})
    # Refused before the password is checked: a second signature is no failed attempt (it counts nothing towards the lockout).
    if has_signed(signer=actor, record=record, meaning=meaning):
        raise _already_signed()
    if not password or not _password_ok(actor, password, request):
        locked = bool(request is not None and getattr(request, "axes_locked_out", False))
        # The audit event stores fixed English words ("why"), never the refusal's message in the user's language.
        with transaction.atomic():
            audit_record(actor=actor, action="signature_refused", object_type=content_type.app_label + "." + content_type.model,
                         object_id=object_id, after={"meaning": meaning, "why": "locked out" if locked else "wrong password"},
                         hospital_id=hospital_id, trial_id=trial_id)
        if locked:
            raise ApplicationError(_("Too many failed attempts: signing is locked for a while."), code="locked_out")
        raise ApplicationError(_("The password is not correct: the record was not signed."), code="signature_refused",
                               fields={"password": [_("Incorrect password.")]})
    return _sign(actor=actor, record=record, content_type=content_type, meaning=meaning, hospital_id=hospital_id,
                 trial_id=trial_id)


@transaction.atomic
def _sign(*, actor: User, record: models.Model, content_type: ContentType, meaning: str, hospital_id: int,
          trial_id: int | None) -> Signature:
    # Lock the record, so no edit slips between reading the content and storing its hash.
    record = type(record)._default_manager.select_for_update().get(pk=record.pk)
    # Checked again under the record's lock: a concurrent signing of the same record by the same signer waits for the
    # lock above and then finds the first signature. The database constraint signature_valid_once holds either way.
    if has_signed(signer=actor, record=record, meaning=meaning):
        raise _already_signed()
    content = signed_content(record)
    printed_name = actor.get_full_name().strip() or actor.get_username()
    signature = Signature(content_type=content_type, object_id=record.pk, hospital_id=hospital_id, trial_id=trial_id,
                          signer=actor, printed_name=printed_name, signed_at=timezone.now(), meaning=meaning,
                          content=content, content_hash=content_hash(content))
    signature.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            signature.save()
    except IntegrityError as exc:
        raise _already_signed() from exc
    ensure_in_scope(signature, user=actor, action=Action.ADD)
    audit_record(actor=actor, action="sign", instance=signature, after=snapshot(signature, redact=("content",)),
                 hospital_id=hospital_id, trial_id=trial_id)
    return signature


def signature_matches_record(signature: Signature) -> bool:
    """Whether the record still holds the content that was signed (False also after edits outside the services)."""
    record = signature.record
    return record is not None and content_hash(signed_content(record)) == signature.content_hash
