"""SAE reporting clocks: the site's 24-hour report to the sponsor, the sponsor's 7- or 15-day SUSAR report, and the
complete follow-up report due 8 calendar days after a 7-day report (ICH E2A section III.A.1)."""
from datetime import timedelta
from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from registry.access import ScopedModel
from trials.safety.models.scoping import SAFETY_HOSPITAL_ROLES, SAFETY_TRIAL_ROLES


class ReportingClock(ScopedModel):
    class Kind(models.TextChoices):
        SITE_24H = "site_24h", _("SAE report to the sponsor (24 hours from site awareness)")
        SUSAR_7D = "susar_7d", _("Fatal or life-threatening SUSAR to regulators (7 calendar days)")
        SUSAR_15D = "susar_15d", _("SUSAR to regulators (15 calendar days)")
        SUSAR_FOLLOW_UP = "susar_8d", _("Complete follow-up report of a fatal or life-threatening SUSAR (8 calendar days after the "
                                        "7-day report)")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        MET = "met", _("Met (reported in time)")
        LATE = "late", _("Late (due time passed before the report)")
        CANCELLED = "cancelled", _("Cancelled (no longer a SUSAR after re-assessment)")

    # How long before the due time a clock is flagged "about to lapse" on the worklists.
    WARN_BEFORE: ClassVar = {Kind.SITE_24H: timedelta(hours=6), Kind.SUSAR_7D: timedelta(days=2),
                             Kind.SUSAR_15D: timedelta(days=3), Kind.SUSAR_FOLLOW_UP: timedelta(days=2)}
    # The reports the sponsor owes the regulators (the site owes SITE_24H): the sponsors' worklists select these.
    SPONSOR_KINDS: ClassVar = (Kind.SUSAR_7D, Kind.SUSAR_15D, Kind.SUSAR_FOLLOW_UP)

    event = models.ForeignKey("safety.AdverseEvent", on_delete=models.PROTECT, related_name="clocks")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    started_at = models.DateTimeField(help_text=_("Awareness: the site's for the 24-hour clock, the sponsor's for SUSARs; "
                                                  "for the follow-up clock, when the 7-day report was sent."))
    due_at = models.DateTimeField(db_index=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    about_to_lapse = models.BooleanField(default=False, help_text=_("Set by the sweep when the due time is near."))
    lapsed_at = models.DateTimeField(null=True, blank=True, help_text=_("When the sweep found the clock past due."))
    reported_at = models.DateTimeField(null=True, blank=True)
    reported_by = models.ForeignKey("registry.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    scope_hospital_path = "event__subject__site__hospital"
    scope_trial_path = "event__subject__trial"
    scope_hospital_roles: ClassVar = SAFETY_HOSPITAL_ROLES
    scope_trial_roles: ClassVar = SAFETY_TRIAL_ROLES

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [models.UniqueConstraint(fields=["event", "kind"], name="clock_once_per_event_kind")]
        indexes = [models.Index(fields=["status", "due_at"], name="clock_status_due_idx")]

    def __str__(self) -> str:
        return f"{self.kind} of AE {self.event_id}: {self.status}"
