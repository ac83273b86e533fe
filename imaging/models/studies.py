"""De-identified imaging data: studies of registry patients, their series and instances.

Identity is the whole hierarchy (patient -> study -> series -> instance), never a UID alone: each UID is
unique, a series and an instance carry their patient (denormalised), and on PostgreSQL composite foreign
keys (migration 0006) make a series' patient its study's, an instance's patient its series' and its
upload's. An instance uploaded for one patient therefore cannot land in another patient's series: the
database refuses the row. The (id, patient) unique constraints below are what those keys reference.
"""
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from nucmed.radiopharmaceuticals import CHOICES as TRACER_CHOICES
from registry.access import ScopedModel
from registry.models.work import WorkFields, WorkSpec


class ImagingStudy(ScopedModel):
    class ModalityGroup(models.TextChoices):
        PET_CT = "pet_ct", "PET/CT"
        SPECT_CT = "spect_ct", "SPECT/CT"
        PLANAR = "planar", _("Planar scintigraphy")
        CT = "ct", _("CT only")

    class Status(models.TextChoices):
        RECEIVING = "receiving", _("Receiving")
        READY = "ready", _("Ready")
        ON_HOLD = "on_hold", _("On hold: possible wrong patient")

    class AcquisitionProtocol(models.TextChoices):
        """How the exam was acquired: the programme's reduced protocols against the standard one (issue 18)."""

        STANDARD = "standard", _("Standard")
        LOW_DOSE = "low_dose", _("Low dose")
        SHORT_SCAN = "short_scan", _("Short scan")
        UNKNOWN = "unknown", _("Not known")

    class ProtocolSource(models.TextChoices):
        NONE = "", _("Not set")
        INFERRED = "inferred", _("Inferred by the dose step")
        MANUAL = "manual", _("Set by hand")

    class Sedation(models.TextChoices):
        NONE = "none", _("None")
        SEDATION = "sedation", _("Sedation")
        GENERAL_ANAESTHESIA = "general_anaesthesia", _("General anaesthesia")
        NOT_RECORDED = "not_recorded", _("Not recorded")

    patient = models.ForeignKey("registry.Patient", on_delete=models.PROTECT, related_name="imaging_studies")
    # Checked at ingest: the visit is this patient's and inside the uploader's scope (imaging.services.ingest).
    trial_visit = models.ForeignKey("trials.SubjectVisit", on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="imaging_studies", verbose_name=_("trial visit"))
    study_uid = models.CharField(_("StudyInstanceUID (de-identified)"), max_length=64, unique=True)
    study_date = models.DateField(null=True, blank=True)
    modality_group = models.CharField(max_length=10, choices=ModalityGroup.choices, blank=True)
    tracer = models.CharField(max_length=16, choices=TRACER_CHOICES, blank=True)
    description = models.CharField(max_length=64, blank=True)
    # Patient characteristics kept by the de-identification profile; needed for SUV, dose and the guard.
    patient_weight_kg = models.FloatField(null=True, blank=True)
    patient_size_m = models.FloatField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVING, db_index=True)
    # Differences between the DICOM header and the registry, in words without identifiers.
    hold_reasons = models.JSONField(default=list, blank=True)
    acquisition_protocol = models.CharField(_("acquisition protocol"), max_length=12, choices=AcquisitionProtocol.choices,
                                            default=AcquisitionProtocol.UNKNOWN)
    # Whether the protocol was inferred (the dose step, from the activity and the frame duration) or set by hand: the
    # dose step only fills an unknown protocol and never replaces one set by hand (imaging.services.acquisition).
    acquisition_protocol_source = models.CharField(max_length=8, choices=ProtocolSource.choices, blank=True, default="")
    sedation = models.CharField(_("sedation"), max_length=20, choices=Sedation.choices, default=Sedation.NOT_RECORDED)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    scope_hospital_path = "patient__hospital"

    class Meta:
        ordering = ["-study_date", "-id"]
        verbose_name_plural = _("imaging studies")
        constraints = [models.UniqueConstraint(fields=["id", "patient"], name="imaging_study_id_patient")]

    def __str__(self) -> str:
        return f"{self.patient_id}:{self.study_uid}"


class Series(ScopedModel):
    class PipelineState(models.TextChoices):
        PENDING = "pending", _("Pending")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        HELD = "held", _("Held (study on hold)")

    study = models.ForeignKey(ImagingStudy, on_delete=models.PROTECT, related_name="series")
    # The study's patient, filled on save; a composite foreign key keeps it equal to the study's (see the module docstring).
    patient = models.ForeignKey("registry.Patient", on_delete=models.PROTECT, related_name="+", editable=False)
    series_uid = models.CharField(max_length=64, unique=True)
    modality = models.CharField(max_length=4)
    description = models.CharField(max_length=64, blank=True)
    series_number = models.IntegerField(null=True, blank=True)
    number_of_instances = models.PositiveIntegerField(default=0)
    frame_of_reference_uid = models.CharField(max_length=64, blank=True)
    # Filled by the index step: rows/columns, pixel spacing, slice positions, acquisition times, ...
    geometry = models.JSONField(default=dict, blank=True)
    pipeline_state = models.CharField(max_length=8, choices=PipelineState.choices, default=PipelineState.PENDING,
                                      db_index=True)
    pipeline_progress = models.PositiveSmallIntegerField(default=0)
    pipeline_error = models.TextField(blank=True)
    # Per step: {"index": {"state": "done", "error": "", "finished_at": "..."}, ...}
    pipeline_steps = models.JSONField(default=dict, blank=True)
    pipeline_queued_at = models.DateTimeField(null=True, blank=True)
    # The pipeline is background work run by the one engine (registry.services.work), under these column names.
    pipeline_attempts = models.PositiveSmallIntegerField(default=0)
    pipeline_started_at = models.DateTimeField(null=True, blank=True)
    pipeline_lease_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    scope_hospital_path = "study__patient__hospital"
    work_spec = WorkSpec(
        name="series_pipeline", task="imaging.tasks.run_pipeline", handler="imaging.pipeline.pipeline_run",
        on_retry="imaging.pipeline.forget_failed_steps", succeeded=PipelineState.DONE, restart_progress=False,
        fields=WorkFields(status="pipeline_state", progress="pipeline_progress", error="pipeline_error", error_code=None,
                          attempts="pipeline_attempts", queued_at="pipeline_queued_at", started_at="pipeline_started_at",
                          lease_expires_at="pipeline_lease_expires_at"))

    class Meta:
        ordering = ["study", "series_number", "id"]
        verbose_name_plural = _("series")
        constraints = [models.UniqueConstraint(fields=["id", "patient"], name="imaging_series_id_patient")]

    def __str__(self) -> str:
        return f"{self.modality} {self.series_uid}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.patient_id is None and self.study_id is not None:
            self.patient_id = self.study.patient_id
        super().save(*args, **kwargs)


class Instance(ScopedModel):
    series = models.ForeignKey(Series, on_delete=models.PROTECT, related_name="instances")
    # The series' patient and the upload's patient (composite foreign keys to both on PostgreSQL).
    patient = models.ForeignKey("registry.Patient", on_delete=models.PROTECT, related_name="+", editable=False)
    sop_instance_uid = models.CharField(max_length=64, unique=True)
    sop_class_uid = models.CharField(max_length=64)
    instance_number = models.IntegerField(null=True, blank=True)
    storage_key = models.CharField(max_length=200)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)
    # Read at ingest so the index step aggregates rows instead of re-reading every stored file.
    slice_position = models.FloatField(null=True, blank=True, help_text="ImagePositionPatient z (mm)")
    acquisition = models.CharField(max_length=26, blank=True, help_text="AcquisitionDate + AcquisitionTime")
    # Burned-in annotation or a secondary capture: stored de-identified but not published until reviewed.
    quarantine_reason = models.CharField(max_length=200, blank=True)
    upload = models.ForeignKey("imaging.Upload", on_delete=models.PROTECT, related_name="instances")
    created_at = models.DateTimeField(auto_now_add=True)

    scope_hospital_path = "series__study__patient__hospital"

    class Meta:
        ordering = ["series", "instance_number", "id"]

    def __str__(self) -> str:
        return self.sop_instance_uid


class InstanceConflict(ScopedModel):
    """The same SOPInstanceUID arrived again with different bytes: kept aside for review, never overwriting."""

    instance = models.ForeignKey(Instance, on_delete=models.PROTECT, related_name="conflicts")
    storage_key = models.CharField(max_length=200)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    upload = models.ForeignKey("imaging.Upload", on_delete=models.PROTECT, related_name="conflicting_instances")
    resolved = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    scope_hospital_path = "instance__series__study__patient__hospital"

    def __str__(self) -> str:
        return f"conflict on {self.instance_id}"
