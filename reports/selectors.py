"""Reads of report runs, already restricted to the user."""
from django.db.models import Prefetch, QuerySet

from registry.access import Action
from registry.models import User
from reports.models import ReportFile, ReportRun


def report_run_list(*, user: User) -> QuerySet[ReportRun]:
    return (ReportRun.objects.restrict(user, Action.VIEW).select_related("requested_by", "trial")
            .prefetch_related(Prefetch("files", queryset=ReportFile.objects.order_by("format", "name"))))
