"""The home page: the user's worklist by urgency (groups ranked in registry/worklist_sources.py, each counted and paged
in SQL), then panels other apps add for their roles; and one group's own paginated page ("N more").

The registry imports no app further along the chain: items come from registry.selectors.worklist (which gathers
the registered sources) and panels from `register_home_panel` (the reports pages register the sponsor's and
monitor's panels when their URLs load). Each item links to its page when that page exists.
"""
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, Resolver404, resolve, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from registry import worklist_sources
from registry.selectors import WorkGroup, WorkItem, hospital_list, worklist_groups_for_page

# A panel: request -> (template, context), or None when it has nothing for this user (it should not query then).
Panel = Callable[[HttpRequest], tuple[str, dict[str, Any]] | None]
_panels: list[tuple[int, str, Panel]] = []

# Groups come in the order of their rank (registry/worklist_sources.py): SAE clocks, the user's own signatures and
# scoring, visits, then the rest. The home page shows the first PER_GROUP of each, "N more" opens the group's own page.
PER_GROUP = 10
GROUP_PAGE_SIZE = 25
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
    time_left: str = ""  # for items with a deadline hour (SAE clocks)


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


def time_left(due_at: datetime, now: datetime) -> str:
    """'3 h 20 min left' or 'overdue by 2 h 5 min' (the page's script counts it down from there each minute)."""
    seconds = int((due_at - now).total_seconds())
    minutes = abs(seconds) // 60
    days, hours, mins = minutes // 1440, minutes % 1440 // 60, minutes % 60
    span = (_("%(d)s d %(h)s h") % {"d": days, "h": hours} if days else
            _("%(h)s h %(m)s min") % {"h": hours, "m": mins} if hours else _("%(m)s min") % {"m": mins})
    return str((_("%(time)s left") if seconds >= 0 else _("overdue by %(time)s")) % {"time": span})


def _rows(items: list[WorkItem], now: datetime) -> list[Row]:
    return [Row(i, item_page(i), _label(i), time_left(i.due_at, now) if i.due_at else "") for i in items]


def _group(group: WorkGroup, now: datetime, shown: int) -> dict[str, Any]:
    return {"kind": group.key, "heading": group.heading, "rows": _rows(group.items, now), "count": group.count,
            "more": max(group.count - shown, 0)}


def countdown_labels() -> dict[str, str]:
    """The countdown's words in the user's language, for the page's script."""
    return {"left": str(_("%(time)s left")), "overdue": str(_("overdue by %(time)s")), "d": str(_("%(d)s d %(h)s h")),
            "h": str(_("%(h)s h %(m)s min")), "m": str(_("%(m)s min"))}


@login_required
def home(request: HttpRequest) -> HttpResponse:
    memberships = request.user.memberships.select_related("hospital").order_by("hospital__code")
    panels = []
    for _order, name, panel in _panels:
        rendered = panel(request)
        if rendered is not None:
            panels.append({"name": name, "template": rendered[0], "context": rendered[1]})
    now = timezone.now()
    groups = [_group(g, now, len(g.items)) for g in worklist_groups_for_page(user=request.user, limit=PER_GROUP)]
    return render(request, "registry/home.html", {
        "memberships": memberships, "hospital_count": hospital_list(user=request.user).count(),
        "groups": groups, "panels": panels, "countdown_labels": countdown_labels(),
    })


@login_required
def worklist_group_page(request: HttpRequest, kind: str) -> HttpResponse:
    """One group of the worklist ("N more" on the home page), paginated in SQL: the group's count and one page."""
    page = request.GET.get("page", "1")
    number = int(page) if page.isdigit() and int(page) > 0 else 1
    known = {g.key for g in worklist_sources.groups()} | set(worklist_sources.LEGACY_RANKS)
    if kind not in known:
        raise Http404
    found = worklist_groups_for_page(user=request.user, only=kind, offset=(number - 1) * GROUP_PAGE_SIZE, limit=GROUP_PAGE_SIZE)
    now = timezone.now()
    heading = next((g.heading for g in worklist_sources.groups() if g.key == kind),
                   worklist_sources.LEGACY_HEADINGS.get(kind, kind))
    group = _group(found[0], now, 0) if found else {"kind": kind, "heading": heading, "rows": [], "count": 0, "more": 0}
    pages = max((group["count"] + GROUP_PAGE_SIZE - 1) // GROUP_PAGE_SIZE, 1)
    return render(request, "registry/worklist_group.html", {
        "group": group, "number": number, "pages": pages, "first": (number - 1) * GROUP_PAGE_SIZE + 1,
        "previous": number - 1 if number > 1 else None, "next": number + 1 if number < pages else None,
        "countdown_labels": countdown_labels(),
    })
