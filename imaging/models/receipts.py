from django.db import models
from django.utils.translation import gettext_lazy as _

from imaging.models.uploads import Upload
from registry.access import ScopedModel


class IntakeReceipt(ScopedModel):
    """A file acknowledged before it is filed: a sender that asks `Prefer: respond-async` gets 202 once this row, with
    the file's encrypted bytes in it, is committed; imaging.services.receipts files the receipts of the same sender and
    patient together, through the one ingest, and writes here what became of the file.

    Its IntakeSpool row holds the file as received until the transaction that settles the receipt deletes it.
    """

    class State(models.TextChoices):
        RECEIVED = "received", _("Received, waiting to be filed")
        FILING = "filing", _("Being filed")
        FILED = "filed", _("Filed")
        REFUSED = "refused", _("Refused when filed")

    patient = models.ForeignKey("registry.Patient", on_delete=models.PROTECT, related_name="+")
    received_by = models.ForeignKey("registry.User", on_delete=models.PROTECT, related_name="+")
    source = models.CharField(max_length=8, choices=Upload.Source.choices)
    trial_visit = models.ForeignKey("trials.SubjectVisit", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    file = models.CharField(max_length=255, help_text="The name the file had in the request.")
    size = models.PositiveBigIntegerField()
    state = models.CharField(max_length=8, choices=State.choices, default=State.RECEIVED)
    received_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True, help_text="When a filer took it (a stale claim is taken again).")
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Claims so far (JOB_MAX_ATTEMPTS at most).")
    filed_at = models.DateTimeField(null=True, blank=True)
    upload = models.ForeignKey(Upload, on_delete=models.PROTECT, null=True, blank=True, related_name="receipts")
    # What became of the file: the upload's items for it (one per file, several for a zip); empty until filed.
    outcome = models.JSONField(default=list, blank=True)
    error_code = models.CharField(max_length=40, blank=True)
    error_message = models.CharField(max_length=500, blank=True)

    scope_hospital_path = "patient__hospital"

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["state", "id"], name="imaging_receipt_state")]

    def __str__(self) -> str:
        return f"receipt {self.pk} ({self.state})"


class IntakeSpool(models.Model):
    """A waiting receipt's file as received (identified, before de-identification), encrypted with the identity keys,
    until the transaction that files or refuses the receipt deletes it.

    In the database rather than the instance store: the one commit that makes the receipt durable makes the file durable
    too, with no second write, no blob to lose or leave behind, and no object-store request per instance on S3. In a
    table of its own rather than a column of the receipt: a receipt's state changes (claimed, filed) then never rewrite
    its file (SQLite rewrites a whole row on UPDATE, large values included).
    """

    receipt = models.OneToOneField(IntakeReceipt, on_delete=models.CASCADE, primary_key=True, related_name="spool")
    data = models.BinaryField()

    def __str__(self) -> str:
        return f"spool of receipt {self.pk}"
