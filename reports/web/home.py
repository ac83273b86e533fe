"""Home-page panels for the roles that read across sites (registry.views.register_home_panel): the sponsor's accrual
at a glance and latest report runs, running SAE clocks (site 24-hour clocks for the site, SUSAR clocks for the
sponsor), and open data queries per site for monitors. Each panel runs one query, and none for other roles."""
from typing import Any

from django.db.models import Q
from django.http import HttpRequest

from registry.access import Rule, may, reach
from registry.views import register_home_panel
from reports.kinds import report_kinds
from reports.selectors import report_run_list
from trials.models import Trial
from trials.oversight.selectors import open_query_counts
from trials.safety.models import ReportingClock
from trials.safety.selectors import clock_list
from trials.selectors import trial_list

Rendered = tuple[str, dict[str, Any]] | None


@register_home_panel("accrual", order=10)
def accrual(request: HttpRequest) -> Rendered:
    trials = reach(request.user, Rule.ASSESS_AS_SPONSOR).trials
    if not trials:
        return None
    rows = [{"trial": t, "enrolled": t.enrolled, "target": t.target_accrual,
             "percent": round(100 * t.enrolled / t.target_accrual) if t.target_accrual else None}
            for t in trial_list(user=request.user).filter(pk__in=trials)]
    return "reports/web/panel_accrual.html", {"rows": rows}


@register_home_panel("sae_clocks", order=20)
def sae_clocks(request: HttpRequest) -> Rendered:
    """Clocks still running that this user answers for; the worklist lists those about to lapse or late."""
    site = reach(request.user, Rule.SITE_STAFF).q(ReportingClock, hospital_path="event__subject__site__hospital", trial_path=None)
    sponsor = reach(request.user, Rule.ASSESS_AS_SPONSOR).q(ReportingClock, hospital_path=None, trial_path="event__subject__trial")
    if site is None and sponsor is None:
        return None
    mine = Q(pk__in=[])
    if sponsor is not None:
        mine |= Q(kind__in=ReportingClock.SPONSOR_KINDS) & sponsor
    if site is not None:
        mine |= Q(kind=ReportingClock.Kind.SITE_24H) & site
    clocks = list(clock_list(user=request.user).filter(mine, status=ReportingClock.Status.OPEN).order_by("due_at", "id")[:20])
    return "reports/web/panel_clocks.html", {"clocks": clocks}


@register_home_panel("report_runs", order=30)
def report_runs(request: HttpRequest) -> Rendered:
    if not may(request.user, Rule.READ_REPORTS):
        return None
    runs = list(report_run_list(user=request.user).prefetch_related(None).order_by("-created_at", "-id")[:5])
    return "reports/web/panel_runs.html", {"runs": runs, "titles": {k.name: k.title for k in report_kinds()}}


@register_home_panel("queries_by_site", order=40)
def queries_by_site(request: HttpRequest) -> Rendered:
    if not may(request.user, Rule.MONITOR):
        return None
    counts = open_query_counts(user=request.user)
    codes = dict(Trial.objects.filter(pk__in={c["trial_id"] for c in counts if c["trial_id"]}).values_list("pk", "code")) if counts else {}
    rows = [{**c, "trial_code": codes.get(c["trial_id"], "")} for c in counts]
    return "reports/web/panel_queries.html", {"rows": rows}
