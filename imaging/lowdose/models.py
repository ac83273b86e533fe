"""Evaluation protocols (what is compared), pairs of series (reference and test) and their metrics.

A protocol is a programme-wide design without patient data: every hospital member sees it, a data manager of every
hospital defines it (like reading comparisons). A pair is two series of one study (one child, one time point) and
follows that child's hospital; its evaluation is background work run by the one engine (registry.services.work).
"""
from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from registry.access import CURATED_HOSPITAL_ROLES, ProgrammeModel, ScopedModel
from registry.models.work import WorkFields, WorkRow, WorkSpec


class SeriesRole(models.TextChoices):
    """What a series is, as read from its attributes (imaging.lowdose.services.series_role)."""

    STANDARD = "standard", _("Standard activity, full time")
    LOW_ACTIVITY = "low_activity", _("Reduced activity (e.g. one sixth)")
    SHORT_SCAN = "short_scan", _("Short scan (e.g. 3 minutes)")
    ENHANCED = "enhanced", _("Enhanced (derived by a model)")


class EvaluationProtocol(ProgrammeModel):
    """Which series role is the reference and which is tested, with the acceptance criteria declared beforehand."""

    name = models.CharField(max_length=200, unique=True)
    reference_role = models.CharField(max_length=16, choices=SeriesRole.choices, default=SeriesRole.STANDARD)
    test_role = models.CharField(max_length=16, choices=SeriesRole.choices)
    # Pre-declared: [{"metric": "suv_max_bias_percent", "max_abs": 10}, {"metric": "ssim", "min": 0.9}, ...]
    acceptance_criteria = models.JSONField(default=list, blank=True)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey("registry.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.CheckConstraint(condition=~Q(reference_role=models.F("test_role")), name="lowdose_protocol_roles_differ")]

    def __str__(self) -> str:
        return self.name


class EvaluationPair(WorkRow, ScopedModel):
    """A reference and a test series of one study, evaluated in the background (status, progress, error: WorkRow)."""

    class Source(models.TextChoices):
        FOUND = "found", _("Found from the series' attributes")
        MANUAL = "manual", _("Assigned by hand")

    protocol = models.ForeignKey(EvaluationProtocol, on_delete=models.PROTECT, related_name="pairs")
    reference = models.ForeignKey("imaging.Series", on_delete=models.PROTECT, related_name="+")
    test = models.ForeignKey("imaging.Series", on_delete=models.PROTECT, related_name="+")
    source = models.CharField(max_length=8, choices=Source.choices)
    requested_by = models.ForeignKey("registry.User", on_delete=models.PROTECT, related_name="+")
    finished_at = models.DateTimeField(null=True, blank=True)

    scope_hospital_path = "reference__study__patient__hospital"
    scope_hospital_roles: ClassVar = CURATED_HOSPITAL_ROLES
    work_spec = WorkSpec(name="lowdose_pair", task="imaging.lowdose.tasks.evaluate_pair",
                         handler="imaging.lowdose.evaluation.pair_evaluate", authorise="imaging.lowdose.evaluation.pair_authorise",
                         fields=WorkFields(finished_at="finished_at"))

    class Meta:
        ordering = ["protocol", "id"]
        constraints = [models.UniqueConstraint(fields=["protocol", "reference", "test"], name="lowdose_pair_unique"),
                       models.CheckConstraint(condition=~Q(reference=models.F("test")), name="lowdose_pair_two_series")]

    def __str__(self) -> str:
        return f"pair {self.pk} ({self.protocol_id})"


class PairMetrics(ScopedModel):
    """Every number of one evaluation, with the method version that produced it."""

    pair = models.OneToOneField(EvaluationPair, on_delete=models.PROTECT, related_name="metrics")
    grid = models.CharField(max_length=24, help_text=_("How the test image was put on the reference's grid"))
    n_voxels = models.PositiveIntegerField()
    nrmse = models.FloatField()
    psnr_db = models.FloatField(null=True, blank=True, help_text=_("None when the images are identical in the mask"))
    ssim = models.FloatField()
    suv_max_bias_percent = models.FloatField(null=True, blank=True, help_text=_("Whole body mask"))
    liver_snr_reference = models.FloatField(null=True, blank=True)
    liver_snr_test = models.FloatField(null=True, blank=True)
    liver_cv_reference = models.FloatField(null=True, blank=True)
    liver_cv_test = models.FloatField(null=True, blank=True)
    # [{"label": ..., "reference": {...}, "test": {...}, "bias_percent": {"suv_max": .., "suv_mean": .., "suv_peak": ..}}]
    vois = models.JSONField(default=list, blank=True)
    criteria = models.JSONField(default=list, blank=True, help_text=_("Each pre-declared criterion, met or not"))
    # How the test image was registered onto the reference when the two did not share a frame of reference (grid "rigid"):
    # rotation_deg, translation_mm, centre_mm, the 4x4 matrix (reference mm -> test mm), the final metric, iterations.
    registration = models.JSONField(null=True, blank=True, help_text=_("The rigid registration, when one was needed"))
    method_version = models.CharField(max_length=64)
    computed_at = models.DateTimeField(auto_now=True)

    scope_hospital_path = "pair__reference__study__patient__hospital"
    scope_hospital_roles: ClassVar = CURATED_HOSPITAL_ROLES

    class Meta:
        verbose_name_plural = _("pair metrics")
