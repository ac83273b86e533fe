"""Enrolled subjects, the concealed allocation list, and unblinding."""
from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from registry.access import ScopedModel
from trials.models.scoping import READ_ALL_TRIAL_ROLES


class Subject(ScopedModel):
    """A patient enrolled in a trial, known to the trial (and its sponsor) by the subject number only."""

    class Status(models.TextChoices):
        ENROLLED = "enrolled", _("Enrolled")
        COMPLETED = "completed", _("Completed")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    trial = models.ForeignKey("trials.Trial", on_delete=models.PROTECT, related_name="subjects")
    site = models.ForeignKey("trials.TrialSite", on_delete=models.PROTECT, related_name="subjects")
    patient = models.ForeignKey("registry.Patient", on_delete=models.PROTECT, related_name="trial_subjects")
    subject_number = models.CharField(_("subject number"), max_length=32, editable=False)
    arm = models.ForeignKey("trials.Arm", on_delete=models.PROTECT, null=True, blank=True, related_name="subjects", editable=False)
    stratum = models.CharField(_("stratum"), max_length=120, blank=True, editable=False)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.ENROLLED, editable=False)
    enrolled_at = models.DateTimeField(_("enrolled at"), editable=False)
    enrolled_by = models.ForeignKey("registry.User", on_delete=models.PROTECT, related_name="+", editable=False)
    screening = models.OneToOneField("trials.ScreeningRecord", on_delete=models.PROTECT, related_name="subject", editable=False)
    consent = models.ForeignKey("registry.ConsentRecord", on_delete=models.PROTECT, related_name="+", editable=False)
    protocol_version = models.ForeignKey("trials.ProtocolVersion", on_delete=models.PROTECT, related_name="+", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    scope_hospital_path = "site__hospital"
    scope_trial_path = "trial"
    scope_trial_roles: ClassVar = READ_ALL_TRIAL_ROLES
    # The audit trail is read by monitors: a blinded arm must not show there. The allocation event records it
    # for open-label trials (randomisation.allocate).
    audit_redact: ClassVar = frozenset({"arm"})

    class Meta:
        ordering = ["trial", "subject_number"]
        verbose_name = _("subject")
        constraints = [
            models.UniqueConstraint(fields=["trial", "subject_number"], name="subject_unique_number"),
            models.UniqueConstraint(fields=["trial", "patient"], name="subject_once_per_trial"),
        ]

    def __str__(self) -> str:
        return self.subject_number


class RandomisationList(models.Model):
    """The seed of a trial's allocation list. Never exposed by the API or the admin: whoever knows the seed
    knows every future allocation."""

    trial = models.OneToOneField("trials.Trial", on_delete=models.PROTECT, related_name="+")
    seed = models.BigIntegerField()
    block_sizes = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return f"allocation list of trial {self.trial_id}"


class AllocationSlot(models.Model):
    """One position of the concealed allocation list of a stratum; `subject` is set when it is used.

    Slots are generated block by block from the list's seed and the stratum, so the list is reproducible;
    the enrolment service takes the first free slot of the stratum under SELECT ... FOR UPDATE.
    """

    randomisation_list = models.ForeignKey(RandomisationList, on_delete=models.PROTECT, related_name="slots")
    stratum = models.CharField(max_length=120)
    position = models.PositiveIntegerField()
    block_number = models.PositiveIntegerField()
    block_size = models.PositiveSmallIntegerField()
    arm = models.ForeignKey("trials.Arm", on_delete=models.PROTECT, related_name="+")
    subject = models.OneToOneField(Subject, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    allocated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        default_permissions = ()
        ordering = ["randomisation_list", "stratum", "position"]
        constraints = [models.UniqueConstraint(fields=["randomisation_list", "stratum", "position"], name="allocation_slot_unique")]

    def __str__(self) -> str:
        return f"slot {self.stratum}/{self.position}"


class Unblinding(ScopedModel):
    """The audited disclosure of a blinded subject's arm, by a data manager, with a reason."""

    subject = models.OneToOneField(Subject, on_delete=models.PROTECT, related_name="unblinding")
    unblinded_by = models.ForeignKey("registry.User", on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(_("reason"))
    unblinded_at = models.DateTimeField()

    scope_hospital_path = "subject__site__hospital"
    scope_trial_path = "subject__trial"
    scope_trial_roles: ClassVar = READ_ALL_TRIAL_ROLES

    class Meta:
        verbose_name = _("unblinding")
