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

    def __str__(self) -> str:
        return f"upload {self.pk} ({self.source})"
