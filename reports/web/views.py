"""Report pages: the user's runs, a request form per kind, a run's page (htmx polling while it builds), audited
downloads and the run's plots. Runs come from reports.selectors (scoped: a sponsor sees its own trials' runs only,
anything else is a 404); requests and downloads go through reports.services (which authorise and audit)."""
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.views.decorators.http import require_http_methods

from registry.errors import ApplicationError
from registry.web.forms import add_application_error
from reports import display
from reports.api.views import CONTENT_TYPES
from reports.kinds import report_kind, report_kinds
from reports.models import ReportRun
from reports.selectors import report_run_list
from reports.services import report_file_download, report_run_request
from reports.web import figures
from reports.web.forms import form_for

ACTIVE = (ReportRun.Status.PENDING, ReportRun.Status.RUNNING)


def _runs(request: HttpRequest):  # type: ignore[no-untyped-def]
    return report_run_list(user=request.user).order_by("-created_at", "-id")


def _run(request: HttpRequest, pk: int) -> ReportRun:
    return get_object_or_404(_runs(request), pk=pk)


@login_required
def report_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(_runs(request), 25).get_page(request.GET.get("page"))
    titles = {k.name: k.title for k in report_kinds()}
    return render(request, "reports/web/list.html", {"page": page, "kinds": report_kinds(), "titles": titles})


@login_required
@require_http_methods(["GET", "POST"])
def report_new(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in {k.name for k in report_kinds()}:
        raise Http404("No such report kind.")
    report = report_kind(kind)
    form_class = form_for(kind)
    documents = report.write_files is None
    status = 200
    if request.method == "POST":
        form = form_class(request.POST, user=request.user, documents=documents)
        if form.is_valid():
            try:
                run = report_run_request(actor=request.user, kind=kind, params=form.params())
            except ApplicationError as error:
                add_application_error(form, error)
                status = 400
            except PermissionDenied as denied:  # the kind is not for this user's roles: say so, keep the form
                form.add_error(None, str(denied) or "You may not run this report.")
                status = 403
            else:
                return redirect("web-report-detail", pk=run.pk)
        else:
            status = 400
    else:
        form = form_class(user=request.user, documents=documents)
    # A kind not offered to the user's role (typed by hand): the page says so at once and offers no button.
    return render(request, "reports/web/new.html", {"form": form, "kind": report, "offered": report.offered(request.user)},
                  status=status)


# Rows of a section shown on the page; the rest are in the CSV and XLSX files.
PAGE_ROWS = 100


def _sections(run: ReportRun, language: str) -> list[dict[str, Any]]:
    """The run's tables as a person reads them (reports.display): labels, one-decimal percentages, local times."""
    out = []
    for section in (run.result or {}).get("sections", []) if run.status == ReportRun.Status.SUCCEEDED else []:
        heads, rows = display.table(section["columns"], section["rows"][:PAGE_ROWS], language)
        out.append({"key": section["key"], "title": display.heading(section["key"], section["title"], language),
                    "note": display.note(section.get("note", ""), language), "heads": heads, "rows": rows,
                    "more": max(0, len(section["rows"]) - PAGE_ROWS)})
    return out


def _context(run: ReportRun) -> dict[str, Any]:
    files = list(run.files.all())
    pngs = [f for f in files if f.format == "png"]
    language = get_language() or "en"
    drawn = [] if pngs or run.status != ReportRun.Status.SUCCEEDED else figures.figure_keys(run, files)
    return {"run": run, "title": report_kind(run.kind).title, "active": run.status in ACTIVE,
            "files": [f for f in files if f.format not in ("png", "svg")], "pngs": pngs,
            "figures": [(key, display.heading(key, title, language)) for key, title in drawn],
            "params": display.param_items(run.params, language), "sections": _sections(run, language),
            "notes": [display.note(n, language) for n in (run.result or {}).get("notes", [])] if run.status == ReportRun.Status.SUCCEEDED else [],
            "elapsed": int((timezone.now() - (run.started_at or run.created_at)).total_seconds()) if run.status in ACTIVE else 0}


@login_required
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "reports/web/detail.html", _context(_run(request, pk)))


@login_required
def report_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The status block alone, polled by htmx every second while the run is pending or running."""
    return render(request, "reports/web/status.html", _context(_run(request, pk)))


@login_required
def report_download(request: HttpRequest, pk: int, name: str) -> FileResponse:
    run = _run(request, pk)
    try:
        file = report_file_download(actor=request.user, run=run, name=name)  # audited: who pulled which file
    except ApplicationError as error:
        raise Http404(error.message) from None
    inline = file.format == "png" and request.GET.get("inline") == "1"
    response = FileResponse(default_storage.open(file.storage_key, "rb"), as_attachment=not inline, filename=file.name,
                            content_type=CONTENT_TYPES.get(file.format, "image/png" if file.format == "png" else "application/octet-stream"))
    response["X-Content-SHA256"] = file.sha256
    return response


@login_required
def report_figure(request: HttpRequest, pk: int, key: str) -> HttpResponse:
    run = _run(request, pk)
    svg = figures.render(run, key) if run.status == ReportRun.Status.SUCCEEDED else None
    if svg is None:
        raise Http404("No such figure.")
    response = HttpResponse(svg, content_type="image/svg+xml")
    response["Cache-Control"] = "private, max-age=3600"
    # Opened on its own, the SVG runs nothing and loads nothing (matplotlib writes neither, this says so).
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    response["X-Content-Type-Options"] = "nosniff"
    return response
