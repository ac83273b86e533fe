"""The home page: the user's worklist grouped by kind, then panels other apps add for their roles.

The registry imports no app further along the chain: items come from registry.selectors.worklist (which gathers
the registered sources) and panels from `register_home_panel` (the reports pages register the sponsor's and
monitor's panels when their URLs load). Each item links to its page when that page exists.
"""
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, Resolver404, resolve, reverse
from django.utils.translation import gettext_lazy as _

from registry.selectors import WorkItem, hospital_list, worklist

# A panel: request -> (template, context), or None when it has nothing for this user (it should not query then).
Panel = Callable[[HttpRequest], tuple[str, dict[str, Any]] | None]
_panels: list[tuple[int, str, Panel]] = []

# Kinds in the order they appear, with their heading. Unknown kinds (a new source) come last under their own name.
GROUPS: list[tuple[str, Any]] = [
    ("visit_overdue", _("Follow-up visits overdue")),
    ("visit_due", _("Follow-up visits due")),
    ("reconsent_due", _("Re-consents due")),
    ("adult_consent_due", _("Adult consents due")),
    ("upload_on_hold", _("Uploads on hold (possible wrong patient)")),
    ("sae_clock_late", _("SAE clocks late")),
    ("sae_clock_due", _("SAE clocks about to lapse")),
    ("ae_to_sign", _("Adverse events awaiting your assessment and signature")),
    ("mibg_to_score", _("Studies awaiting MIBG scoring")),
    ("sheet_draft", _("Draft score sheets")),
    ("reading_cases", _("Blinded image-quality reads")),
    ("deviation_to_review", _("Protocol deviations to review")),
    ("query_to_answer", _("Open data queries to answer")),
    ("query_to_close", _("Answered data queries to close")),
]
# Pages for an item: from the API URL name of its link to a page URL name taking the same pk (tried, never required).
PAGE_FOR_API = {
    "imaging-study-detail": "web-study-detail",
    "reading-assignment-detail": "web-reading-assignment",
    "adverse-event-detail": "web-ae-detail",
    "reporting-clock-detail": "web-clock-detail",
    "data-query-detail": "web-query-detail",
    "protocol-deviation-detail": "web-deviation-detail",
}
PATIENT_PAGES = {"visit_overdue": "web-patient-detail", "visit_due": "web-patient-detail", "reconsent_due": "web-patient-detail",
                 "adult_consent_due": "web-patient-detail", "upload_on_hold": "web-study-detail"}
MAX_PER_GROUP = 25


def register_home_panel(name: str, order: int = 50) -> Callable[[Panel], Panel]:
    def register(fn: Panel) -> Panel:
        global _panels
        _panels = sorted([p for p in _panels if p[1] != name] + [(order, name, fn)], key=lambda p: (p[0], p[1]))
        return fn

    return register


@dataclass(frozen=True)
class Row:
    item: WorkItem
    page: str  # the page to act on, or "" when that page is not built
    label: str


def _reverse(name: str, *args: Any) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def item_page(item: WorkItem) -> str:
    if item.kind in ("visit_overdue", "visit_due", "reconsent_due", "adult_consent_due") and item.study_id:
        return _reverse(PATIENT_PAGES[item.kind], item.study_id)
    if not item.link:
        return ""
    try:
        match = resolve(item.link)
    except Resolver404:
        return ""
    page = PAGE_FOR_API.get(match.url_name or "")
    if page and "pk" in match.kwargs:
        return _reverse(page, match.kwargs["pk"])
    if match.url_name == "reading-sheet-detail":
        return _reverse("web-reading-list")
    return ""


def _label(item: WorkItem) -> str:
    if item.title:
        return item.title
    if item.visit_number is not None:
        return str(_("%(study_id)s: visit %(number)s") % {"study_id": item.study_id, "number": item.visit_number})
    return item.study_id


def grouped(items: list[WorkItem]) -> list[dict[str, Any]]:
    by_kind: dict[str, list[WorkItem]] = {}
    for item in items:
        by_kind.setdefault(item.kind, []).append(item)
    headings = dict(GROUPS)
    order = [k for k, _h in GROUPS if k in by_kind] + sorted(k for k in by_kind if k not in headings)
    groups = []
    for kind in order:
        rows = by_kind[kind]
        shown = [Row(i, item_page(i), _label(i)) for i in rows[:MAX_PER_GROUP]]
        groups.append({"kind": kind, "heading": headings.get(kind, kind), "rows": shown, "more": len(rows) - len(shown),
                       "count": len(rows)})
    return groups


@login_required
def home(request: HttpRequest) -> HttpResponse:
    memberships = request.user.memberships.select_related("hospital").order_by("hospital__code")
    panels = []
    for _order, name, panel in _panels:
        rendered = panel(request)
        if rendered is not None:
            panels.append({"name": name, "template": rendered[0], "context": rendered[1]})
    return render(request, "registry/home.html", {
        "memberships": memberships, "hospital_count": hospital_list(user=request.user).count(),
        "groups": grouped(worklist(user=request.user)), "panels": panels,
    })
