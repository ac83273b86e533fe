"""Enrolment: the checks that must all pass, the subject number, the allocation and the visit schedule."""
from datetime import date, datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from registry.access import Action, ensure_in_scope
from registry.audit import audit_record, snapshot
from registry.consent_rules import consent_state
from registry.dates import age_years
from registry.errors import ApplicationError
from registry.models import ConsentRecord, ConsentScope, Patient, User
from registry.services.common import require_reason, validate
from trials.models import Arm, ScreeningRecord, Subject, Trial, TrialSite
from trials.services import randomisation
from trials.services.casebook import casebook_void
from trials.services.visits import generate_visits


def _refuse(message: str, code: str) -> ApplicationError:
    return ApplicationError(message, code=code)


def _check_consent(patient: Patient, trial: Trial, on: date) -> ConsentRecord:
    """A trial consent of this trial, valid on `on`, signed by a guardian (or the adult), with assent if now due."""
    state = consent_state(patient, on=on, scope=ConsentScope.TRIAL, trial_id=trial.pk)
    if not state.valid:
        # The registry's wording names the patient's study ID: say what is missing without it.
        if state.record is None:
            raise _refuse(_("Cannot enrol: no trial consent has been recorded for this patient."), "consent_missing")
        raise _refuse(_("Cannot enrol: the trial consent (version %(version)s) was withdrawn on %(date)s.")
                      % {"version": state.record.document.version, "date": state.record.withdrawal.withdrawn_on.isoformat()},
                      "consent_missing")
    record = state.record
    assert record is not None
    age = age_years(patient.birth_date, on)
    if record.signer == ConsentRecord.Signer.GUARDIAN:
        if not record.guardian1_relationship:
            raise _refuse(_("Cannot enrol: the trial consent carries no guardian signature."), "guardian_signature_missing")
        if age >= 18:
            raise _refuse(_("Cannot enrol: the patient is an adult now and must sign the trial consent personally."),
                          "adult_consent_due")
        # A child who was too young to assent at signing may have reached the document's assent age since.
        if age >= record.document.assent_age_years and record.assent != ConsentRecord.Assent.GIVEN:
            raise _refuse(_("Cannot enrol: the child is %(age)s and version %(version)s requires assent from age "
                            "%(assent_age)s; it was not given.")
                          % {"age": age, "version": record.document.version, "assent_age": record.document.assent_age_years},
                          "assent_missing")
    return record


def _fixed_arm(trial: Trial, arm: Arm | None) -> Arm | None:
    if trial.randomised:
        if arm is not None:
            raise ApplicationError(_("The arm of a randomised trial is allocated, not chosen."), code="invalid",
                                   fields={"arm": [_("Leave empty: the allocation decides.")]})
        return None
    arms = list(trial.arms.all())
    if arm is None:
        if len(arms) != 1:
            raise ApplicationError(_("Name the arm (cohort) this subject joins."), code="invalid",
                                   fields={"arm": [_("Required.")]})
        return arms[0]
    if arm.trial_id != trial.pk:
        raise ApplicationError(_("This arm belongs to another trial."), code="invalid",
                               fields={"arm": [_("Not an arm of this trial.")]})
    return arm


@transaction.atomic
def subject_enrol(*, actor: User, trial: Trial, site: TrialSite, patient: Patient, arm: Arm | None = None,
                  today: date | None = None, enrolled_at: datetime | None = None) -> Subject:
    """Enrol a screened, consented patient at an active site of a recruiting trial.

    A randomised trial allocates the arm here (never chosen by the caller); a fixed-arm trial takes its only arm,
    or the arm the caller names when it has several (e.g. dose-escalation cohorts). `enrolled_at` (default now)
    records an enrolment entered after the fact; every check is made as of its date.

    Each refusal names its reason (a distinct code). The trial row is locked first: subject numbers come from it,
    and a second enrolment of the same patient waits here and then finds the first.
    """
    now = timezone.now()
    enrolled_at = enrolled_at or now
    if enrolled_at > now:
        raise ApplicationError(_("The enrolment time is in the future."), code="invalid",
                               fields={"enrolled_at": [_("In the future.")]})
    today = today or timezone.localdate(enrolled_at)
    trial = Trial.objects.select_for_update().get(pk=trial.pk)
    if site.trial_id != trial.pk:
        raise ApplicationError(_("This site does not belong to the trial."), code="invalid",
                               fields={"site": [_("Not a site of this trial.")]})
    if patient.hospital_id != site.hospital_id:
        raise _refuse(_("Cannot enrol: the patient is registered at another hospital than this site."), "patient_not_at_site")
    if trial.status != Trial.Status.RECRUITING:
        raise _refuse(_("Cannot enrol: trial %(trial)s is %(status)s, not recruiting.")
                      % {"trial": trial.code, "status": trial.get_status_display().lower()}, "trial_not_recruiting")
    if not site.is_active_on(today):
        raise _refuse(_("Cannot enrol: site %(site)s of trial %(trial)s is not active.")
                      % {"site": site.site_number, "trial": trial.code}, "site_not_active")
    if Subject.objects.filter(trial=trial, patient=patient).exists():
        raise _refuse(_("Cannot enrol: the patient is already a subject of trial %(trial)s.") % {"trial": trial.code},
                      "already_enrolled")
    screening = (ScreeningRecord.objects.filter(trial=trial, site=site, patient=patient, screened_on__lte=today)
                 .order_by("-screened_on", "-id").first())
    if screening is None:
        raise _refuse(_("Cannot enrol: the patient has not been screened for this trial at this site."), "no_eligible_screening")
    if screening.outcome != ScreeningRecord.Outcome.ELIGIBLE:
        raise _refuse(_("Cannot enrol: the latest screening (%(date)s) was a screen failure (failed: %(criteria)s).")
                      % {"date": screening.screened_on.isoformat(), "criteria": ", ".join(screening.failed_criteria)},
                      "no_eligible_screening")
    consent = _check_consent(patient, trial, today)
    arm = _fixed_arm(trial, arm)

    trial.last_subject_number += 1
    trial.save(update_fields=["last_subject_number"])
    subject = Subject(
        trial=trial, site=site, patient=patient, subject_number=f"{trial.code}-{site.site_number}-{trial.last_subject_number:03d}",
        stratum=randomisation.stratum_of(trial, site, patient) if trial.randomised else "",
        enrolled_at=enrolled_at, enrolled_by=actor, screening=screening, consent=consent,
        protocol_version=screening.protocol_version,
    )
    subject.arm = arm
    validate(subject)
    subject.save()
    ensure_in_scope(subject, user=actor, action=Action.ADD)
    audit_record(actor=actor, action="enrol", instance=subject, after=snapshot(subject),
                 hospital_id=site.hospital_id, trial_id=trial.pk)
    if trial.randomised:
        subject.arm = randomisation.allocate(actor=actor, subject=subject)
        Subject.objects.filter(pk=subject.pk).update(arm=subject.arm)
    generate_visits(actor=actor, subject=subject)
    return subject


SUBJECT_TRANSITIONS = {Subject.Status.ENROLLED: frozenset({Subject.Status.COMPLETED, Subject.Status.WITHDRAWN})}


@transaction.atomic
def subject_status_change(*, actor: User, subject: Subject, to: str, reason: str) -> Subject:
    """End a subject's participation: completed (per protocol) or withdrawn; a conditional update, audited."""
    reason = require_reason(reason)
    subject = Subject.objects.restrict(actor, Action.CHANGE).select_related("site").filter(pk=subject.pk).first()
    if subject is None:
        raise ApplicationError(_("This subject is not one you may change."), code="out_of_scope")
    if to not in SUBJECT_TRANSITIONS.get(subject.status, frozenset()):
        raise ApplicationError(_("A subject cannot go from %(current)s to %(to)s.") % {"current": subject.status, "to": to},
                               code="invalid_transition")
    before = snapshot(subject)
    if Subject.objects.filter(pk=subject.pk, status=subject.status).update(status=to, updated_at=timezone.now()) != 1:
        raise ApplicationError(_("The subject's status was changed by someone else; reload and try again."), code="conflict")
    subject.refresh_from_db()
    audit_record(actor=actor, action="status", instance=subject, before=before, after=snapshot(subject), reason=reason,
                 hospital_id=subject.site.hospital_id, trial_id=subject.trial_id)
    casebook_void(actor=actor, subject=subject, reason=reason)
    return subject
