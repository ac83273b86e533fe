"""The visit schedule of a protocol version, and each subject's visits generated from it at enrolment."""
from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from registry.access import ScopedModel
from trials.models.scoping import READ_ALL_TRIAL_ROLES, TrialSetupModel


class VisitDefinition(TrialSetupModel):
    class Anchor(models.TextChoices):
        ENROLMENT = "enrolment", _("Enrolment")
        DOSING = "dosing", _("First dose")

    protocol_version = models.ForeignKey("trials.ProtocolVersion", on_delete=models.PROTECT, related_name="visit_definitions")
    code = models.CharField(_("code"), max_length=16)
    name_zh = models.CharField(_("name (Chinese)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=200)
    anchor = models.CharField(_("counted from"), max_length=10, choices=Anchor.choices)
    day_offset = models.IntegerField(_("day"))
    window_before_days = models.PositiveSmallIntegerField(_("window before (days)"), default=0)
    window_after_days = models.PositiveSmallIntegerField(_("window after (days)"), default=0)

    scope_trial_field = "protocol_version__trial_id"

    class Meta:
        ordering = ["protocol_version", "anchor", "day_offset", "code"]
        verbose_name = _("visit definition")
        constraints = [models.UniqueConstraint(fields=["protocol_version", "code"], name="visit_definition_unique_code")]

    def __str__(self) -> str:
        return self.code


class SubjectVisit(ScopedModel):
    class Status(models.TextChoices):
        AWAITING_DOSING = "awaiting_dosing", _("Awaiting first dose")
        SCHEDULED = "scheduled", _("Scheduled")
        DONE = "done", _("Done")
        MISSED = "missed", _("Missed")

    subject = models.ForeignKey("trials.Subject", on_delete=models.PROTECT, related_name="visits")
    definition = models.ForeignKey(VisitDefinition, on_delete=models.PROTECT, related_name="+")
    # Empty while the visit is anchored on a first dose that has not been given yet.
    target_date = models.DateField(_("target date"), null=True, blank=True)
    window_start = models.DateField(null=True, blank=True)
    window_end = models.DateField(null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices)
    done_on = models.DateField(_("done on"), null=True, blank=True)
    # Why the visit was done outside its window: required to record it so (the protocol deviation is raised as well).
    out_of_window_reason = models.CharField(_("reason for the date outside the window"), max_length=500, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    scope_hospital_path = "subject__site__hospital"
    scope_trial_path = "subject__trial"
    scope_trial_roles: ClassVar = READ_ALL_TRIAL_ROLES

    class Meta:
        ordering = ["subject", "target_date", "id"]
        verbose_name = _("subject visit")
        constraints = [models.UniqueConstraint(fields=["subject", "definition"], name="subject_visit_once")]

    def __str__(self) -> str:
        return f"{self.subject_id}:{self.definition_id}"
