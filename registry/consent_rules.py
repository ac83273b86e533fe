"""What counts as a valid consent, and which patients are due to consent again (pure reads, no writes)."""
from dataclasses import dataclass
from datetime import date

from django.db.models import BooleanField, Case, Exists, OuterRef, Q, QuerySet, Value, When

from registry.dates import adult_on
from registry.errors import ApplicationError
from registry.models import ConsentDocument, ConsentRecord, ConsentScope, ConsentWithdrawal, Patient


@dataclass(frozen=True)
class ConsentState:
    valid: bool
    record: ConsentRecord | None
    problem: str  # empty when valid; otherwise what is missing, in words for the user
    reconsent_due: bool
    adult_consent_due: bool


def _records(patient: Patient, scope: str, trial_id: int | None) -> QuerySet[ConsentRecord]:
    return (ConsentRecord.objects.filter(patient=patient, document__scope=scope, document__trial_id=trial_id)
            .select_related("document", "withdrawal").order_by("-signed_date", "-id"))


def reconsent_document(on: date, scope: str = ConsentScope.REGISTRY, trial_id: int | None = None) -> ConsentDocument | None:
    """The newest in-force version that requires active participants to sign again, if any."""
    return (ConsentDocument.objects.filter(scope=scope, trial_id=trial_id, requires_reconsent=True, effective_from__lte=on)
            .filter(Q(effective_to__isnull=True) | Q(effective_to__gte=on)).order_by("-effective_from").first())


def consent_state(patient: Patient, *, on: date, scope: str = ConsentScope.REGISTRY,
                  trial_id: int | None = None) -> ConsentState:
    what = "registry" if scope == ConsentScope.REGISTRY else "trial"
    latest = _records(patient, scope, trial_id).filter(signed_date__lte=on).first()
    if latest is None:
        return ConsentState(False, None, f"no {what} consent has been recorded for {patient.study_id}", False, False)
    withdrawal: ConsentWithdrawal | None = getattr(latest, "withdrawal", None)
    if withdrawal is not None and withdrawal.withdrawn_on <= on:
        return ConsentState(
            False, latest,
            f"the {what} consent of {patient.study_id} (version {latest.document.version}) was withdrawn on "
            f"{withdrawal.withdrawn_on.isoformat()} ({withdrawal.get_scope_display().lower()})", False, False,
        )
    newer = reconsent_document(on, scope, trial_id)
    reconsent = bool(newer and newer.effective_from > latest.document.effective_from and patient.is_followed)
    adult = (patient.is_followed and adult_on(patient.birth_date) <= on
             and not _records(patient, scope, trial_id).filter(signer=ConsentRecord.Signer.PARTICIPANT).exists())
    return ConsentState(True, latest, "", reconsent, adult)


def require_consent(patient: Patient, *, on: date, action: str, scope: str = ConsentScope.REGISTRY,
                    trial_id: int | None = None) -> ConsentRecord:
    """Refuse `action` (e.g. "follow-up entry") unless a consent of the right scope is valid on `on`."""
    state = consent_state(patient, on=on, scope=scope, trial_id=trial_id)
    if not state.valid:
        raise ApplicationError(f"Cannot accept {action}: {state.problem}.", code="consent_missing")
    assert state.record is not None
    return state.record


def annotate_consent(patients: QuerySet[Patient], *, on: date) -> QuerySet[Patient]:
    """Add has_registry_consent, reconsent_due and adult_consent_due to a patient queryset (one query)."""
    active = ConsentRecord.objects.filter(patient=OuterRef("pk"), document__scope=ConsentScope.REGISTRY,
                                          signed_date__lte=on).exclude(withdrawal__withdrawn_on__lte=on)
    qs = patients.annotate(has_registry_consent=Exists(active))
    newer = reconsent_document(on)
    followed = Q(death_date__isnull=True, contact_withdrawn_on__isnull=True)
    if newer is not None:
        signed_newer = active.filter(document__effective_from__gte=newer.effective_from)
        qs = qs.annotate(signed_current=Exists(signed_newer))
        reconsent = Q(has_registry_consent=True, signed_current=False) & followed
    else:
        reconsent = Q(pk__in=[])
    adult_signed = Exists(active.filter(signer=ConsentRecord.Signer.PARTICIPANT))
    adult_cutoff = date(on.year - 18, on.month, 28 if (on.month, on.day) == (2, 29) else on.day)
    qs = qs.annotate(adult_signed=adult_signed)
    adult = Q(birth_date__lte=adult_cutoff, adult_signed=False) & followed
    return qs.annotate(
        reconsent_due=Case(When(reconsent, then=Value(True)), default=Value(False), output_field=BooleanField()),
        adult_consent_due=Case(When(adult, then=Value(True)), default=Value(False), output_field=BooleanField()),
    )
