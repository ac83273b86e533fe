"""The DICOM network: registered sending AE titles, instances received for no known patient, scheduled exams.

A scanner or PACS is a node of one hospital: its calling AE title (unique on the platform) decides which
hospital's patients an association may file images under, and an unknown calling AE title is refused.
The node acts through its own device account (a coordinator membership at its hospital that cannot sign
in), so the ingest's access checks and audit trail apply to network intake exactly as to uploads.
"""
from typing import ClassVar

from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from nucmed.radiopharmaceuticals import CHOICES as TRACER_CHOICES
from registry.access import Action, HospitalRole, ScopedModel

# PS3.5 AE title: up to 16 characters of the default repertoire, no backslash or control characters.
AE_TITLE = RegexValidator(r"^[ -\[\]-~]{1,16}$", _("An AE title is 1 to 16 printable characters, no backslash."))
_COORD_DM = frozenset({HospitalRole.COORDINATOR, HospitalRole.DATA_MANAGER})
_DM = frozenset({HospitalRole.DATA_MANAGER})


class DicomNode(ScopedModel):
    """A hospital's scanner or PACS allowed to send to the platform (C-STORE) and query its worklist (C-FIND)."""

    hospital = models.ForeignKey("registry.Hospital", on_delete=models.PROTECT, related_name="dicom_nodes")
    ae_title = models.CharField(_("calling AE title"), max_length=16, unique=True, validators=[AE_TITLE])
    # When set, an association with this AE title must come from this address (a second check, not the only one).
    address = models.GenericIPAddressField(_("address"), null=True, blank=True)
    description = models.CharField(_("description"), max_length=100, blank=True)
    active = models.BooleanField(_("active"), default=True)
    device_user = models.OneToOneField("registry.User", on_delete=models.PROTECT, related_name="dicom_node")
    registered_by = models.ForeignKey("registry.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    # Data managers register their hospitals' senders; coordinators see which senders exist.
    scope_hospital_roles: ClassVar = {Action.VIEW: _COORD_DM, Action.ADD: _DM, Action.CHANGE: _DM, Action.DELETE: frozenset()}

    class Meta:
        ordering = ["ae_title"]
        verbose_name = _("DICOM sender")

    def __str__(self) -> str:
        return self.ae_title


class UnmatchedInstance(ScopedModel):
    """An instance received by C-STORE whose PatientID is no study ID of the sending hospital (and whose accession
    number matches no scheduled exam): kept, identified, out of every patient's record until a coordinator of that
    hospital assigns it to a patient (then it goes through the ingest) or discards it with a reason."""

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting")
        ASSIGNED = "assigned", _("Assigned to a patient")
        DISCARDED = "discarded", _("Discarded")

    hospital = models.ForeignKey("registry.Hospital", on_delete=models.PROTECT, related_name="+")
    node = models.ForeignKey(DicomNode, on_delete=models.PROTECT, related_name="unmatched")
    association = models.CharField(max_length=32, help_text="The association's id, as in the audit trail's request id.")
    # What the sender called the patient, encrypted like the registry's identifiers (registry.identity_crypto).
    identity = models.TextField()
    study_uid = models.CharField(max_length=64, db_index=True)
    series_uid = models.CharField(max_length=64)
    sop_instance_uid = models.CharField(max_length=64)
    modality = models.CharField(max_length=16, blank=True)
    study_date = models.DateField(null=True, blank=True)
    path = models.CharField(max_length=255, help_text="The file as received, in the private DICOM_UNMATCHED_DIR.")
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING, db_index=True)
    # Why it was not filed (the code of imaging.services.network.UNMATCHED_CAUSES), and why it was discarded.
    cause = models.CharField(max_length=32)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    upload = models.ForeignKey("imaging.Upload", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    resolved_by = models.ForeignKey("registry.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    scope_hospital_roles: ClassVar = {Action.VIEW: _COORD_DM, Action.ADD: frozenset(), Action.CHANGE: _COORD_DM,
                                      Action.DELETE: frozenset()}

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"unmatched instance {self.pk} ({self.state})"


class ScheduledExam(ScopedModel):
    """An imaging exam a coordinator scheduled (a trial imaging visit or registry follow-up imaging): one Modality
    Worklist item, carrying the activity recommended for the child's weight; closed when images come back with its
    accession number."""

    class State(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        DONE = "done", _("Images received")
        CANCELLED = "cancelled", _("Cancelled")

    patient = models.ForeignKey("registry.Patient", on_delete=models.PROTECT, related_name="scheduled_exams")
    trial_visit = models.ForeignKey("trials.SubjectVisit", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                    verbose_name=_("trial visit"))
    scheduled_for = models.DateTimeField(_("scheduled for"))
    tracer = models.CharField(_("tracer"), max_length=16, choices=TRACER_CHOICES)
    modality = models.CharField(_("modality"), max_length=16)
    station_ae_title = models.CharField(_("station AE title"), max_length=16, blank=True, validators=[AE_TITLE])
    accession_number = models.CharField(max_length=16, unique=True)
    weight_kg = models.FloatField(null=True, blank=True, help_text="The weight the recommendation was computed for.")
    recommended_mbq = models.FloatField(null=True, blank=True)
    # The dosage table row used, or why there is no recommendation (no weight, no table row for the tracer).
    recommendation_note = models.CharField(max_length=200, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.SCHEDULED, db_index=True)
    study = models.ForeignKey("imaging.ImagingStudy", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    scheduled_by = models.ForeignKey("registry.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    scope_hospital_path = "patient__hospital"

    class Meta:
        ordering = ["scheduled_for", "id"]

    def __str__(self) -> str:
        return f"exam {self.accession_number}"
