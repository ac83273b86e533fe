"""Enhancement models (an ONNX file and its input contract) and their runs on series.

A model is a programme-wide tool without patient data: every hospital member sees it, a data manager of every hospital
registers it (like the low-dose evaluation protocols). A run is one model on one source series and follows that
child's hospital.
"""
from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from registry.access import CURATED_HOSPITAL_ROLES, ProgrammeModel, ScopedModel


class Normalisation(models.TextChoices):
    NONE = "none", _("None (values as stored, e.g. Bq/ml)")
    BODY_MEAN = "body_mean", _("Divide by the mean inside a body mask")
    SUV_BW = "suv_bw", _("SUV (body weight) scaling")


class EnhancementModel(ProgrammeModel):
    """An ONNX model with its SHA-256 and the input it expects. The file is read from storage, never downloaded."""

    name = models.CharField(max_length=100)
    version = models.CharField(max_length=40)
    file = models.CharField(max_length=255, help_text=_("Storage name of the ONNX file"))
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    modality = models.CharField(max_length=4, default="PT")
    tracer = models.CharField(max_length=32, blank=True, help_text=_("Blank: any tracer"))
    units = models.CharField(max_length=16, default="BQML", help_text=_("DICOM Units (0054,1001) of the input"))
    voxel_size_mm = models.JSONField(help_text=_("[row spacing, column spacing, slice spacing] in mm"))
    voxel_tolerance_mm = models.FloatField(default=0.1)
    max_activity_mbq_per_kg = models.FloatField(
        help_text=_("A series is low-dose (and enhanced) when its injected activity per kg is at most this"))
    normalisation = models.CharField(max_length=12, choices=Normalisation.choices, default=Normalisation.BODY_MEAN)
    body_mask_fraction = models.FloatField(default=0.05, help_text=_("Body mask: voxels above this fraction of the maximum"))
    active = models.BooleanField(default=True)
    description = models.TextField(blank=True)
    registered_by = models.ForeignKey("registry.User", on_delete=models.PROTECT, related_name="+")
    registered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "version", "id"]
        constraints = [models.UniqueConstraint(fields=["name", "version"], name="enhancement_model_name_version")]

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"

    def __str__(self) -> str:
        return self.label


class EnhancementRun(ScopedModel):
    """One model on one source series: the derived series it made, or why it refused to run."""

    class Outcome(models.TextChoices):
        DONE = "done", _("Derived series made")
        REFUSED = "refused", _("Refused (checksum or input contract)")

    model = models.ForeignKey(EnhancementModel, on_delete=models.PROTECT, related_name="runs")
    source = models.ForeignKey("imaging.Series", on_delete=models.PROTECT, related_name="+")
    derived = models.ForeignKey("imaging.Series", on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    reason = models.TextField(blank=True)
    seconds = models.FloatField(null=True, blank=True, help_text=_("ONNX Runtime time"))
    provider = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    scope_hospital_path = "source__study__patient__hospital"
    scope_hospital_roles: ClassVar = CURATED_HOSPITAL_ROLES

    class Meta:
        ordering = ["-created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["model", "source"], name="enhancement_run_once")]

    def __str__(self) -> str:
        return f"run {self.pk} ({self.outcome})"
