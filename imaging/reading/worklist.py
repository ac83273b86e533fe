"""Reading work on the worklist (registry/worklist_sources.py), for investigators and central readers:

- `mibg_to_score`: MIBG studies ready and not yet scored: at the investigator's hospital, studies nobody has
  submitted a score for; in the trials a user reads centrally, studies that reader has not submitted;
- `sheet_draft`: the user's own draft score sheets, to finish and submit;
- `reading_cases`: blinded image-quality reading sessions with cases left to read in the user's assignment.

Titles name the study by its number and date, the session by its number: never a patient, and never an arm (a
session's name is free text written by the data manager, so it is left out too).
"""
import operator
from datetime import date
from functools import reduce
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from imaging.models import ImagingStudy
from imaging.reading.models import ReadingAssignment, ReadingSession, ScoreSheet
from imaging.reading.rules import TRACERS
from registry.access import Action, Rule, may, reach
from registry.models import User
from registry.worklist_sources import Listing, WorkItem, register_worklist_group

MIBG = TRACERS["curie"]


def _may_read(user: User) -> bool:
    """Reads are physicians' work (Rule.READ_IMAGES): nobody else queries anything."""
    return may(user, Rule.READ_IMAGES)


@register_worklist_group("mibg_to_score", gettext_lazy("Studies awaiting MIBG scoring"), rank=21)
def mibg_to_score(user: User, on: date) -> Listing | None:
    scorers = reach(user, Rule.SCORE_IMAGES)
    at_site = scorers.q(ImagingStudy, hospital_path="patient__hospital", trial_path=None)
    central = scorers.q(ImagingStudy, hospital_path=None, trial_path="patient__trial_subjects__trial")
    if at_site is None and central is None:
        return None
    submitted = ScoreSheet.objects.filter(study=OuterRef("pk"), status=ScoreSheet.Status.SUBMITTED, kind__in=("curie", "siopen"))
    # At the site a study waits until anyone scored it; a central reader's waits until they scored it themselves.
    parts = [at_site & ~Q(Exists(submitted))] if at_site is not None else []
    if central is not None:
        parts.append(central & ~Q(Exists(submitted.filter(reader_id=user.pk))))
    mine = reduce(operator.or_, parts)
    rows = (ImagingStudy.objects.filter(mine, status=ImagingStudy.Status.READY, tracer__in=MIBG)
            .values("pk", "study_date", "patient__hospital__code").distinct().order_by("study_date", "pk"))

    def item(r: dict[str, Any]) -> WorkItem:
        return WorkItem("mibg_to_score", None, "", r["patient__hospital__code"], r["study_date"],
                        title=_("MIBG study %(study)s of %(date)s awaiting scoring (Curie / SIOPEN)") % {
                            "study": r["pk"], "date": r["study_date"].isoformat() if r["study_date"] else "?"},
                        link=reverse("imaging-study-detail", args=[r["pk"]]))

    return Listing(rows, item)


@register_worklist_group("sheet_draft", gettext_lazy("Draft score sheets"), rank=22)
def score_sheet_drafts(user: User, on: date) -> Listing | None:
    if not _may_read(user):
        return None
    rows = (ScoreSheet.objects.restrict(user, Action.CHANGE).filter(reader_id=user.pk, status=ScoreSheet.Status.DRAFT)
            .order_by("created_at", "id").values("pk", "kind", "study_id", "created_at", "study__patient__hospital__code"))
    kinds = dict(ScoreSheet._meta.get_field("kind").flatchoices)

    def item(r: dict[str, Any]) -> WorkItem:
        return WorkItem("sheet_draft", None, "", r["study__patient__hospital__code"], timezone.localdate(r["created_at"]),
                        title=_("Draft %(kind)s score sheet of study %(study)s to submit") % {
                            "kind": kinds.get(r["kind"], r["kind"]), "study": r["study_id"]},
                        link=reverse("reading-sheet-detail", args=[r["pk"]]))

    return Listing(rows, item)


@register_worklist_group("reading_cases", gettext_lazy("Blinded image-quality reads"), rank=23)
def reading_cases(user: User, on: date) -> Listing | None:
    if not _may_read(user):
        return None
    rows = (ReadingAssignment.objects.restrict(user, Action.VIEW)
            .filter(completed_at__isnull=True, session__status=ReadingSession.Status.OPEN)
            .annotate(to_read=Count("cases", filter=Q(cases__scored_at__isnull=True)))
            .filter(to_read__gt=0).order_by("created_at", "id").values("pk", "session_id", "created_at", "to_read"))

    def item(r: dict[str, Any]) -> WorkItem:
        return WorkItem("reading_cases", None, "", "", timezone.localdate(r["created_at"]),
                        title=_("Blinded reading session %(session)s: %(count)s case(s) to read") % {
                            "session": r["session_id"], "count": r["to_read"]},
                        link=reverse("reading-assignment-detail", args=[r["pk"]]))

    return Listing(rows, item)
