"""Part 11 style electronic signatures over any clinical record (21 CFR 11.50, 11.70, 11.200)."""
from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from registry.access import Action, HospitalRole, TrialRole
from trials.oversight.models.records import ClinicalRecordReference


class Signature(ClinicalRecordReference):
    """One signing of one record: who (printed name as it was at signing), when (UTC), what it means, and a hash
    of the content signed. A later edit of the record voids it (status, time and reason stay visible)."""

    class Meaning(models.TextChoices):
        ASSESSED = "assessed_as_investigator", _("Assessed as investigator")
        CASEBOOK_APPROVED = "casebook_approved", _("Casebook reviewed and approved by investigator")
        REVIEWED = "reviewed_as_investigator", _("Reviewed as investigator")

    class Status(models.TextChoices):
        VALID = "valid", _("Valid")
        VOIDED = "voided", _("Voided by a later edit")

    signer = models.ForeignKey("registry.User", on_delete=models.PROTECT, related_name="signatures")
    printed_name = models.CharField(_("printed name"), max_length=150)
    signed_at = models.DateTimeField()
    meaning = models.CharField(max_length=32, choices=Meaning.choices)
    content_hash = models.CharField(max_length=64, help_text=_("SHA-256 of the signed content (canonical JSON)."))
    content = models.JSONField(help_text=_("The signed content, identifiers redacted, as it was at signing."))
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.VALID, db_index=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.ForeignKey("registry.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    void_reason = models.CharField(max_length=500, blank=True)

    # Signing is an investigator's act; nobody edits a signature (voiding is done by the editing service).
    scope_hospital_roles: ClassVar = {
        Action.VIEW: frozenset(HospitalRole.values),
        Action.ADD: frozenset({HospitalRole.INVESTIGATOR}),
        Action.CHANGE: frozenset(),
        Action.DELETE: frozenset(),
    }
    scope_trial_roles: ClassVar = {Action.VIEW: frozenset({TrialRole.SPONSOR, TrialRole.MONITOR})}

    class Meta:
        ordering = ["-signed_at", "-id"]
        indexes = [models.Index(fields=["content_type", "object_id", "status"], name="signature_record_idx")]
        # One valid signature per signer, meaning and record version: every edit of a record voids its valid
        # signatures, so "valid" is "of the current version", and a new version can be signed again.
        constraints = [models.UniqueConstraint(fields=["content_type", "object_id", "signer", "meaning"],
                                               condition=models.Q(status="valid"), name="signature_valid_once")]

    def __str__(self) -> str:
        return f"{self.printed_name}, {self.get_meaning_display()} ({self.status})"
