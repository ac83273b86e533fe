"""The sponsor's assessment of a serious adverse event: expectedness and causality, which decide a SUSAR."""
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from registry.access import Action
from registry.audit import audit_record, snapshot
from registry.errors import ApplicationError
from registry.models import User
from trials.safety.ae_form import RELATED, Expectedness
from trials.safety.models import AdverseEvent, ReportingClock
from trials.safety.services.clocks import SUSAR_KINDS, is_sponsor_of, start_susar_clock_if_needed
from trials.safety.services.common import fail, location


@transaction.atomic
def adverse_event_sponsor_assess(*, actor: User, event: AdverseEvent, expectedness: str, causality: str,
                                 sponsor_awareness_at: datetime | None = None, reason: str = "") -> AdverseEvent:
    """Serious + unexpected + at least possibly related = SUSAR, which starts the regulators' clock.

    Day 0 is the sponsor's first awareness: given here, or the time the site's report was recorded, or now. It
    cannot move once a SUSAR clock runs from it. A re-assessment needs a reason; one that makes the event no
    longer a SUSAR cancels its open clock (visible, audited).
    """
    now = timezone.now()
    event = AdverseEvent.objects.restrict(actor, Action.VIEW).select_for_update().filter(pk=event.pk).first()
    if event is None:
        raise ApplicationError(_("This adverse event is not in your trials."), code="out_of_scope")
    if not is_sponsor_of(actor, event):
        raise ApplicationError(_("Only the trial's sponsor makes the sponsor's assessment."), code="not_allowed")
    if not event.is_serious:
        raise ApplicationError(_("The sponsor assesses serious adverse events only."), code="not_serious")
    reason = (reason or "").strip()
    if event.sponsor_assessed_at is not None and not reason:
        raise fail("reason", _("This event was already assessed: a reason is required to change the assessment."))
    has_clock = event.clocks.filter(kind__in=SUSAR_KINDS).exists()
    if sponsor_awareness_at is not None and sponsor_awareness_at != event.sponsor_awareness_at:
        if has_clock:
            raise fail("sponsor_awareness_at", _("Day 0 of the running SUSAR clock cannot move."))
        if sponsor_awareness_at > now:
            raise fail("sponsor_awareness_at", _("The awareness time is in the future."))
        assert event.site_awareness_at is not None
        if sponsor_awareness_at < event.site_awareness_at:
            raise fail("sponsor_awareness_at", _("The sponsor cannot have known before the site."))
        event.sponsor_awareness_at = sponsor_awareness_at
    elif event.sponsor_awareness_at is None:
        event.sponsor_awareness_at = now
    before = snapshot(event)
    was_susar = event.is_susar
    event.sponsor_expectedness, event.sponsor_causality = expectedness, causality
    event.sponsor_assessed_at, event.sponsor_assessed_by = now, actor
    event.is_susar = expectedness == Expectedness.UNEXPECTED and causality in RELATED
    event.full_clean()
    event.save()
    hospital_id, trial_id = location(event)
    audit_record(actor=actor, action="sponsor_assess", instance=event, before=before, after=snapshot(event),
                 reason=reason, hospital_id=hospital_id, trial_id=trial_id)
    if event.is_susar:
        start_susar_clock_if_needed(actor=actor, event=event)
    elif was_susar:
        for clock in event.clocks.filter(kind__in=SUSAR_KINDS, status=ReportingClock.Status.OPEN):
            clock_before = snapshot(clock)
            clock.status, clock.about_to_lapse = ReportingClock.Status.CANCELLED, False
            clock.save(update_fields=["status", "about_to_lapse"])
            audit_record(actor=actor, action="cancel_clock", instance=clock, before=clock_before, after=snapshot(clock),
                         reason=reason, hospital_id=hospital_id, trial_id=trial_id)
    return event
