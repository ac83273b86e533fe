"""Starting, meeting and sweeping the SAE reporting clocks (due times: trials/safety/deadlines.py)."""
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from registry.access import Action, Rule, reach
from registry.audit import audit_record, snapshot
from registry.errors import ApplicationError
from registry.models import User
from registry.models.people import SYSTEM_USERNAME
from trials.safety import deadlines
from trials.safety.models import AdverseEvent, ReportingClock
from trials.safety.services.common import fail, location

K, S = ReportingClock.Kind, ReportingClock.Status
SUSAR_KINDS = (K.SUSAR_7D, K.SUSAR_15D)  # the initial reports to the regulators, counted from the sponsor's day 0
# ICH E2A (1994) section III.A.1: a fatal or life-threatening unexpected ADR is reported within 7 calendar days,
# "followed by as complete a report as possible within 8 additional calendar days". Counted, as the brief and the
# EU guidance (CT-3, 2011/C 172/01, section 7.2.3.1) read it, from the 7-day report: day 0 is its local date.
FOLLOW_UP_DAYS = 8


def _create(*, actor: User, event: AdverseEvent, kind: str, started_at: datetime, due_at: datetime) -> ReportingClock:
    now = timezone.now()
    clock = ReportingClock(event=event, kind=kind, started_at=started_at, due_at=due_at)
    if due_at <= now:  # entered after its due time: late from the start
        clock.status, clock.lapsed_at = S.LATE, now
    clock.full_clean()
    clock.save()
    hospital_id, trial_id = location(event)
    audit_record(actor=actor, action="start_clock", instance=clock, after=snapshot(clock), hospital_id=hospital_id,
                 trial_id=trial_id)
    return clock


def start_site_clock(*, actor: User, event: AdverseEvent) -> ReportingClock:
    assert event.site_awareness_at is not None
    return _create(actor=actor, event=event, kind=K.SITE_24H, started_at=event.site_awareness_at,
                   due_at=deadlines.site_report_due(event.site_awareness_at))


def is_fatal_or_life_threatening(event: AdverseEvent) -> bool:
    version = event.current_version
    return bool(version and (version.serious_death or version.serious_life_threatening))


UPGRADE_REASON = "Follow-up made the SUSAR fatal or life-threatening: the 7-day clock from the same day 0 replaces the 15-day clock."


def start_susar_clock_if_needed(*, actor: User, event: AdverseEvent) -> ReportingClock | None:
    """A SUSAR without a regulators' clock gets one: 7 days if fatal or life-threatening, else 15, from day 0 =
    the sponsor's awareness. An existing clock keeps its day 0; a 15-day clock not yet reported is upgraded when
    the event becomes fatal or life-threatening (see `_upgrade_to_seven_days`)."""
    if not event.is_susar:
        return None
    existing = {clock.kind: clock for clock in event.clocks.filter(kind__in=SUSAR_KINDS)}
    if existing:
        return _upgrade_to_seven_days(actor=actor, event=event, fifteen=existing.get(K.SUSAR_15D)) if K.SUSAR_7D not in existing else None
    assert event.sponsor_awareness_at is not None
    kind = K.SUSAR_7D if is_fatal_or_life_threatening(event) else K.SUSAR_15D
    due = deadlines.susar_report_due(event.sponsor_awareness_at, days=deadlines.SUSAR_DAYS[kind])
    return _create(actor=actor, event=event, kind=kind, started_at=event.sponsor_awareness_at, due_at=due)


def _upgrade_to_seven_days(*, actor: User, event: AdverseEvent, fifteen: ReportingClock | None) -> ReportingClock | None:
    """Fatal or life-threatening SUSARs are reported within 7 days of the sponsor's first awareness, however late the
    information came: the 15-day clock (unreported) is cancelled with a reason and a 7-day clock counted from the
    same day 0 starts (late from the start if day 7 has passed). Both steps audited. Nothing changes when the
    15-day report was already sent or the 7-day deadline would not be earlier."""
    if fifteen is None or fifteen.reported_at is not None or fifteen.status == S.CANCELLED:
        return None
    if not is_fatal_or_life_threatening(event):
        return None
    day0 = fifteen.started_at
    due = deadlines.susar_report_due(day0, days=deadlines.SUSAR_DAYS[K.SUSAR_7D])
    if due >= fifteen.due_at:
        return None
    before = snapshot(fifteen)
    fifteen.status, fifteen.about_to_lapse = S.CANCELLED, False
    fifteen.save(update_fields=["status", "about_to_lapse"])
    hospital_id, trial_id = location(event)
    audit_record(actor=actor, action="cancel_clock", instance=fifteen, before=before, after=snapshot(fifteen),
                 reason=UPGRADE_REASON, hospital_id=hospital_id, trial_id=trial_id)
    return _create(actor=actor, event=event, kind=K.SUSAR_7D, started_at=day0, due_at=due)


def start_follow_up_clock(*, actor: User, seven_day: ReportingClock) -> ReportingClock:
    """The complete follow-up report after a 7-day SUSAR report: due by the end of local day 8 counted from the day
    the 7-day report was sent (deadlines.susar_report_due's calendar-day rule). Late from the start when that has passed."""
    assert seven_day.kind == K.SUSAR_7D and seven_day.reported_at is not None
    due = deadlines.susar_report_due(seven_day.reported_at, days=FOLLOW_UP_DAYS)
    return _create(actor=actor, event=seven_day.event, kind=K.SUSAR_FOLLOW_UP, started_at=seven_day.reported_at, due_at=due)


def is_sponsor_of(actor: User, event: AdverseEvent) -> bool:
    return reach(actor, Rule.ASSESS_AS_SPONSOR).covers(trial_id=event.subject.trial_id)


def may_report(actor: User, clock: ReportingClock) -> bool:
    """The site reports SAEs to the sponsor; the sponsor reports SUSARs to the regulators."""
    if clock.kind == K.SITE_24H:
        return AdverseEvent.objects.restrict(actor, Action.CHANGE).filter(pk=clock.event_id).exists()
    return is_sponsor_of(actor, clock.event)


@transaction.atomic
def reporting_clock_record_report(*, actor: User, clock: ReportingClock, reported_at: datetime | None = None) -> ReportingClock:
    """Record that the report was sent: met when at or before the due time, late after it.

    The site's report to the sponsor is also the sponsor's first awareness (day 0 of a SUSAR clock) unless the
    sponsor's assessment says it knew earlier. The 7-day SUSAR report starts the 8-day follow-up clock.
    """
    now = timezone.now()
    reported_at = reported_at or now
    clock = ReportingClock.objects.restrict(actor, Action.VIEW).select_for_update().filter(pk=clock.pk).first()
    if clock is None:
        raise ApplicationError(_("This clock is not in your hospitals and trials."), code="out_of_scope")
    if not may_report(actor, clock):
        raise ApplicationError(_("The site records its SAE reports; the sponsor records SUSAR reports."), code="not_allowed")
    if clock.status == S.CANCELLED or clock.reported_at is not None:
        raise ApplicationError(_("This clock's report is already recorded or not required (status: %(status)s).")
                               % {"status": clock.get_status_display()}, code="invalid_transition")
    if reported_at > now:
        raise fail("reported_at", _("The report time is in the future."))
    if reported_at < clock.started_at:
        raise fail("reported_at", _("The report time is before the awareness that started the clock."))
    before = snapshot(clock)
    clock.reported_at, clock.reported_by = reported_at, actor
    clock.status = S.MET if reported_at <= clock.due_at else S.LATE
    if clock.status == S.MET:
        clock.lapsed_at = None  # a report entered late but sent in time: the lapse was only the platform not knowing
    clock.about_to_lapse = False
    clock.save(update_fields=["reported_at", "reported_by", "status", "lapsed_at", "about_to_lapse"])
    event = clock.event
    hospital_id, trial_id = location(event)
    audit_record(actor=actor, action="record_report", instance=clock, before=before, after=snapshot(clock),
                 hospital_id=hospital_id, trial_id=trial_id)
    if clock.kind == K.SITE_24H and event.sponsor_awareness_at is None:
        event_before = snapshot(event)
        event.sponsor_awareness_at = reported_at
        event.save(update_fields=["sponsor_awareness_at", "updated_at"])
        audit_record(actor=actor, action="update", instance=event, before=event_before, after=snapshot(event),
                     reason="SAE reported to the sponsor", hospital_id=hospital_id, trial_id=trial_id)
    if clock.kind == K.SUSAR_7D:
        start_follow_up_clock(actor=actor, seven_day=clock)
    return clock


@transaction.atomic
def reporting_clocks_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Flag open clocks about to lapse and mark lapsed ones late. Idempotent: a clock changes state once per flag,
    and only a change is audited, so a second run at the same time changes and audits nothing."""
    now = now or timezone.now()
    system = User.objects.get(username=SYSTEM_USERNAME)
    lapsed = list(ReportingClock.objects.select_for_update().filter(status=S.OPEN, due_at__lte=now)
                  .select_related("event__subject__site"))
    for clock in lapsed:
        before = snapshot(clock)
        clock.status, clock.lapsed_at, clock.about_to_lapse = S.LATE, now, False
        clock.save(update_fields=["status", "lapsed_at", "about_to_lapse"])
        audit_record(actor=system, action="clock_lapsed", instance=clock, before=before, after=snapshot(clock),
                     hospital_id=clock.event.subject.site.hospital_id, trial_id=clock.event.subject.trial_id)
    soon = []
    for kind, warn in ReportingClock.WARN_BEFORE.items():
        soon += list(ReportingClock.objects.select_for_update()
                     .filter(kind=kind, status=S.OPEN, about_to_lapse=False, due_at__gt=now, due_at__lte=now + warn)
                     .select_related("event__subject__site"))
    for clock in soon:
        before = snapshot(clock)
        clock.about_to_lapse = True
        clock.save(update_fields=["about_to_lapse"])
        audit_record(actor=system, action="clock_about_to_lapse", instance=clock, before=before, after=snapshot(clock),
                     hospital_id=clock.event.subject.site.hospital_id, trial_id=clock.event.subject.trial_id)
    return {"lapsed": len(lapsed), "about_to_lapse": len(soon)}
