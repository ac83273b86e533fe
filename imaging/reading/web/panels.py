"""The patient page's MIBG response panel, and the imaging study page's score sheet links (last in this module).

The patient page's MIBG response panel: the Curie / SIOPEN totals over time with the INRC 2017 MIBG bone component.

The physician comparing a follow-up scan with the baseline sees, per time point, the bone score, the relative bone score
against the baseline, the response category and why (nucmed.response, through the same selector as the API's
patient timeline), with the thresholds and their verification status from nucmed's reference index. Registered through
registry's panel hook when the reading app is ready; the panel is absent when the user sees no submitted Curie or
SIOPEN sheet of the child.
"""
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _lazy

from imaging.models import ImagingStudy
from imaging.reading import rules, selectors
from imaging.reading.models import ScoreSheet
from imaging.web.study_parts import register_study_part
from nucmed import response
from nucmed.reference import reference_tables
from registry.models import Patient
from registry.web.panels import Panel, register_patient_panel

CATEGORY_LABELS = {
    response.BoneResponse.COMPLETE: _lazy("Complete response (CR)"),
    response.BoneResponse.PARTIAL: _lazy("Partial response (PR)"),
    response.BoneResponse.STABLE: _lazy("Stable disease (SD)"),
    response.BoneResponse.PROGRESSIVE: _lazy("Progressive disease (PD)"),
}

# nucmed.response.NOTES, marked for the catalogues (a test keeps the two equal): the notes said in the reader's language.
INRC_NOTES = {
    "new_sites": gettext_noop("new MIBG-avid bone site(s) in segment(s) %(segments)s: progressive disease"),
    "progressed": gettext_noop("relative score %(relative)s >= %(limit)s: progressive disease"),
    "resolved": gettext_noop("bone score 0: MIBG uptake at every bone site resolved"),
    "partial": gettext_noop("relative score %(relative)s <= %(limit)s: reduction of at least 50 %%"),
    "below_range": gettext_noop("relative score below %(limit)s: outside the range printed with the criterion, called PR by the "
                                ">= 50 %% reduction rule"),
    "stable": gettext_noop("relative score %(relative)s: neither PR (<= %(partial)s) nor PD (>= %(progression)s)"),
    "hidden_new_lesion": gettext_noop("a new lesion inside a segment already involved at baseline is not visible in segment scores"),
}

# The fixed not-assessable reasons of nucmed (scoring, response) and of the timeline (imaging.reading.selectors), marked
# for the catalogues: the panel says them with gettext (their msgid is the English text).
NOT_ASSESSABLE_REASONS = (
    gettext_noop("baseline total is 0: relative change is undefined"),
    gettext_noop("baseline bone score is 0: no MIBG-avid bone disease to follow"),
    gettext_noop("the baseline or this time point has no agreed segment scores"),
    gettext_noop("relative change is defined for Curie and SIOPEN totals"),
    gettext_noop("the baseline or this time point has no agreed total"),
)


def inrc_notes(inrc: dict[str, Any]) -> list[str]:
    """The assessment's notes in the active language (its English notes for a part without a known template)."""
    shown = []
    for (key, values), english in zip(inrc.get("note_parts") or [], inrc.get("notes") or [], strict=False):
        try:
            shown.append(gettext(INRC_NOTES[key]) % values)
        except (KeyError, TypeError, ValueError):
            shown.append(english)
    return shown or list(inrc.get("notes") or [])


def _unverified_items() -> tuple[str, ...]:
    return next(t.unverified_items for t in reference_tables() if t.name == "inrc_mibg_bone")


def _timelines(request: HttpRequest, patient: Patient) -> list[dict[str, Any]]:
    timelines = []
    # One query finds the systems the child has submitted sheets under, so a page without any costs no more.
    scored = set(selectors.sheet_list(user=request.user).filter(study__patient=patient, kind__in=rules.SEGMENTED,
                                                                status=ScoreSheet.Status.SUBMITTED).values_list("kind", flat=True))
    for kind in (k for k in rules.SEGMENTED if k in scored):
        points = selectors.patient_timeline(user=request.user, patient=patient, kind=kind)["points"]
        for point in points:
            point["timepoint_label"] = ScoreSheet.Timepoint(point["timepoint"]).label if point["timepoint"] else ""
        for point in points[1:]:
            inrc = point["inrc_mibg_bone"]
            reason = (inrc or {}).get("not_assessable_reason") or point["not_assessable_reason"]
            point["not_assessable_shown"] = gettext(reason) if reason else ""
            if inrc is not None and inrc.get("category"):
                inrc["category_label"] = CATEGORY_LABELS[response.BoneResponse(inrc["category"])]
                inrc["notes_shown"] = inrc_notes(inrc)
        timelines.append({"kind": kind, "name": rules.SYSTEM_NAMES[kind], "points": points})
    return timelines


@register_patient_panel("mibg_response")
def mibg_response_panel(request: HttpRequest, patient: Patient) -> Panel | None:
    """Per scoring system with a submitted sheet: every time point against the first (the baseline)."""
    timelines = _timelines(request, patient)
    if not timelines:
        return None
    return Panel("reading/web/panels/mibg_response.html", {
        "timelines": timelines, "pr_max": response.PARTIAL_RESPONSE_RELATIVE_MAX, "pd_min": response.PROGRESSION_RELATIVE_MIN,
        "source": response.SOURCE, "version": response.VERSION, "unverified": _unverified_items()}, order=15)


@register_study_part("score_sheets")
def score_sheets_part(request: HttpRequest, study: ImagingStudy) -> Panel | None:
    """The imaging study page's links to its score sheets: one per scoring system of the study's tracer (the reader's
    own sheet page), and the sheets the user may see with their status and total. Absent for a tracer no system scores."""
    kinds = [kind for kind, tracers in rules.TRACERS.items() if study.tracer in tracers]  # the score sheet page's own rule
    if not kinds:
        return None
    sheets = list(selectors.sheet_list(user=request.user).filter(study=study).order_by("kind", "role", "id"))
    return Panel("reading/web/panels/study_sheets.html", {
        "systems": [(kind, ScoreSheet.Kind(kind).label) for kind in kinds], "sheets": sheets}, order=10)
