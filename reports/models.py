"""A requested report: who asked, which kind, with what parameters; its progress, outcome and files."""
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from registry.access import Action, Scope, ScopedModel, TrialRole
from registry.models.work import WorkRow, WorkSpec


class ReportRun(WorkRow, ScopedModel):
    """One run of one report kind, run by the background-work engine; files are listed in ReportFile.

    Files are written first and their rows created in the same transaction that marks the run succeeded, so a
    run that failed half-way never shows a file. The requester's access is checked again when the run executes.
    """

    kind = models.CharField(_("report kind"), max_length=40)
    # Normalised by the kind at request time (dates as ISO text, hospitals as sorted codes, the trial as its id),
    # so the same request always means the same report.
    params = models.JSONField(default=dict)
    trial = models.ForeignKey("trials.Trial", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    row_counts = models.JSONField(default=dict, blank=True, help_text=_("Rows per section."))
    result = models.JSONField(null=True, blank=True, help_text=_("The report as JSON (sections as tables)."))
    requested_by = models.ForeignKey("registry.User", on_delete=models.PROTECT, related_name="report_runs")
    generated_at = models.DateTimeField(null=True, blank=True)

    scope_hospital_path = None
    work_spec = WorkSpec(name="report_run", task="reports.tasks.run_report", handler="reports.services.report_run_build",
                         authorise="reports.services.report_run_authorise")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(progress__lte=100), name="report_run_progress_max_100")]

    @classmethod
    def scope_q(cls, scope: Scope, action: Action) -> Q | None:  # noqa: ARG003
        # Data managers of every hospital see every run; others their own cohort runs, and a trial's sponsors
        # every run of that trial (a sponsor who loses the role loses its reports too).
        if scope.is_empty:
            return None
        if scope.is_central_data_manager:
            return Q()
        sponsored = scope.trials_with(frozenset({TrialRole.SPONSOR}))
        return Q(requested_by_id=scope.user_id, trial__isnull=True) | Q(trial_id__in=sponsored)

    def __str__(self) -> str:
        return f"{self.kind} report #{self.pk} ({self.status})"


class ReportFile(models.Model):
    """One produced file (a CSV per section, the XLSX, the PDF) in Django storage under reports/<run id>/."""

    run = models.ForeignKey(ReportRun, on_delete=models.PROTECT, related_name="files")
    name = models.CharField(max_length=120)
    format = models.CharField(max_length=8)
    storage_key = models.CharField(max_length=200)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    rows = models.PositiveIntegerField(null=True, blank=True, help_text=_("Data rows (CSV only)."))

    class Meta:
        ordering = ["run", "format", "name"]
        constraints = [models.UniqueConstraint(fields=["run", "name"], name="report_file_name_once")]

    def __str__(self) -> str:
        return f"{self.run_id}/{self.name}"
