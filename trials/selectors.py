"""Reads. Every function returns a queryset already restricted to the user (never .objects.all())."""
from django.db.models import Count, Q, QuerySet

from registry.access import ALL, Action, HospitalRole, Scope, scope_for
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

STAFF_ROLES = frozenset(HospitalRole.values)


def identity_hospitals(scope: Scope) -> frozenset[int] | object:
    """Hospitals whose patients' study IDs this scope may see (ALL, or ids): staff of the hospital only.

    A role in a trial (sponsor, trial monitor, central reader) never shows which registry patient a subject is.
    """
    return scope.hospitals_with(STAFF_ROLES)


def sees_patient(user: User, hospital_id: int) -> bool:
    hospitals = identity_hospitals(scope_for(user))
    return hospitals is ALL or hospital_id in hospitals  # type: ignore[operator]


def only_identified(qs: QuerySet, user: User, hospital_path: str) -> QuerySet:
    """Narrow `qs` to rows whose patient the user may know (used by filters on study IDs, so they probe nothing)."""
    hospitals = identity_hospitals(scope_for(user))
    if hospitals is ALL:
        return qs
    return qs.filter(**{f"{hospital_path}__in": hospitals})


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
