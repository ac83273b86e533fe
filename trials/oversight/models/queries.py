"""Data queries: a monitor's or data manager's question on one field of one clinical record, and its thread."""
from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from registry.access import Action, HospitalRole, TrialRole
from trials.oversight.fields import field_label, record_kind
from trials.oversight.models.records import ClinicalRecordReference

MONITOR_HOSPITAL_ROLES = frozenset({HospitalRole.MONITOR, HospitalRole.DATA_MANAGER})


class DataQuery(ClinicalRecordReference):
    class Status(models.TextChoices):
        OPEN = "open", _("Open (waiting for the site)")
        ANSWERED = "answered", _("Answered (waiting for the monitor)")
        CLOSED = "closed", _("Closed")

    field_name = models.CharField(max_length=100)
    text = models.TextField(_("question"))
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN, db_index=True)
    raised_by = models.ForeignKey("registry.User", on_delete=models.PROTECT, related_name="+")
    raised_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Sponsors are not in these maps: query texts are free text that may name a patient, so sponsors see only
    # counts of open queries per site (the summary endpoint). Answering (site) and closing (monitors) are
    # told apart in the services; CHANGE here is "may take part in the thread".
    scope_hospital_roles: ClassVar = {
        Action.VIEW: frozenset(HospitalRole.values),
        Action.ADD: MONITOR_HOSPITAL_ROLES,
        Action.CHANGE: frozenset(HospitalRole.values),
        Action.DELETE: frozenset(),
    }
    scope_trial_roles: ClassVar = {
        Action.VIEW: frozenset({TrialRole.MONITOR}),
        Action.ADD: frozenset({TrialRole.MONITOR}),
        Action.CHANGE: frozenset({TrialRole.MONITOR}),
    }

    class Meta:
        ordering = ["-raised_at", "-id"]
        verbose_name_plural = _("data queries")
        indexes = [
            models.Index(fields=["hospital", "status"], name="query_hospital_status_idx"),
            models.Index(fields=["content_type", "object_id"], name="query_record_idx"),
        ]

    def __str__(self) -> str:
        return f"Query {self.pk} on {self.field_name} ({self.status})"

    @property
    def field_label(self) -> str:
        """The queried field's verbose name in the active language (select content_type with the query)."""
        return field_label(self.content_type.model_class(), self.field_name)

    @property
    def record_kind(self) -> str:
        """What kind of record the query is on ("adverse event"), in the active language."""
        return record_kind(self.content_type.model_class())


class QueryMessage(models.Model):
    """One entry of a query's thread; never edited (the thread is the query's history)."""

    class Kind(models.TextChoices):
        RAISE = "raise", _("Raised")
        ANSWER = "answer", _("Answered by the site")
        CLOSE = "close", _("Closed")
        REOPEN = "reopen", _("Re-opened")

    query = models.ForeignKey(DataQuery, on_delete=models.PROTECT, related_name="messages")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    author = models.ForeignKey("registry.User", on_delete=models.PROTECT, related_name="+")
    text = models.TextField(blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} by {self.author_id}"
