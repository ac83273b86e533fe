"""Adverse events: one row per event, and its reports as versions (initial, follow-ups), never overwritten."""
from typing import Any, ClassVar

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from registry.access import ScopedModel
from registry.audit import snapshot
from trials.safety import ctcae
from trials.safety.ae_form import ActionTaken, Expectedness, Outcome, Relatedness, label
from trials.safety.models.scoping import SAFETY_HOSPITAL_ROLES, SAFETY_TRIAL_ROLES


class AdverseEvent(ScopedModel):
    """One adverse event of one subject. What was reported lives in its versions; `current_version` is the latest.

    The site's view (term, grade, seriousness, investigator causality) is versioned; the sponsor's assessment
    (expectedness and causality against the reference safety information) is kept apart on the event.
    """

    subject = models.ForeignKey("trials.Subject", on_delete=models.PROTECT, related_name="adverse_events")
    number = models.PositiveSmallIntegerField(help_text=_("1 for the subject's first adverse event."))
    current_version = models.OneToOneField("safety.AdverseEventVersion", on_delete=models.PROTECT, null=True,
                                           blank=True, related_name="+")
    # Copied from the current version so lists and clocks filter without a join.
    is_serious = models.BooleanField(default=False, db_index=True)
    grade = models.PositiveSmallIntegerField(null=True, blank=True)
    site_awareness_at = models.DateTimeField(null=True, blank=True,
                                             help_text=_("When the site first knew the event was serious (UTC)."))
    sponsor_awareness_at = models.DateTimeField(null=True, blank=True,
                                                help_text=_("When the sponsor first knew of the SAE (day 0 of its clocks)."))
    sponsor_expectedness = models.CharField(max_length=10, choices=Expectedness.choices, blank=True)
    sponsor_causality = models.CharField(max_length=10, choices=Relatedness.choices, blank=True)
    sponsor_assessed_at = models.DateTimeField(null=True, blank=True)
    sponsor_assessed_by = models.ForeignKey("registry.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    is_susar = models.BooleanField(_("SUSAR"), default=False, db_index=True)
    created_by = models.ForeignKey("registry.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    scope_hospital_path = "subject__site__hospital"
    scope_trial_path = "subject__trial"
    scope_hospital_roles: ClassVar = SAFETY_HOSPITAL_ROLES
    scope_trial_roles: ClassVar = SAFETY_TRIAL_ROLES

    class Meta:
        ordering = ["subject", "number"]
        verbose_name = _("adverse event")
        constraints = [models.UniqueConstraint(fields=["subject", "number"], name="ae_number_per_subject")]

    def __str__(self) -> str:
        return f"AE {self.number} of subject {self.subject_id}"

    @classmethod
    def queryable_field_names(cls) -> frozenset[str]:
        """Data queries on an event may name the fields of its reports (onset_date, grade, ...)."""
        return frozenset(f.name for f in AdverseEventVersion._meta.concrete_fields)

    def signature_content(self) -> dict[str, Any]:
        """An investigator signs the site's assessment: the current version (the sponsor's assessment is not theirs)."""
        version = self.current_version
        return {"adverse_event": self.pk, "number": self.number,
                "version": snapshot(version) if version is not None else None}


class AdverseEventVersion(ScopedModel):
    """One report of an event: the initial report is version 1, each follow-up the next number."""

    event = models.ForeignKey(AdverseEvent, on_delete=models.PROTECT, related_name="versions")
    version_number = models.PositiveSmallIntegerField()
    ctcae_version = models.CharField(_("CTCAE version"), max_length=8, default=ctcae.CURRENT_VERSION)
    meddra_code = models.CharField(label("meddra_code"), max_length=10)
    term = models.CharField(label("term"), max_length=120)
    soc = models.CharField(label("soc"), max_length=100)
    other_specify = models.CharField(label("other_specify"), max_length=200, blank=True)
    onset_date = models.DateField(label("onset_date"))
    resolution_date = models.DateField(label("resolution_date"), null=True, blank=True)
    grade = models.PositiveSmallIntegerField(label("grade"), validators=[MinValueValidator(1), MaxValueValidator(5)])
    serious_death = models.BooleanField(label("serious_death"), default=False)
    serious_life_threatening = models.BooleanField(label("serious_life_threatening"), default=False)
    serious_hospitalisation = models.BooleanField(label("serious_hospitalisation"), default=False)
    serious_disability = models.BooleanField(label("serious_disability"), default=False)
    serious_congenital_anomaly = models.BooleanField(label("serious_congenital_anomaly"), default=False)
    serious_other_important = models.BooleanField(label("serious_other_important"), default=False)
    is_serious = models.BooleanField(label("is_serious"), default=False, editable=False)
    relatedness = models.CharField(label("relatedness"), max_length=10, choices=Relatedness.choices)
    expectedness = models.CharField(label("expectedness"), max_length=10, choices=Expectedness.choices)
    action_taken = models.CharField(label("action_taken"), max_length=20, choices=ActionTaken.choices)
    outcome = models.CharField(label("outcome"), max_length=24, choices=Outcome.choices)
    death_date = models.DateField(label("death_date"), null=True, blank=True)
    site_awareness_at = models.DateTimeField(label("site_awareness_at"), null=True, blank=True)
    reason = models.CharField(_("reason for this report"), max_length=500, blank=True)
    recorded_by = models.ForeignKey("registry.User", on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    scope_hospital_path = "event__subject__site__hospital"
    scope_trial_path = "event__subject__trial"
    scope_hospital_roles: ClassVar = SAFETY_HOSPITAL_ROLES
    scope_trial_roles: ClassVar = SAFETY_TRIAL_ROLES

    class Meta:
        ordering = ["event", "version_number"]
        verbose_name = _("adverse event report")
        constraints = [models.UniqueConstraint(fields=["event", "version_number"], name="ae_version_unique")]

    def __str__(self) -> str:
        return f"{self.term} grade {self.grade} (report {self.version_number})"
