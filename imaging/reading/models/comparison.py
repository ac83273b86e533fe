"""Diagnostic comparisons of two reading methods (e.g. planar vs SPECT/CT) against a reference standard.

A comparison defines the two methods and the unit (lesion or patient). Each unit belongs to a registry patient
(and to an imaging study where one exists), carries the reference standard (positive/negative and its source)
and one read per method. Units and reads follow the patient's hospital; data managers see all.
"""
from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from registry.access import ALL_HOSPITAL_ROLES, Action, HospitalRole, ProgrammeModel, ScopedModel

ENTRY_ROLES = frozenset({HospitalRole.INVESTIGATOR, HospitalRole.DATA_MANAGER})


class ReadingComparison(ProgrammeModel):
    """The study design: no patient data, so every hospital member sees it; data managers define it."""

    class Unit(models.TextChoices):
        LESION = "lesion", _("Lesion")
        PATIENT = "patient", _("Patient")

    name = models.CharField(max_length=200, unique=True)
    method_a = models.CharField(max_length=100, help_text=_("The reference method of the comparison, e.g. planar."))
    method_b = models.CharField(max_length=100, help_text=_("The method compared with it, e.g. SPECT/CT."))
    unit = models.CharField(max_length=10, choices=Unit.choices, default=Unit.LESION)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey("registry.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    scope_hospital_path = None

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class ComparisonUnit(ScopedModel):
    """One lesion (or patient) with its reference standard."""

    class Source(models.TextChoices):
        HISTOPATHOLOGY = "histopathology", _("Histopathology")
        FOLLOW_UP = "follow_up", _("Imaging / clinical follow-up")
        CONSENSUS = "consensus", _("Expert consensus")

    comparison = models.ForeignKey(ReadingComparison, on_delete=models.PROTECT, related_name="units")
    patient = models.ForeignKey("registry.Patient", on_delete=models.PROTECT, related_name="comparison_units")
    study = models.ForeignKey("imaging.ImagingStudy", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    label = models.CharField(max_length=100, help_text=_("The lesion's site, e.g. 'surgical bed, left adrenal'; "
                                                         "'patient' for patient-level comparisons."))
    reference_positive = models.BooleanField()
    reference_source = models.CharField(max_length=20, choices=Source.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    scope_hospital_path = "patient__hospital"
    scope_hospital_roles: ClassVar = {
        Action.VIEW: ALL_HOSPITAL_ROLES,
        Action.ADD: ENTRY_ROLES,
        Action.CHANGE: ENTRY_ROLES,
        Action.DELETE: frozenset(),
    }

    class Meta:
        ordering = ["comparison", "patient", "label", "id"]
        constraints = [models.UniqueConstraint(fields=["comparison", "patient", "label"], name="one_unit_per_label")]

    def __str__(self) -> str:
        return f"unit {self.pk} of comparison {self.comparison_id}"


class UnitRead(ScopedModel):
    """One method's read of one unit (positive = lesion/disease called present)."""

    class Method(models.TextChoices):
        A = "a", _("Method A")
        B = "b", _("Method B")

    unit = models.ForeignKey(ComparisonUnit, on_delete=models.PROTECT, related_name="reads")
    method = models.CharField(max_length=1, choices=Method.choices)
    positive = models.BooleanField()
    reader = models.ForeignKey("registry.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    scope_hospital_path = "unit__patient__hospital"
    scope_hospital_roles: ClassVar = ComparisonUnit.scope_hospital_roles

    class Meta:
        ordering = ["unit", "method"]
        constraints = [models.UniqueConstraint(fields=["unit", "method"], name="one_read_per_unit_method")]

    def __str__(self) -> str:
        return f"read {self.method} of unit {self.unit_id}"
