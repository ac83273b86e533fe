
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from registry.access import ProgrammeModel, ProgrammeReaders, ScopedModel
from registry.files import PDF_SUFFIXES, SCAN_SUFFIXES, GeneratedName


class ConsentScope(models.TextChoices):
    REGISTRY = "registry", _("Registry")
    TRIAL = "trial", _("Trial")


class ConsentDocument(ProgrammeModel):
    """One ethics-approved version of a consent form, for the registry or for one trial."""

    scope = models.CharField(max_length=10, choices=ConsentScope.choices)
    # The trials app owns trials; registry cannot point a foreign key at it (dependencies go one way).
    trial_id = models.BigIntegerField(null=True, blank=True)
    version = models.CharField(max_length=20)
    language = models.CharField(max_length=10, default="zh-hans")
    title = models.CharField(max_length=200)
    ethics_approval_number = models.CharField(max_length=60)
    ethics_approval_date = models.DateField()
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True)
    assent_age_years = models.PositiveSmallIntegerField(default=8, help_text=_("Child assent is required from this age."))
    requires_reconsent = models.BooleanField(
        default=False, help_text=_("Active participants who signed an earlier version must sign this one.")
    )
    # Stored under a generated name (registry/files.py): the uploaded name never reaches storage or the audit trail.
    pdf = models.FileField(upload_to=GeneratedName("consent/documents", PDF_SUFFIXES), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    programme_readers = ProgrammeReaders.ANY_ROLE

    class Meta:
        ordering = ["scope", "trial_id", "-effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["scope", "trial_id", "version", "language"], name="consent_document_unique"),
            models.CheckConstraint(condition=Q(scope="trial", trial_id__isnull=False) | Q(scope="registry", trial_id__isnull=True),
                                   name="consent_document_trial_matches_scope"),
            models.CheckConstraint(condition=Q(effective_to__isnull=True) | Q(effective_to__gte=models.F("effective_from")),
                                   name="consent_document_effective_range"),
        ]

    def __str__(self) -> str:
        what = "registry" if self.scope == ConsentScope.REGISTRY else f"trial {self.trial_id}"
        return f"{what} consent v{self.version} ({self.language})"


class ConsentRecord(ScopedModel):
    """A signed consent of one patient to one document version: guardian permission and child assent."""

    class Assent(models.TextChoices):
        GIVEN = "given", _("Given")
        # The child refused: recorded, and the consent is then not valid (registry.consent_rules).
        REFUSED = "refused", _("Refused by the child")
        NOT_APPLICABLE = "not_applicable", _("Not applicable (below the assent age)")

    class Signer(models.TextChoices):
        GUARDIAN = "guardian", _("Parent or guardian")
        PARTICIPANT = "participant", _("Participant (adult)")

    class Relationship(models.TextChoices):
        MOTHER = "mother", _("Mother")
        FATHER = "father", _("Father")
        GRANDPARENT = "grandparent", _("Grandparent")
        LEGAL_GUARDIAN = "legal_guardian", _("Legal guardian")

    patient = models.ForeignKey("registry.Patient", on_delete=models.PROTECT, related_name="consents")
    document = models.ForeignKey(ConsentDocument, on_delete=models.PROTECT, related_name="records")
    signer = models.CharField(max_length=12, choices=Signer.choices, default=Signer.GUARDIAN)
    guardian1_relationship = models.CharField(max_length=16, choices=Relationship.choices, blank=True)
    guardian2_relationship = models.CharField(max_length=16, choices=Relationship.choices, blank=True)
    assent = models.CharField(max_length=16, choices=Assent.choices)
    signed_date = models.DateField()
    witnessed_by = models.CharField(max_length=120, blank=True, help_text=_("Staff member who witnessed the signature."))
    # A scan is often named after the child: stored under a generated name (registry/files.py).
    signature_page = models.FileField(upload_to=GeneratedName("consent/signatures", SCAN_SUFFIXES), blank=True)
    recorded_by = models.ForeignKey("registry.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    scope_hospital_path = "patient__hospital"

    class Meta:
        ordering = ["patient", "-signed_date", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "document"], name="consent_record_once_per_version"),
        ]


class ConsentWithdrawal(ScopedModel):
    """Withdrawal of a consent. Nothing is deleted: the scope says what stops from `withdrawn_on`."""

    class Scope(models.TextChoices):
        NO_FURTHER_CONTACT = "no_further_contact", _("No further contact; keep data collected so far")
        WITHDRAW_DATA_USE = "withdraw_data_use", _("No further contact and no further use of the data")

    consent = models.OneToOneField(ConsentRecord, on_delete=models.PROTECT, related_name="withdrawal")
    withdrawn_on = models.DateField()
    scope = models.CharField(max_length=20, choices=Scope.choices)
    reason = models.TextField()
    recorded_by = models.ForeignKey("registry.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    scope_hospital_path = "consent__patient__hospital"
