"""Trials, their protocol versions, arms, participating sites and the trial roles of users."""
from decimal import Decimal
from typing import ClassVar

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from nucmed.radiopharmaceuticals import CHOICES as AGENT_CHOICES
from registry.access import ALL, Action, HospitalRole, Scope, ScopedModel, TrialRole
from registry.files import DOCUMENT_SUFFIXES, GeneratedName
from trials.models.scoping import TrialSetupModel

STRATIFICATION_FACTORS = ("site", "inrg_risk", "cog_risk", "mycn", "inrgss_stage", "sex")


class Trial(TrialSetupModel):
    class Phase(models.TextChoices):
        I = "I", _("Phase I")  # noqa: E741
        I_II = "I/II", _("Phase I/II")
        II = "II", _("Phase II")
        III = "III", _("Phase III")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        RECRUITING = "recruiting", _("Recruiting")
        SUSPENDED = "suspended", _("Suspended")
        CLOSED_TO_ACCRUAL = "closed_to_accrual", _("Closed to accrual")
        COMPLETED = "completed", _("Completed")

    class DosageTable(models.TextChoices):
        EANM = "eanm", _("EANM dosage card")
        NORTH_AMERICA = "north_america", _("North American consensus (weight-based)")

    class FdgAcquisition(models.TextChoices):
        # The EANM card's 18F-FDG row depends on the PET acquisition mode (nucmed.dosage.Acquisition).
        TWO_D = "2D", _("2D")
        THREE_D = "3D", _("3D")

    code = models.CharField(_("code"), max_length=20, unique=True,
                            validators=[RegexValidator(r"^[A-Z0-9][A-Z0-9-]{1,19}$", _("Upper-case letters, digits and hyphens."))])
    title_zh = models.CharField(_("title (Chinese)"), max_length=300)
    title_en = models.CharField(_("title (English)"), max_length=400)
    phase = models.CharField(_("phase"), max_length=5, choices=Phase.choices)
    agent_code = models.CharField(_("investigational radiopharmaceutical"), max_length=20, choices=AGENT_CHOICES)
    sponsor_organisation = models.CharField(_("sponsor organisation"), max_length=200)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT, editable=False)
    target_accrual = models.PositiveIntegerField(_("target accrual"))
    randomised = models.BooleanField(_("randomised"), default=False)
    blinded = models.BooleanField(_("allocation blinded"), default=False,
                                  help_text=_("The arm of a subject is shown only after an audited unblinding."))
    stratify_by = models.JSONField(_("stratification factors"), default=list, blank=True,
                                   help_text=_("Registry fields that form the strata, e.g. [\"site\", \"inrg_risk\"]."))
    block_sizes = models.JSONField(_("block sizes"), default=list, blank=True,
                                   help_text=_("Permuted block sizes drawn at random, e.g. [2, 4]; multiples of the number of arms."))
    dosage_table = models.CharField(_("dosage table"), max_length=20, choices=DosageTable.choices, default=DosageTable.EANM)
    fallback_dosage_table = models.CharField(
        _("fallback dosage table"), max_length=20, choices=DosageTable.choices, blank=True,
        help_text=_("Used only when the dosage table has no row for the trial's radiopharmaceutical; "
                    "set-up refuses such a table without a fallback that has one."))
    fdg_acquisition = models.CharField(
        _("18F-FDG acquisition"), max_length=2, choices=FdgAcquisition.choices, default=FdgAcquisition.THREE_D,
        help_text=_("PET acquisition mode for the EANM card's 18F-FDG row; a site may set its own scanner's mode."))
    deviation_threshold_percent = models.DecimalField(
        _("dose deviation threshold (%)"), max_digits=5, decimal_places=1, default=Decimal("10.0"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("Administered activity above the recommendation by more than this raises a protocol deviation."),
    )
    # Issued under a row lock by the enrolment service, so subject numbers are never reused.
    last_subject_number = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    scope_trial_field = "pk"

    class Meta:
        ordering = ["code"]
        verbose_name = _("trial")
        verbose_name_plural = _("trials")

    def __str__(self) -> str:
        return self.code


class ProtocolVersion(TrialSetupModel):
    trial = models.ForeignKey(Trial, on_delete=models.PROTECT, related_name="protocol_versions")
    number = models.CharField(_("version"), max_length=20)
    version_date = models.DateField(_("version date"))
    # Stored under a generated name (registry/files.py) and sent by the audited download (trials/services/protocol_documents.py).
    document = models.FileField(_("protocol document"), upload_to=GeneratedName("trials/protocols", DOCUMENT_SUFFIXES), blank=True)
    ethics_approval_number = models.CharField(_("ethics approval number"), max_length=60)
    ethics_approval_date = models.DateField(_("ethics approval date"))
    effective_from = models.DateField(_("in force from"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["trial", "-effective_from", "-id"]
        verbose_name = _("protocol version")
        constraints = [models.UniqueConstraint(fields=["trial", "number"], name="protocol_version_unique")]

    def __str__(self) -> str:
        return f"{self.trial_id} v{self.number}"


class Arm(TrialSetupModel):
    trial = models.ForeignKey(Trial, on_delete=models.PROTECT, related_name="arms")
    code = models.CharField(_("code"), max_length=12)
    name_zh = models.CharField(_("name (Chinese)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    # The dose the arm prescribes, as a share of the trial's dosage table (e.g. 50 for a low-dose arm).
    # xgettext:no-python-format
    activity_percent = models.PositiveSmallIntegerField(_("activity (% of the table)"), default=100,
                                                        validators=[MinValueValidator(1), MaxValueValidator(200)])
    ratio = models.PositiveSmallIntegerField(_("allocation ratio"), default=1, validators=[MinValueValidator(1)])

    class Meta:
        ordering = ["trial", "code"]
        verbose_name = _("arm")
        constraints = [models.UniqueConstraint(fields=["trial", "code"], name="arm_unique_code")]

    def __str__(self) -> str:
        return f"{self.trial_id}:{self.code}"


class TrialSite(TrialSetupModel):
    trial = models.ForeignKey(Trial, on_delete=models.PROTECT, related_name="sites")
    hospital = models.ForeignKey("registry.Hospital", on_delete=models.PROTECT, related_name="trial_sites")
    site_number = models.CharField(_("site number"), max_length=4, validators=[RegexValidator(r"^[0-9]{2,4}$")])
    principal_investigator = models.ForeignKey("registry.User", on_delete=models.PROTECT, null=True, blank=True,
                                               related_name="+", verbose_name=_("site principal investigator"))
    activated_on = models.DateField(_("activation date"), null=True, blank=True)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    target_accrual = models.PositiveIntegerField(_("site target"), default=0)
    fdg_acquisition = models.CharField(
        _("18F-FDG acquisition of the site's scanner"), max_length=2, choices=Trial.FdgAcquisition.choices, blank=True,
        help_text=_("Leave empty to use the trial's mode."))

    class Meta:
        ordering = ["trial", "site_number"]
        verbose_name = _("trial site")
        constraints = [
            models.UniqueConstraint(fields=["trial", "hospital"], name="trial_site_unique_hospital"),
            models.UniqueConstraint(fields=["trial", "site_number"], name="trial_site_unique_number"),
            models.CheckConstraint(condition=Q(closed_on__isnull=True) | Q(activated_on__isnull=False, closed_on__gte=models.F("activated_on")),
                                   name="trial_site_closed_after_activation"),
        ]

    def __str__(self) -> str:
        return f"{self.trial_id} site {self.site_number}"

    def is_active_on(self, day) -> bool:  # type: ignore[no-untyped-def]
        return self.activated_on is not None and self.activated_on <= day and (self.closed_on is None or self.closed_on > day)


class TrialMembership(ScopedModel):
    """A user's role in one trial (sponsor, trial monitor, central reader): reaches the trial at every site."""

    user = models.ForeignKey("registry.User", on_delete=models.CASCADE, related_name="trial_memberships")
    trial = models.ForeignKey(Trial, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=20, choices=TrialRole.choices)
    granted_at = models.DateTimeField(auto_now_add=True)

    scope_hospital_path = None
    scope_hospital_roles: ClassVar = {Action.VIEW: frozenset({HospitalRole.DATA_MANAGER}),
                                      Action.ADD: frozenset({HospitalRole.DATA_MANAGER}),
                                      Action.CHANGE: frozenset({HospitalRole.DATA_MANAGER}),
                                      Action.DELETE: frozenset({HospitalRole.DATA_MANAGER})}

    class Meta:
        ordering = ["trial", "user", "role"]
        verbose_name = _("trial membership")
        constraints = [models.UniqueConstraint(fields=["user", "trial", "role"], name="trial_membership_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.role}@trial {self.trial_id}"

    @classmethod
    def scope_q(cls, scope: Scope, action: Action) -> Q | None:
        # Who holds a trial role is managed by data managers of every hospital; anyone sees their own roles.
        if scope.hospitals_with(cls.scope_hospital_roles.get(action, frozenset())) is ALL:
            return Q()
        if action == Action.VIEW and scope.user_id is not None and not scope.is_empty:
            return Q(user_id=scope.user_id)
        return None
