"""Radiopharmaceutical administrations with their computed checks, and protocol deviations for review."""
from decimal import Decimal
from typing import ClassVar

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from nucmed.radiopharmaceuticals import CHOICES as AGENT_CHOICES
from registry.access import Action, HospitalRole, ScopedModel
from trials.models.scoping import READ_ALL_TRIAL_ROLES, READ_OVERSIGHT_TRIAL_ROLES

ACTIVITY = {"max_digits": 10, "decimal_places": 3}


class DosingRecord(ScopedModel):
    """One administration. The fields after `weight_kg` are computed by the dosing service on every save."""

    class Route(models.TextChoices):
        INTRAVENOUS = "iv", _("Intravenous")
        ORAL = "oral", _("Oral")

    subject = models.ForeignKey("trials.Subject", on_delete=models.PROTECT, related_name="dosing_records")
    visit = models.ForeignKey("trials.SubjectVisit", on_delete=models.PROTECT, null=True, blank=True, related_name="dosing_records")
    agent_code = models.CharField(_("radiopharmaceutical"), max_length=20, choices=AGENT_CHOICES, editable=False)
    lot_number = models.CharField(_("lot"), max_length=40)
    calibrated_activity_mbq = models.DecimalField(_("calibrated activity (MBq)"), **ACTIVITY, validators=[MinValueValidator(0)])
    calibrated_at = models.DateTimeField(_("calibration time"))
    administered_activity_mbq = models.DecimalField(_("administered activity (MBq)"), **ACTIVITY, validators=[MinValueValidator(0)],
                                                    help_text=_("As recorded at the injection."))
    administered_at = models.DateTimeField(_("administration time"))
    residual_activity_mbq = models.DecimalField(_("residual activity (MBq)"), **ACTIVITY, default=0, validators=[MinValueValidator(0)])
    residual_measured_at = models.DateTimeField(_("residual measured at"), null=True, blank=True)
    route = models.CharField(_("route"), max_length=6, choices=Route.choices, default=Route.INTRAVENOUS)
    weight_kg = models.DecimalField(_("weight at dosing (kg)"), max_digits=5, decimal_places=2, validators=[MinValueValidator(Decimal("0.5"))])
    # Computed:
    net_activity_mbq = models.DecimalField(_("net administered activity (MBq)"), **ACTIVITY, editable=False)
    age_years = models.DecimalField(max_digits=5, decimal_places=2, editable=False)
    recommended_activity_mbq = models.DecimalField(**ACTIVITY, null=True, blank=True, editable=False)
    deviation_percent = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True, editable=False)
    dosage_table = models.CharField(max_length=20, blank=True, editable=False)
    dosage_table_version = models.CharField(max_length=40, blank=True, editable=False)
    dosage_table_is_fallback = models.BooleanField(
        default=False, editable=False, help_text=_("The trial's dosage table has no row for the agent: its fallback table was used."))
    dosage_acquisition = models.CharField(max_length=2, blank=True, editable=False,
                                          help_text=_("The 18F-FDG acquisition mode (2D/3D) the recommendation used."))
    entered_vs_net_percent = models.DecimalField(
        max_digits=8, decimal_places=2, null=True, blank=True, editable=False,
        help_text=_("(entered administered activity - computed net activity) / net activity x 100."))
    entered_activity_mismatch = models.BooleanField(
        default=False, editable=False,
        # xgettext:no-python-format
        help_text=_("The entered administered activity differs from the computed net activity by more than 5 %."))
    dosage_note = models.CharField(max_length=300, blank=True, editable=False,
                                   help_text=_("Why no recommendation was computed, or what was assumed."))
    effective_dose_msv = models.DecimalField(max_digits=8, decimal_places=3, null=True, blank=True, editable=False)
    effective_dose_coefficient = models.DecimalField(max_digits=10, decimal_places=6, null=True, blank=True, editable=False)
    effective_dose_age_band = models.CharField(max_length=20, blank=True, editable=False)
    effective_dose_table_version = models.CharField(max_length=40, blank=True, editable=False)
    reference_unverified = models.BooleanField(default=False, editable=False,
                                               help_text=_("A reference value used here is marked unverified in nucmed."))
    catalogue_version = models.CharField(max_length=20, blank=True, editable=False)
    recorded_by = models.ForeignKey("registry.User", on_delete=models.PROTECT, related_name="+", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    scope_hospital_path = "subject__site__hospital"
    scope_trial_path = "subject__trial"
    scope_trial_roles: ClassVar = READ_ALL_TRIAL_ROLES

    class Meta:
        ordering = ["subject", "administered_at", "id"]
        verbose_name = _("dosing record")

    def __str__(self) -> str:
        return f"dose {self.pk} of subject {self.subject_id}"

    @property
    def dosage_table_label(self) -> str:
        """The dosage table used, as the trial's choices name it in the reader's language (the code if unknown)."""
        return dosage_table_label(self.dosage_table)


def dosage_table_label(code: str) -> str:
    from trials.models.trials import Trial

    return str(Trial.DosageTable(code).label) if code in Trial.DosageTable.values else code


class ProtocolDeviation(ScopedModel):
    class Kind(models.TextChoices):
        DOSE_ABOVE_THRESHOLD = "dose_above_threshold", _("Administered activity above the threshold")
        VISIT_OUT_OF_WINDOW = "visit_out_of_window", _("Visit outside its window")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        OPEN = "open", _("Open for review")
        REVIEWED = "reviewed", _("Reviewed")

    subject = models.ForeignKey("trials.Subject", on_delete=models.PROTECT, related_name="deviations")
    dosing_record = models.ForeignKey(DosingRecord, on_delete=models.PROTECT, null=True, blank=True, related_name="deviations")
    subject_visit = models.ForeignKey("trials.SubjectVisit", on_delete=models.PROTECT, null=True, blank=True, related_name="deviations")
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    # The English sentence, as raised (the audit trail, the API and the exports keep it); the page shows `text`.
    description = models.TextField(_("description"))
    # The facts the sentence is made of (dates as ISO strings, numbers as strings), so the page can say it in the
    # reader's language. Empty for deviations raised before it existed: those show their description.
    details = models.JSONField(_("details"), default=dict, blank=True, editable=False)
    detected_at = models.DateTimeField(_("detected at"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    reviewed_by = models.ForeignKey("registry.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(_("review note"), blank=True)

    scope_hospital_path = "subject__site__hospital"
    scope_trial_path = "subject__trial"
    scope_trial_roles: ClassVar = READ_OVERSIGHT_TRIAL_ROLES
    # Deviations are raised by the services; investigators and data managers review them.
    scope_hospital_roles: ClassVar = {
        Action.VIEW: frozenset(HospitalRole.values),
        Action.ADD: frozenset({HospitalRole.INVESTIGATOR, HospitalRole.DATA_MANAGER}),
        Action.CHANGE: frozenset({HospitalRole.INVESTIGATOR, HospitalRole.DATA_MANAGER}),
    }

    class Meta:
        ordering = ["-detected_at", "-id"]
        verbose_name = _("protocol deviation")
        constraints = [
            # One record per dosing record and kind: re-saving a dose never raises a second one.
            models.UniqueConstraint(fields=["dosing_record", "kind"], condition=Q(dosing_record__isnull=False),
                                    name="deviation_once_per_dose_and_kind"),
            models.UniqueConstraint(fields=["subject_visit", "kind"], condition=Q(subject_visit__isnull=False),
                                    name="deviation_once_per_visit_and_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} ({self.status})"

    @property
    def text(self) -> str:
        """The deviation in the active language, built from `details`; the stored description when there are none
        (or they lack a part the sentence needs)."""
        from django.utils.dateparse import parse_date
        from django.utils.formats import date_format, number_format

        template = DEVIATION_SENTENCES.get(self.kind)
        if not template or not self.details:
            return self.description
        values: dict[str, str] = {}
        for key, value in self.details.items():
            day = parse_date(value) if isinstance(value, str) and key.endswith(("_on", "_start", "_end")) else None
            if day is not None:
                values[key] = date_format(day, "SHORT_DATE_FORMAT")
            elif isinstance(value, str) and key.endswith(("_mbq", "_percent")):
                try:
                    values[key] = number_format(Decimal(value))
                except ArithmeticError:
                    values[key] = value
            elif key == "table":
                values[key] = dosage_table_label(str(value))
            else:
                values[key] = str(value)
        try:
            return str(template) % values
        except (KeyError, TypeError, ValueError):  # details of another shape, or a translation that lost a placeholder
            return self.description


# The sentences of the deviations the services raise, by kind; the services fill `details` with these placeholders.
DEVIATION_SENTENCES = {
    ProtocolDeviation.Kind.VISIT_OUT_OF_WINDOW: _(
        "Visit %(visit)s done on %(done_on)s, outside its window %(window_start)s to %(window_end)s. Reason given: %(reason)s"),
    ProtocolDeviation.Kind.DOSE_ABOVE_THRESHOLD: _(
        "Net administered activity %(net_activity_mbq)s MBq is %(deviation_percent)s %% above the recommended "
        "%(recommended_activity_mbq)s MBq (%(table)s %(table_version)s); the trial's threshold is +%(threshold_percent)s %%."),
}
