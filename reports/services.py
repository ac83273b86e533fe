"""Requesting, running and downloading reports. Runs are built by the `reports.run_report` task."""
import hashlib
import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from registry.audit import audit_record
from registry.context import current
from registry.errors import ApplicationError
from registry.models import User
from registry.services.work import Work, access_revoked, work_execute, work_queue_after_commit
from reports import renderers
from reports.document import Report
from reports.kinds import WriteFiles, report_kind
from reports.models import ReportFile, ReportRun

logger = logging.getLogger(__name__)


@transaction.atomic
def report_run_request(*, actor: User, kind: str, params: dict[str, Any] | None = None) -> ReportRun:
    """Check the parameters against the requester's access, record the run and queue it once committed."""
    report = report_kind(kind)
    if params is not None and not isinstance(params, dict):
        raise ApplicationError(_("params must be an object."), code="invalid_parameter", fields={"params": [_("An object.")]})
    params = dict(params or {})
    language = _language(params.pop("language", None), documents=report.write_files is None)
    normalised = report.authorise(actor, params)
    if language != "en":  # English is the default and is not stored, so existing requests keep their parameters
        normalised["language"] = language
    run = ReportRun(kind=kind, params=normalised, requested_by=actor, request_id=current().request_id, queued_at=timezone.now(),
                    trial_id=normalised.get(report.trial_param) if report.trial_param else None)
    run.full_clean()
    run.save()
    audit_record(actor=actor, action="report_request", instance=run, after={"kind": kind, "params": normalised},
                 trial_id=run.trial_id)
    work_queue_after_commit(ReportRun, run.pk)
    return run


def _language(raw: Any, *, documents: bool) -> str:
    """The language of the PDF's headings, a parameter of every kind that renders a document: en (default) or zh-hans."""
    if raw in (None, ""):
        return "en"
    if not documents or raw not in renderers.LANGUAGES:
        allowed = ", ".join(renderers.LANGUAGES) if documents else _("none (this kind has no PDF)")
        raise ApplicationError(_("Unknown report language."), code="invalid_parameter",
                               fields={"language": [_("One of: %(choices)s.") % {"choices": allowed}]})
    return str(raw)


def storage_key(run_id: int, name: str) -> str:
    return f"reports/{run_id}/{name}"


def render_files(report: Report) -> list[tuple[str, str, bytes, int | None]]:
    """(name, format, bytes, rows): a CSV per section, an SVG per figure (the report page shows them), the workbook and
    the PDF."""
    files: list[tuple[str, str, bytes, int | None]] = [
        (f"{s.key}.csv", "csv", renderers.to_csv(s), len(s.frame)) for s in report.sections]
    files += [(f"{f.key}.svg", "svg", f.svg, None) for f in report.figures]
    files.append((f"{report.kind}.xlsx", "xlsx", renderers.to_xlsx(report), None))
    files.append((f"{report.kind}.pdf", "pdf", renderers.to_pdf(report), None))
    return files


def _discard(keys: list[str]) -> None:
    for key in keys:
        try:
            default_storage.delete(key)
        except OSError:  # best effort: the run is failed either way and lists no file
            logger.warning("could not remove a partial report file")


def report_run_execute(*, run_id: int) -> ReportRun | None:
    """Run one run through the engine. Idempotent: only a pending run is claimed (redelivery does nothing)."""
    if not work_execute(model=ReportRun, pk=run_id):
        return None
    return ReportRun.objects.get(pk=run_id)


def report_run_authorise(run: ReportRun) -> None:
    """At execution, the kind's access rule again for the requester as they are now: a role revoked fails the run."""
    try:
        report_kind(run.kind).permit(run.requested_by, run.params)
    except (Http404, PermissionDenied):
        raise access_revoked() from None


def report_run_build(run: ReportRun, work: Work) -> None:
    """Build, render and store one run (the engine's handler).

    Files are stored first; their rows and the `succeeded` status are written in one transaction after every
    file is in place. On any failure the stored files are removed; the engine records the error.
    """
    kind = report_kind(run.kind)
    stored: list[str] = []
    try:
        if kind.write_files is not None:
            _store_written(run, kind.write_files, kind.file_name, stored, work)
            return
        report = kind.build(run.requested_by, run.params, work.progress)
        report.language = run.params.get("language", "en")
        rendered = render_files(report)
        work.progress(95)
        rows = []
        for name, fmt, content, count in rendered:
            key = storage_key(run.pk, name)
            if default_storage.exists(key):  # left by an earlier attempt that failed before cleaning up
                default_storage.delete(key)
            stored.append(default_storage.save(key, ContentFile(content)))
            rows.append(ReportFile(run_id=run.pk, name=name, format=fmt, storage_key=stored[-1], size=len(content),
                                   sha256=hashlib.sha256(content).hexdigest(), rows=count))
        _record(run, work, rows, row_counts=report.row_counts, result=renderers.to_json(report))
    except Exception:
        _discard(stored)
        raise


def _record(run: ReportRun, work: Work, rows: list[ReportFile], *, row_counts: dict[str, int], result: dict[str, Any]) -> None:
    """The file rows, the outcome and the audit event in one transaction: all of them or none."""
    with transaction.atomic():
        ReportFile.objects.bulk_create(rows)
        work.succeed(row_counts=row_counts, result=result, generated_at=timezone.now())
        audit_record(actor=run.requested_by, action="report_generate", instance=run, trial_id=run.trial_id,
                     after={"files": {r.name: r.sha256 for r in rows}})


def _store_written(run: ReportRun, write_files: WriteFiles, file_name: str, stored: list[str], work: Work) -> None:
    """A kind that streams its files: stored by the kind, then recorded (and the run succeeded) in one transaction."""
    key = storage_key(run.pk, file_name)
    if default_storage.exists(key):  # left by an earlier attempt that failed before cleaning up
        default_storage.delete(key)
    stored.append(key)
    written = write_files(run.requested_by, run.params, work.progress, key)
    stored[:] = [f.storage_key for f in written.files]
    work.progress(95)
    rows = [ReportFile(run_id=run.pk, name=f.name, format=f.format, storage_key=f.storage_key, size=f.size, sha256=f.sha256,
                       rows=f.rows) for f in written.files]
    _record(run, work, rows, row_counts=written.row_counts, result=written.result)


@transaction.atomic
def report_file_download(*, actor: User, run: ReportRun, name: str) -> ReportFile:
    """The file to send, after recording who pulled which file of which run (with its SHA-256) in the audit trail."""
    if run.status != ReportRun.Status.SUCCEEDED:
        raise ApplicationError(_("The report is not ready."), code="report_not_ready")
    file = ReportFile.objects.filter(run=run, name=name).first()
    if file is None:
        raise ApplicationError(_("This report has no file of that name."), code="unknown_file",
                               fields={"name": [_("One of: %(choices)s.") % {"choices": ", ".join(run.files.values_list("name", flat=True))}]})
    audit_record(actor=actor, action="report_download", instance=file, trial_id=run.trial_id,
                 after={"run": run.pk, "kind": run.kind, "name": file.name, "sha256": file.sha256})
    return file
