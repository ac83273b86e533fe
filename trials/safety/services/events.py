"""Adverse events: the initial report, follow-up reports (new versions, never overwrites), the sponsor's assessment.

The report's fields and checks are declared in trials/safety/ae_form.py; this module applies them and does what a
report sets off: the site's clock for a serious event, the SUSAR clock, and for a grade 5 event the death in the
registry through the registry's follow-up service.
"""
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from registry.access import Action, ensure_in_scope
from registry.audit import audit_record, snapshot
from registry.errors import ApplicationError
from registry.models import FollowUpVisit, User
from registry.services.followup import followup_visit_record
from trials.models import Subject
from trials.oversight.services.signatures import require_reason_if_signed, void_for_edit
from trials.safety import ae_form
from trials.safety.models import AdverseEvent, AdverseEventVersion
from trials.safety.services.clocks import start_site_clock, start_susar_clock_if_needed
from trials.safety.services.common import location
from trials.services.casebook import casebook_void


def _facts(subject: Subject, *, today: date, now: datetime) -> ae_form.Facts:
    return ae_form.Facts(birth_date=subject.patient.birth_date, consent_date=subject.consent.signed_date, today=today, now=now)


def _registry_death(*, actor: User, event: AdverseEvent, version: AdverseEventVersion) -> None:
    """Grade 5: record the death in the registry through its follow-up service (which re-derives vital status).

    A different death date already in the registry refuses the report. When the registry consent does not allow
    a follow-up entry (a trial-only participant), the trial still records its event; the skipped registry update
    is audited (without the registry's message, which names the patient).
    """
    patient = event.subject.patient
    if patient.death_date == version.death_date:
        return
    data = {"visit_date": version.death_date, "vital_status": FollowUpVisit.VitalStatus.DEAD,
            "death_date": version.death_date, "death_cause": f"CTCAE {version.term}"[:200]}
    try:
        with transaction.atomic():
            followup_visit_record(actor=actor, patient=patient, data=data, today=timezone.localdate())
    except ApplicationError as exc:
        if exc.code != "consent_missing":
            raise ApplicationError(_("The registry refused the death date: %(problem)s") % {"problem": exc.message},
                                   code=exc.code, fields={"death_date": [exc.message]}) from exc
        hospital_id, trial_id = location(event)
        audit_record(actor=actor, action="registry_death_not_recorded", instance=event,
                     after={"why": "no registry consent for follow-up entry"}, hospital_id=hospital_id, trial_id=trial_id)


def _save_version(*, actor: User, event: AdverseEvent, version: AdverseEventVersion, reason: str, action: str,
                  before: dict[str, Any] | None) -> None:
    version.full_clean()
    version.save()
    ensure_in_scope(version, user=actor, action=Action.ADD)
    event.current_version = version
    event.is_serious, event.grade = version.is_serious, version.grade
    if version.is_serious and event.site_awareness_at is None:
        event.site_awareness_at = version.site_awareness_at
    event.save()
    hospital_id, trial_id = location(event)
    audit_record(actor=actor, action=action, instance=version, before=before, after=snapshot(version), reason=reason,
                 hospital_id=hospital_id, trial_id=trial_id)


def _unknown(data: dict[str, Any]) -> None:
    unknown = sorted(set(data) - ae_form.ENTERED_NAMES)
    if unknown:
        raise ApplicationError(_("Unknown fields: %(fields)s") % {"fields": ", ".join(unknown)}, code="invalid",
                               fields={k: [_("Unknown field.")] for k in unknown})


@transaction.atomic
def adverse_event_report(*, actor: User, subject: Subject, data: dict[str, Any], today: date | None = None,
                         now: datetime | None = None) -> AdverseEvent:
    """The initial report of a new event (version 1); a serious one starts the site's 24-hour clock."""
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    _unknown(data)
    # In scope first, as someone who may enter the subject's data (sponsors and monitors may not), locked so two
    # reports of one subject do not take the same number.
    subject = Subject.objects.restrict(actor, Action.CHANGE).select_for_update().select_related("patient", "consent") \
        .filter(pk=subject.pk).first()
    if subject is None:
        raise ApplicationError(_("This subject is not in your hospitals and trials."), code="out_of_scope")
    last = AdverseEvent.objects.filter(subject=subject).order_by("-number").values_list("number", flat=True).first()
    event = AdverseEvent(subject=subject, number=(last or 0) + 1, created_by=actor)
    version = AdverseEventVersion(version_number=1, recorded_by=actor, recorded_at=now, reason="initial report", **data)
    ae_form.check_report(version, _facts(subject, today=today, now=now))
    event.full_clean(exclude=["current_version"])
    event.save()
    ensure_in_scope(event, user=actor, action=Action.ADD)
    hospital_id, trial_id = location(event)
    audit_record(actor=actor, action="create", instance=event, after=snapshot(event), hospital_id=hospital_id,
                 trial_id=trial_id)
    version.event = event
    _save_version(actor=actor, event=event, version=version, reason="initial report", action="report", before=None)
    if version.is_serious:
        start_site_clock(actor=actor, event=event)
    if version.grade == 5:
        _registry_death(actor=actor, event=event, version=version)
    # A safety report is never held up by a signed casebook (its clocks run); the casebook signature is voided.
    casebook_void(actor=actor, subject=subject, reason="adverse event reported after the casebook was signed")
    return event


@transaction.atomic
def adverse_event_follow_up(*, actor: User, event: AdverseEvent, data: dict[str, Any], reason: str = "",
                            today: date | None = None, now: datetime | None = None) -> AdverseEvent:
    """A follow-up report: a new version from the current one with `data` changed. A signed event needs a reason,
    and the investigator's signature is voided (the new content was not signed)."""
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    _unknown(data)
    event = AdverseEvent.objects.restrict(actor, Action.CHANGE).select_for_update().filter(pk=event.pk).first()
    if event is None:
        raise ApplicationError(_("This adverse event is not one you may report on."), code="out_of_scope")
    reason = require_reason_if_signed(event, reason)
    previous = event.current_version
    assert previous is not None
    version = AdverseEventVersion(
        event=event, version_number=previous.version_number + 1, recorded_by=actor, recorded_at=now,
        reason=reason or "follow-up report", **ae_form.carried_over(previous, data))
    # An event's CTCAE version is the one it was first graded with; follow-ups keep it.
    version.ctcae_version = previous.ctcae_version
    subject = Subject.objects.select_related("patient", "consent").get(pk=event.subject_id)
    ae_form.check_report(version, _facts(subject, today=today, now=now))
    ae_form.check_follow_up(previous, version)
    void_for_edit(event, actor=actor, reason=reason or "follow-up report")
    _save_version(actor=actor, event=event, version=version, reason=reason, action="follow_up",
                  before=snapshot(previous))
    if version.is_serious and not previous.is_serious:
        start_site_clock(actor=actor, event=event)
    elif version.is_serious:
        start_susar_clock_if_needed(actor=actor, event=event)  # e.g. a follow-up that makes a SUSAR fatal
    if version.grade == 5 and previous.grade != 5:
        _registry_death(actor=actor, event=event, version=version)
    casebook_void(actor=actor, subject=subject, reason=reason or "adverse event follow-up after the casebook was signed")
    return event
