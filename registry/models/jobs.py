from django.db import models
from django.db.models import Q

from registry.access import Action, Scope, ScopedModel
from registry.models.work import WorkFields, WorkRow, WorkSpec


class Job(WorkRow, ScopedModel):
    """A long-running piece of work done by a Celery task (one handler per kind, see registry.services.jobs).

    The UI and API read this row rather than Celery's state; the engine (registry.services.work) claims, runs, retries
    and re-queues it like every other kind of background work.
    """

    kind = models.CharField(max_length=40)
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    requested_by = models.ForeignKey("registry.User", on_delete=models.PROTECT, related_name="jobs")
    finished_at = models.DateTimeField(null=True)

    scope_hospital_path = None
    work_spec = WorkSpec(name="job", task="registry.tasks.run_job", handler="registry.services.jobs.job_handle",
                         authorise="registry.services.jobs.job_authorise", fields=WorkFields(finished_at="finished_at", result="result"))

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(progress__lte=100), name="job_progress_max_100")]

    @classmethod
    def scope_q(cls, scope: Scope, action: Action) -> Q | None:  # noqa: ARG003
        # A job belongs to whoever asked for it; data managers of every hospital also see all jobs.
        return Q() if scope.is_central_data_manager else Q(requested_by_id=scope.user_id)

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} {self.status}"
