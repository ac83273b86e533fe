from django.db import models
from django.utils.translation import gettext_lazy as _

from registry.access import ScopedModel


class Upload(ScopedModel):
    """One upload request (API, web page, DICOMweb STOW-RS or the import command) and what became of each file."""

    class Source(models.TextChoices):
        API = "api", _("Upload API")
        STOW = "stow", "DICOMweb STOW-RS"
        COMMAND = "command", _("import_dicom command")
        SEED = "seed", _("Demo seed")
        WEB = "web", _("Web page")
        DIMSE = "dimse", _("DICOM network (C-STORE)")
        ENHANCE = "enhance", _("Image enhancement (derived series)")

    patient = models.ForeignKey("registry.Patient", on_delete=models.PROTECT, related_name="uploads")
    uploaded_by = models.ForeignKey("registry.User", on_delete=models.PROTECT, related_name="+")
    source = models.CharField(max_length=8, choices=Source.choices)
    trial_visit = models.ForeignKey("trials.SubjectVisit", on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("trial visit"))
    files_received = models.PositiveIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    conflicts = models.PositiveIntegerField(default=0)
    quarantined = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    bytes_received = models.PositiveBigIntegerField(default=0)
    # One entry per file: {"file": name, "outcome": accepted|duplicate|conflict|quarantined|rejected,
    # "code": ..., "reason": ..., "sop_instance_uid": de-identified uid}; never an identifier.
    items = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    scope_hospital_path = "patient__hospital"

    class Meta:
        ordering = ["-created_at", "-id"]
        # Referenced by the instances' composite foreign key (upload, patient): see imaging.models.studies.
        constraints = [models.UniqueConstraint(fields=["id", "patient"], name="imaging_upload_id_patient")]

    def __str__(self) -> str:
        return f"upload {self.pk} ({self.source})"


class IntakeConflict(ScopedModel):
    """A file whose UIDs would place it in another patient's study, another study's series or another series'
    instance: kept aside for review with its de-identified bytes, never merged.

    It belongs to the upload's patient (and so is visible to the uploader's hospital only); it does not name
    the row it collided with, which may be another hospital's.
    """

    class Code(models.TextChoices):
        STUDY_OF_ANOTHER_PATIENT = "study_of_another_patient", _("The study UID is filed under another patient")
        SERIES_OF_ANOTHER_STUDY = "series_of_another_study", _("The series UID is filed under another study")
        INSTANCE_OF_ANOTHER_SERIES = "instance_of_another_series", _("The instance UID is filed under another series")

    upload = models.ForeignKey(Upload, on_delete=models.PROTECT, related_name="intake_conflicts")
    file = models.CharField(max_length=255, help_text="The name the file had in the upload.")
    code = models.CharField(max_length=32, choices=Code.choices)
    study_uid = models.CharField(max_length=64)
    series_uid = models.CharField(max_length=64)
    sop_instance_uid = models.CharField(max_length=64)
    storage_key = models.CharField(max_length=200)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    resolved = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    scope_hospital_path = "upload__patient__hospital"

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"intake conflict {self.pk} ({self.code})"
