"""Reads of adverse events and clocks, already restricted to the user."""
from django.db.models import Q, QuerySet

from registry.access import Action, Rule, reach
from registry.models import User
from trials.safety.models import AdverseEvent, AdverseEventVersion, ReportingClock


def adverse_event_list(*, user: User) -> QuerySet[AdverseEvent]:
    return (AdverseEvent.objects.restrict(user, Action.VIEW)
            .select_related("subject__trial", "subject__site__hospital", "current_version"))


def adverse_event_versions(*, user: User, event: AdverseEvent) -> QuerySet[AdverseEventVersion]:
    return AdverseEventVersion.objects.restrict(user, Action.VIEW).filter(event=event).order_by("version_number")


def clock_list(*, user: User) -> QuerySet[ReportingClock]:
    return (ReportingClock.objects.restrict(user, Action.VIEW)
            .select_related("event__subject__trial", "event__subject__site__hospital"))


def clock_worklist(*, user: User) -> QuerySet[ReportingClock]:
    """Clocks the sweep flagged (about to lapse, or lapsed without a report) that this user must act on: the 24-hour
    clock for coordinators and investigators of the subject's hospital, SUSAR clocks for the trial's sponsors."""
    site = reach(user, Rule.SITE_STAFF).q(ReportingClock, hospital_path="event__subject__site__hospital", trial_path=None)
    sponsor = reach(user, Rule.ASSESS_AS_SPONSOR).q(ReportingClock, hospital_path=None, trial_path="event__subject__trial")
    mine = Q(pk__in=[])
    if site is not None:
        mine |= Q(kind=ReportingClock.Kind.SITE_24H) & site
    if sponsor is not None:
        mine |= Q(kind__in=ReportingClock.SPONSOR_KINDS) & sponsor
    flagged = (Q(status=ReportingClock.Status.OPEN, about_to_lapse=True)
               | Q(status=ReportingClock.Status.LATE, reported_at__isnull=True))
    return clock_list(user=user).filter(mine & flagged).order_by("due_at", "id")
