"""Eligibility criteria per protocol version and screening records that answer each of them."""
from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from registry.access import ScopedModel
from trials.models.scoping import READ_OVERSIGHT_TRIAL_ROLES, TrialSetupModel


class EligibilityCriterion(TrialSetupModel):
    class Kind(models.TextChoices):
        INCLUSION = "inclusion", _("Inclusion")
        EXCLUSION = "exclusion", _("Exclusion")

    protocol_version = models.ForeignKey("trials.ProtocolVersion", on_delete=models.PROTECT, related_name="criteria")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    number = models.PositiveSmallIntegerField(_("number"))
    text_zh = models.TextField(_("text (Chinese)"))
    text_en = models.TextField(_("text (English)"))

    scope_trial_field = "protocol_version__trial_id"

    class Meta:
        ordering = ["protocol_version", "kind", "number"]
        verbose_name = _("eligibility criterion")
        verbose_name_plural = _("eligibility criteria")
        constraints = [models.UniqueConstraint(fields=["protocol_version", "kind", "number"], name="criterion_unique_number")]

    @property
    def label(self) -> str:
        return f"{'I' if self.kind == self.Kind.INCLUSION else 'E'}{self.number}"

    def __str__(self) -> str:
        return self.label


class ScreeningRecord(ScopedModel):
    """One screening of one patient for one trial at one site, under one protocol version."""

    class Outcome(models.TextChoices):
        ELIGIBLE = "eligible", _("Eligible")
        SCREEN_FAILURE = "screen_failure", _("Screen failure")

    trial = models.ForeignKey("trials.Trial", on_delete=models.PROTECT, related_name="screenings")
    site = models.ForeignKey("trials.TrialSite", on_delete=models.PROTECT, related_name="screenings")
    patient = models.ForeignKey("registry.Patient", on_delete=models.PROTECT, related_name="trial_screenings")
    protocol_version = models.ForeignKey("trials.ProtocolVersion", on_delete=models.PROTECT, related_name="screenings")
    screened_on = models.DateField(_("screening date"))
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, editable=False)
    # Labels of the criteria that failed ("I2", "E1"), derived by the service from the answers.
    failed_criteria = models.JSONField(default=list, editable=False)
    notes = models.TextField(_("notes"), blank=True)
    screened_by = models.ForeignKey("registry.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    scope_hospital_path = "site__hospital"
    scope_trial_path = "trial"
    scope_trial_roles: ClassVar = READ_OVERSIGHT_TRIAL_ROLES

    class Meta:
        ordering = ["-screened_on", "-id"]
        verbose_name = _("screening record")
        indexes = [models.Index(fields=["trial", "site", "screened_on"], name="screening_site_log_idx")]

    def __str__(self) -> str:
        return f"screening {self.pk} ({self.outcome})"


class ScreeningAnswer(ScopedModel):
    """Whether a criterion is met: an inclusion criterion must be met, an exclusion criterion must not."""

    record = models.ForeignKey(ScreeningRecord, on_delete=models.CASCADE, related_name="answers")
    criterion = models.ForeignKey(EligibilityCriterion, on_delete=models.PROTECT, related_name="+")
    met = models.BooleanField(_("criterion met"))

    scope_hospital_path = "record__site__hospital"
    scope_trial_path = "record__trial"
    scope_trial_roles: ClassVar = READ_OVERSIGHT_TRIAL_ROLES

    class Meta:
        ordering = ["record", "criterion__kind", "criterion__number"]
        constraints = [models.UniqueConstraint(fields=["record", "criterion"], name="screening_answer_once")]

    @property
    def passes(self) -> bool:
        return self.met if self.criterion.kind == EligibilityCriterion.Kind.INCLUSION else not self.met
