"""What every piece of background work stores, and how the one engine (registry.services.work) finds and runs it.

A model is background work when it has a `work_spec`. Jobs and report runs inherit `WorkRow` and keep its column
names; the series pipeline keeps the `pipeline_*` columns its API and pages show and maps them with `WorkFields`.
"""
from dataclasses import dataclass, field

from django.db import models
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class WorkFields:
    """The names of the columns the engine reads and writes; None where a row type has no such column."""

    status: str = "status"
    progress: str = "progress"
    error: str = "error"
    error_code: str | None = "error_code"
    attempts: str = "attempts"
    queued_at: str = "queued_at"
    started_at: str = "started_at"
    lease_expires_at: str = "lease_expires_at"
    finished_at: str | None = None
    # Where the handler's return value is stored on success; None when the handler records its own outcome.
    result: str | None = None


@dataclass(frozen=True)
class WorkSpec:
    """How the engine runs one row type. Callables are dotted paths, so a model never imports its services or tasks."""

    name: str  # in log lines and audit events: "job", "report_run", "series_pipeline"
    task: str  # the Celery task that takes the row's id and calls registry.services.work.work_execute
    handler: str  # (row, Work) -> dict | None: does the work, reporting progress through Work
    # row -> None, raising ApplicationError(code="access_revoked") when the requester may no longer have it done.
    # None for work nobody requested (the series pipeline runs for every series received).
    authorise: str | None = None
    # row -> {column: value} written with the reset when a user retries a failed row (the pipeline forgets failed steps).
    on_retry: str | None = None
    fields: WorkFields = field(default_factory=WorkFields)
    succeeded: str = "succeeded"
    # Progress starts at 0 on every claim; the pipeline instead derives it from the steps already done.
    restart_progress: bool = True


class WorkRow(models.Model):
    """The columns shared by jobs and report runs: status, progress, outcome, attempts and the worker's lease.

    `queued_at` is when the row is due: set on request, and pushed into the future by a backoff after a transient error.
    `lease_expires_at` is renewed by every progress report; a running row whose lease expired lost its worker and is
    queued again by the sweep.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True)
    progress = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    error_code = models.CharField(max_length=40, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
