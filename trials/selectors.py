"""Reads. Every function returns a queryset already restricted to the user (never .objects.all())."""
from django.db.models import Count, Q, QuerySet

from registry.access import Action, Rule, reach
from registry.models import User
from trials.models import (
    Arm,
    DosingRecord,
    EligibilityCriterion,
    ProtocolDeviation,
    ProtocolVersion,
    ScreeningRecord,
    Subject,
    SubjectVisit,
    Trial,
    TrialMembership,
    TrialSite,
    VisitDefinition,
)


def sees_patient(user: User, hospital_id: int) -> bool:
    """Whether the user may see which registry patient a record of this hospital is (Rule.KNOW_PATIENT: the hospital's
    own staff; a role in a trial never shows it). No query: the scope is cached on the user."""
    return reach(user, Rule.KNOW_PATIENT).covers(hospital_id=hospital_id)


def only_identified(qs: QuerySet, user: User, hospital_path: str) -> QuerySet:
    """Narrow `qs` to rows whose patient the user may know (used by filters on study IDs, so they probe nothing)."""
    return reach(user, Rule.KNOW_PATIENT).filter(qs, hospital_path=hospital_path)


def trial_list(*, user: User) -> QuerySet[Trial]:
    return Trial.objects.restrict(user, Action.VIEW).annotate(
        enrolled=Count("subjects", distinct=True),
        active_sites=Count("sites", filter=Q(sites__activated_on__isnull=False, sites__closed_on__isnull=True), distinct=True),
    ).order_by("code")


def protocol_version_list(*, user: User) -> QuerySet[ProtocolVersion]:
    return ProtocolVersion.objects.restrict(user, Action.VIEW).select_related("trial")


def arm_list(*, user: User) -> QuerySet[Arm]:
    return Arm.objects.restrict(user, Action.VIEW).select_related("trial")


def trial_site_list(*, user: User) -> QuerySet[TrialSite]:
    return (TrialSite.objects.restrict(user, Action.VIEW).select_related("trial", "hospital", "principal_investigator")
            .annotate(enrolled=Count("subjects")).order_by("trial__code", "site_number"))


def trial_membership_list(*, user: User) -> QuerySet[TrialMembership]:
    return TrialMembership.objects.restrict(user, Action.VIEW).select_related("user", "trial")


def criterion_list(*, user: User) -> QuerySet[EligibilityCriterion]:
    return EligibilityCriterion.objects.restrict(user, Action.VIEW).select_related("protocol_version__trial")


def visit_definition_list(*, user: User) -> QuerySet[VisitDefinition]:
    return VisitDefinition.objects.restrict(user, Action.VIEW).select_related("protocol_version__trial")


def screening_list(*, user: User) -> QuerySet[ScreeningRecord]:
    return (ScreeningRecord.objects.restrict(user, Action.VIEW)
            .select_related("trial", "site", "patient", "protocol_version").prefetch_related("answers__criterion"))


def subject_list(*, user: User) -> QuerySet[Subject]:
    return (Subject.objects.restrict(user, Action.VIEW)
            .select_related("trial", "site", "patient", "arm", "protocol_version", "unblinding"))


def subject_visit_list(*, user: User) -> QuerySet[SubjectVisit]:
    return SubjectVisit.objects.restrict(user, Action.VIEW).select_related("subject__site", "definition")


def dosing_list(*, user: User) -> QuerySet[DosingRecord]:
    return DosingRecord.objects.restrict(user, Action.VIEW).select_related("subject__site")


def deviation_list(*, user: User) -> QuerySet[ProtocolDeviation]:
    return ProtocolDeviation.objects.restrict(user, Action.VIEW).select_related("subject__site", "reviewed_by")


def screening_log(records: QuerySet[ScreeningRecord]) -> list[dict]:
    """Per trial site: how many were screened, eligible, failed screening and enrolled (from the visible records)."""
    rows = (records.order_by().values("trial__code", "site_id", "site__site_number", "site__hospital__code")
            .annotate(screened=Count("id"),
                      eligible=Count("id", filter=Q(outcome=ScreeningRecord.Outcome.ELIGIBLE)),
                      screen_failures=Count("id", filter=Q(outcome=ScreeningRecord.Outcome.SCREEN_FAILURE)),
                      enrolled=Count("subject"))
            .order_by("trial__code", "site__site_number"))
    return [{"trial": r["trial__code"], "site": r["site_id"], "site_number": r["site__site_number"],
             "hospital": r["site__hospital__code"], "screened": r["screened"], "eligible": r["eligible"],
             "screen_failures": r["screen_failures"], "enrolled": r["enrolled"]} for r in rows]
