"""The patient page's MIBG response panel: the Curie / SIOPEN totals over time with the INRC 2017 MIBG bone component.

The physician comparing a follow-up scan with the baseline sees, per time point, the bone score, the relative bone score
against the baseline, the response category and why (nucmed.response, through the same selector as the API's
patient timeline), with the thresholds and their verification status from nucmed's reference index. Registered through
registry's panel hook when the reading app is ready; the panel is absent when the user sees no submitted Curie or
SIOPEN sheet of the child.
"""
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _lazy

from imaging.reading import rules, selectors
from imaging.reading.models import ScoreSheet
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
            if inrc is not None and inrc.get("category"):
                inrc["category_label"] = CATEGORY_LABELS[response.BoneResponse(inrc["category"])]
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
