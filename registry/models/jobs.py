from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from registry.access import Action, HospitalRole, Scope, ScopedModel


class Job(ScopedModel):
    """A long-running piece of work done by a Celery task: its status, progress and outcome.

    The UI and API read this row rather than Celery's state, and the periodic sweep re-queues rows
    left pending (for example while the broker was down), so an outage loses nothing.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    kind = models.CharField(max_length=40)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True)
    progress = models.PositiveSmallIntegerField(default=0)
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey("registry.User", on_delete=models.PROTECT, related_name="jobs")
    request_id = models.CharField(max_length=64)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(null=True)
    started_at = models.DateTimeField(null=True)
    finished_at = models.DateTimeField(null=True)

    scope_hospital_path = None

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(progress__lte=100), name="job_progress_max_100")]

    @classmethod
    def scope_q(cls, scope: Scope, action: Action) -> Q | None:  # noqa: ARG003
        # A job belongs to whoever asked for it; data managers of every hospital also see all jobs.
        return Q() if HospitalRole.DATA_MANAGER in scope.everywhere_roles else Q(requested_by_id=scope.user_id)

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} {self.status}"
