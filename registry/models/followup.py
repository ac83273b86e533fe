from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from registry import codelists as cl
from registry.access import ProgrammeModel, ProgrammeReaders, ScopedModel


class FollowUpPlan(ProgrammeModel):
    """The registry's follow-up rhythm: e.g. every 3 months to year 2, every 6 to year 5, yearly after.

    `rules` is a list of {"until_month": N or null, "every_months": M} from diagnosis; visits are
    generated up to `horizon_years`, each with a window of +/- `window_days`.
    """

    name = models.CharField(max_length=80, unique=True)
    rules = models.JSONField()
    window_days = models.PositiveSmallIntegerField(default=14)
    horizon_years = models.PositiveSmallIntegerField(default=10)
    is_default = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    programme_readers = ProgrammeReaders.ANY_ROLE

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="one_default_plan")]

    def __str__(self) -> str:
        return self.name


class FollowUpVisit(ScopedModel):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        DUE = "due", _("Due")
        OVERDUE = "overdue", _("Overdue")
        DONE = "done", _("Done")
        MISSED = "missed", _("Missed")
        CANCELLED = "cancelled", _("Cancelled (patient died or withdrew from contact)")

    class VitalStatus(models.TextChoices):
        ALIVE = "alive", _("Alive")
        DEAD = "dead", _("Dead")

    OPEN_STATUSES = (Status.SCHEDULED, Status.DUE, Status.OVERDUE)

    patient = models.ForeignKey("registry.Patient", on_delete=models.PROTECT, related_name="visits")
    number = models.PositiveSmallIntegerField(help_text=_("1 for the first expected visit after diagnosis."))
    target_date = models.DateField(null=True, blank=True, help_text=_("Empty for an unscheduled visit."))
    window_start = models.DateField(null=True, blank=True)
    window_end = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED, db_index=True)
    visit_date = models.DateField(null=True, blank=True)
    vital_status = models.CharField(max_length=5, choices=VitalStatus.choices, blank=True)
    disease_status = models.CharField(max_length=12, choices=cl.RESPONSE.choices, blank=True, validators=[cl.RESPONSE.validator])
    event_date = models.DateField(_("relapse or progression date"), null=True, blank=True)
    event_site = models.CharField(_("relapse or progression site"), max_length=120, blank=True)
    treatment_phase = models.CharField(max_length=40, blank=True)
    last_contact_date = models.DateField(null=True, blank=True)
    death_date = models.DateField(null=True, blank=True)
    death_cause = models.CharField(max_length=200, blank=True)
    missed_reason = models.CharField(max_length=200, blank=True)
    recorded_by = models.ForeignKey("registry.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    recorded_at = models.DateTimeField(null=True, blank=True)

    scope_hospital_path = "patient__hospital"

    class Meta:
        ordering = ["patient", "number"]
        constraints = [models.UniqueConstraint(fields=["patient", "number"], name="visit_number_unique")]
        indexes = [models.Index(fields=["status", "window_end"], name="visit_status_window_idx")]
