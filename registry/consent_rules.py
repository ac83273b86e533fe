"""What counts as a valid consent, and which patients are due to consent again (pure reads, no writes)."""
from dataclasses import dataclass
from datetime import date

from django.db.models import BooleanField, Case, Exists, OuterRef, Q, QuerySet, Subquery, Value, When
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from registry.dates import adult_on, latest_adult_birth
from registry.errors import ApplicationError
from registry.models import ConsentDocument, ConsentRecord, ConsentScope, ConsentWithdrawal, Patient


@dataclass(frozen=True)
class ConsentState:
    valid: bool
    record: ConsentRecord | None
    problem: str  # empty when valid; otherwise what is missing, in words for the user (never the patient's study ID)
    reconsent_due: bool
    adult_consent_due: bool


def _records(patient: Patient, scope: str, trial_id: int | None) -> QuerySet[ConsentRecord]:
    return (ConsentRecord.objects.filter(patient=patient, document__scope=scope, document__trial_id=trial_id)
            .select_related("document", "withdrawal").order_by("-signed_date", "-id"))


def reconsent_document(on: date, scope: str = ConsentScope.REGISTRY, trial_id: int | None = None) -> ConsentDocument | None:
    """The newest in-force version that requires active participants to sign again, if any."""
    return (ConsentDocument.objects.filter(scope=scope, trial_id=trial_id, requires_reconsent=True, effective_from__lte=on)
            .filter(Q(effective_to__isnull=True) | Q(effective_to__gte=on)).order_by("-effective_from").first())


def _latest(patient: Patient, on: date, scope: str, trial_id: int | None) -> ConsentRecord | None:
    """The newest consent of the scope signed by `on`, with its document and withdrawal (one query)."""
    return _records(patient, scope, trial_id).filter(signed_date__lte=on).first()


def _problem(latest: ConsentRecord | None, *, on: date, scope: str) -> str:
    """Why no consent of the scope is valid on `on` (empty when one is): decided by the newest record alone."""
    registry = scope == ConsentScope.REGISTRY
    if latest is None:
        return (_("no registry consent has been recorded for this patient") if registry
                else _("no trial consent has been recorded for this patient"))
    withdrawal: ConsentWithdrawal | None = getattr(latest, "withdrawal", None)
    if withdrawal is not None and withdrawal.withdrawn_on <= on:
        words = {"version": latest.document.version, "date": withdrawal.withdrawn_on.isoformat(),
                 "scope": withdrawal.get_scope_display().lower()}
        problem = (_("the registry consent of this patient (version %(version)s) was withdrawn on %(date)s (%(scope)s)")
                   if registry else
                   _("the trial consent of this patient (version %(version)s) was withdrawn on %(date)s (%(scope)s)"))
        return problem % words
    if latest.assent == ConsentRecord.Assent.REFUSED:
        # The guardians signed but the child refused: the child's refusal is respected (no data, no images, no trial).
        words = {"version": latest.document.version, "date": latest.signed_date.isoformat()}
        problem = (_("the child refused assent to the registry consent (version %(version)s, %(date)s)") if registry else
                   _("the child refused assent to the trial consent (version %(version)s, %(date)s)"))
        return problem % words
    return ""


def consent_state(patient: Patient, *, on: date, scope: str = ConsentScope.REGISTRY,
                  trial_id: int | None = None) -> ConsentState:
    latest = _latest(patient, on, scope, trial_id)
    problem = _problem(latest, on=on, scope=scope)
    if problem:
        return ConsentState(False, latest, problem, False, False)
    assert latest is not None
    newer = reconsent_document(on, scope, trial_id)
    reconsent = bool(newer and newer.effective_from > latest.document.effective_from and patient.is_followed)
    # Only a participant's own signature given by `on` (and not withdrawn by then) answers adulthood.
    signed_as_adult = (_records(patient, scope, trial_id)
                       .filter(signer=ConsentRecord.Signer.PARTICIPANT, signed_date__lte=on)
                       .exclude(withdrawal__withdrawn_on__lte=on).exists())
    adult = patient.is_followed and adult_on(patient.birth_date) <= on and not signed_as_adult
    return ConsentState(True, latest, "", reconsent, adult)


# The actions callers name (here and in imaging), so that the refusal can name them in the request's language.
ACTIONS = (gettext_noop("follow-up entry"), gettext_noop("image upload"))


def require_consent(patient: Patient, *, on: date, action: str, scope: str = ConsentScope.REGISTRY,
                    trial_id: int | None = None) -> ConsentRecord:
    """Refuse `action` (e.g. "follow-up entry") unless a consent of the right scope is valid on `on`.

    One query: validity is decided by the newest record alone (consent_state's first answer); whether a re-consent or
    an adult's own consent is due does not refuse anything, so it is not asked here.
    """
    latest = _latest(patient, on, scope, trial_id)
    problem = _problem(latest, on=on, scope=scope)
    if problem:
        raise ApplicationError(_("Cannot accept %(action)s: %(problem)s.") % {"action": _(action), "problem": problem},
                               code="consent_missing")
    assert latest is not None
    return latest


def annotate_consent(patients: QuerySet[Patient], *, on: date) -> QuerySet[Patient]:
    """Add has_registry_consent, reconsent_due and adult_consent_due to a patient queryset (one query)."""
    signed = ConsentRecord.objects.filter(patient=OuterRef("pk"), document__scope=ConsentScope.REGISTRY, signed_date__lte=on)
    active = signed.exclude(withdrawal__withdrawn_on__lte=on)
    # As consent_state: the latest version signed by `on` decides; an older, never withdrawn version does not keep
    # a patient "consented" after the current one was withdrawn.
    qs = patients.annotate(registry_consent_latest=Subquery(signed.order_by("-signed_date", "-id").values("pk")[:1]))
    current = (ConsentRecord.objects.filter(pk=OuterRef("registry_consent_latest")).exclude(withdrawal__withdrawn_on__lte=on)
               .exclude(assent=ConsentRecord.Assent.REFUSED))
    qs = qs.annotate(has_registry_consent=Exists(current))
    newer = reconsent_document(on)
    followed = Q(death_date__isnull=True, contact_withdrawn_on__isnull=True)
    if newer is not None:
        signed_newer = current.filter(document__effective_from__gte=newer.effective_from)
        qs = qs.annotate(signed_current=Exists(signed_newer))
        reconsent = Q(has_registry_consent=True, signed_current=False) & followed
    else:
        reconsent = Q(pk__in=[])
    adult_signed = Exists(active.filter(signer=ConsentRecord.Signer.PARTICIPANT))
    qs = qs.annotate(adult_signed=adult_signed)
    # As in consent_state: only a patient with a valid consent can be due to renew it as an adult.
    adult = Q(has_registry_consent=True, birth_date__lte=latest_adult_birth(on), adult_signed=False) & followed
    return qs.annotate(
        reconsent_due=Case(When(reconsent, then=Value(True)), default=Value(False), output_field=BooleanField()),
        adult_consent_due=Case(When(adult, then=Value(True)), default=Value(False), output_field=BooleanField()),
    )
