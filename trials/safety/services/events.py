"""Adverse events: the initial report, follow-up reports (new versions, never overwrites), the sponsor's assessment.

Rules (clinical.md, CTCAE v5.0, ICH E2A):
- the term is a CTCAE term of the stored version; a grade the term does not have is refused; "Other, specify"
  terms need the specify text;
- grade 5 <=> outcome fatal <=> seriousness criterion "results in death", with a death date; a grade 5 event
  records the death in the registry through the registry's follow-up service;
- serious when any of the six criteria holds; a serious event needs the site's awareness time, which starts
  the 24-hour clock;
- dates: onset not before birth or the trial consent, not in the future; resolution and death not before
  onset, not in the future; awareness not before the onset date, not in the future.
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
from trials.safety import ctcae
from trials.safety.models import AdverseEvent, AdverseEventVersion
from trials.safety.models.events import SERIOUSNESS_CRITERIA, Outcome
from trials.safety.services.clocks import start_site_clock, start_susar_clock_if_needed
from trials.safety.services.common import fail, location
from trials.services.casebook import casebook_void

# What a report (initial or follow-up) may set; a follow-up starts from the previous version and changes some.
REPORT_FIELDS = frozenset({
    "meddra_code", "other_specify", "onset_date", "resolution_date", "grade", *(name for name, _ in SERIOUSNESS_CRITERIA),
    "relatedness", "expectedness", "action_taken", "outcome", "death_date", "site_awareness_at",
})
REQUIRED_FIELDS = ("meddra_code", "onset_date", "grade", "relatedness", "expectedness", "action_taken", "outcome")
RESOLVED = frozenset({Outcome.RECOVERED, Outcome.SEQUELAE})


def _check(version: AdverseEventVersion, subject: Subject, *, today: date, now: datetime) -> None:
    """Every rule a report must satisfy; the first broken one is refused with its field named."""
    missing = [name for name in REQUIRED_FIELDS if getattr(version, name) in (None, "")]
    if missing:
        raise ApplicationError(_("Required: %(fields)s.") % {"fields": ", ".join(missing)}, code="invalid",
                               fields={name: [_("This field is required.")] for name in missing})
    term = ctcae.term_for(version.meddra_code, version.ctcae_version)
    version.term, version.soc = term.term, term.soc
    version.other_specify = (version.other_specify or "").strip()
    if term.needs_specify and not version.other_specify:
        raise fail("other_specify", _("\"%(term)s\" needs the event named in the specify text.") % {"term": term.term})
    if not term.needs_specify and version.other_specify:
        raise fail("other_specify", _("Only an \"Other, specify\" term takes a specify text."))
    ctcae.check_grade(term, version.grade)
    patient = subject.patient
    onset = version.onset_date
    if onset > today:
        raise fail("onset_date", _("The onset date is in the future."))
    if onset < patient.birth_date:
        raise fail("onset_date", _("The onset date is before the date of birth."))
    if onset < subject.consent.signed_date:
        raise fail("onset_date", _("The onset date is before the trial consent was signed (AEs are collected from consent)."))
    if version.resolution_date is not None:
        if version.resolution_date < onset:
            raise fail("resolution_date", _("The resolution date is before the onset date."))
        if version.resolution_date > today:
            raise fail("resolution_date", _("The resolution date is in the future."))
    fatal = version.outcome == Outcome.FATAL
    if version.grade == 5 and not fatal:
        raise fail("outcome", _("Grade 5 (death related to the AE) requires the outcome \"fatal\"."))
    if fatal and version.grade != 5:
        raise fail("grade", _("A fatal outcome is grade 5 in CTCAE."))
    if fatal != version.serious_death:
        raise fail("serious_death", _("The criterion \"results in death\" goes with a fatal outcome, and only with it."))
    if fatal:
        if version.death_date is None:
            raise fail("death_date", _("A grade 5 event requires the date of death."))
        if version.death_date < onset:
            raise fail("death_date", _("The date of death is before the onset date."))
        if version.death_date > today:
            raise fail("death_date", _("The date of death is in the future."))
        if version.resolution_date not in (None, version.death_date):
            raise fail("resolution_date", _("A fatal event ends on the date of death."))
    elif version.death_date is not None:
        raise fail("death_date", _("A date of death goes only with a fatal outcome."))
    elif version.outcome in RESOLVED and version.resolution_date is None:
        raise fail("resolution_date", _("A resolved event needs its resolution date."))
    elif version.outcome not in RESOLVED and version.resolution_date is not None:
        raise fail("outcome", _("An event with a resolution date is resolved (with or without sequelae)."))
    version.is_serious = any(getattr(version, name) for name, _ in SERIOUSNESS_CRITERIA)
    if version.is_serious:
        aware = version.site_awareness_at
        if aware is None:
            raise fail("site_awareness_at", _("A serious event needs the date and time the site became aware of it."))
        if aware > now:
            raise fail("site_awareness_at", _("The awareness time is in the future."))
        if timezone.localdate(aware) < onset:
            raise fail("site_awareness_at", _("The site cannot have been aware before the onset date."))
    elif version.site_awareness_at is not None:
        raise fail("site_awareness_at", _("An awareness time is recorded for serious events only."))


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
    unknown = sorted(set(data) - REPORT_FIELDS)
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
    _check(version, subject, today=today, now=now)
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
    if data.get("meddra_code") not in (None, previous.meddra_code) and "other_specify" not in data:
        data = {**data, "other_specify": ""}
    version = AdverseEventVersion(
        event=event, version_number=previous.version_number + 1, recorded_by=actor, recorded_at=now,
        reason=reason or "follow-up report",
        **{name: getattr(previous, name) for name in REPORT_FIELDS if name not in data}, **data)
    # An event's CTCAE version is the one it was first graded with; follow-ups keep it.
    version.ctcae_version = previous.ctcae_version
    subject = Subject.objects.select_related("patient", "consent").get(pk=event.subject_id)
    _check(version, subject, today=today, now=now)
    if previous.is_serious and not version.is_serious:
        raise fail("serious_other_important", _("An event reported serious stays serious: its reporting clocks have run."))
    if previous.is_serious and version.site_awareness_at != previous.site_awareness_at:
        raise fail("site_awareness_at", _("The site's awareness time is fixed once reported: it started the 24-hour clock."))
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
