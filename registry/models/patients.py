from datetime import date
from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from registry import codelists as cl
from registry.access import Action, HospitalRole, RestrictedQuerySet, Scope, ScopedModel


class PatientQuerySet(RestrictedQuerySet):
    def usable_for_research(self, on: date) -> "PatientQuerySet":
        """Patients whose data may appear in reports and exports on `on` (no withdrawal of data use by then)."""
        return self.filter(Q(data_use_withdrawn_on__isnull=True) | Q(data_use_withdrawn_on__gt=on))


class Patient(ScopedModel):
    """A child in the registry, known by a pseudonymous study ID; identifiers live in PatientIdentity."""

    class BirthDatePrecision(models.TextChoices):
        DAY = "day", _("Day")
        MONTH = "month", _("Month only")

    study_id = models.CharField(_("study ID"), max_length=16, unique=True, editable=False)
    hospital = models.ForeignKey("registry.Hospital", on_delete=models.PROTECT, related_name="patients")
    sex = models.CharField(_("sex"), max_length=1, choices=cl.SEX.choices, validators=[cl.SEX.validator])
    birth_date = models.DateField(_("date of birth"), help_text=_("First of the month when only year and month are known."))
    birth_date_precision = models.CharField(max_length=5, choices=BirthDatePrecision.choices, default=BirthDatePrecision.DAY)
    diagnosis_date = models.DateField(_("diagnosis date"))
    age_at_diagnosis_months = models.PositiveSmallIntegerField(_("age at diagnosis (months)"), editable=False)
    primary_site = models.CharField(max_length=24, choices=cl.PRIMARY_SITE.choices, validators=[cl.PRIMARY_SITE.validator])
    inrgss_stage = models.CharField(_("INRGSS stage"), max_length=2, choices=cl.INRGSS.choices, validators=[cl.INRGSS.validator])
    inss_stage = models.CharField(_("INSS stage"), max_length=2, blank=True, choices=cl.INSS.choices, validators=[cl.INSS.validator])
    inrg_risk = models.CharField(_("INRG risk group"), max_length=12, choices=cl.INRG_RISK.choices, validators=[cl.INRG_RISK.validator])
    cog_risk = models.CharField(_("COG risk group"), max_length=12, blank=True, choices=cl.COG_RISK.choices, validators=[cl.COG_RISK.validator])
    mycn = models.CharField("MYCN", max_length=14, choices=cl.MYCN.choices, validators=[cl.MYCN.validator])
    aberration_11q = models.CharField(_("11q aberration"), max_length=8, choices=cl.ABERRATION_11Q.choices, validators=[cl.ABERRATION_11Q.validator])
    ploidy = models.CharField(_("ploidy"), max_length=12, choices=cl.PLOIDY.choices, validators=[cl.PLOIDY.validator])
    histology = models.CharField(_("histology (INPC)"), max_length=16, choices=cl.HISTOLOGY.choices, validators=[cl.HISTOLOGY.validator])
    codes_version = models.CharField(max_length=16, default=cl.CODES_VERSION, editable=False)
    # Keyed hash of hospital code + record number: finds duplicates without a plaintext identifier.
    record_number_hash = models.CharField(max_length=64, editable=False)
    # Derived from follow-up and consent by the services; kept here so lists and reports filter cheaply.
    death_date = models.DateField(null=True, blank=True, editable=False)
    last_contact_date = models.DateField(null=True, blank=True, editable=False)
    contact_withdrawn_on = models.DateField(null=True, blank=True, editable=False)
    data_use_withdrawn_on = models.DateField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PatientQuerySet.as_manager()

    audit_redact: ClassVar = frozenset({"record_number_hash"})

    class Meta:
        ordering = ["study_id"]
        verbose_name = _("patient")
        constraints = [
            models.UniqueConstraint(fields=["hospital", "record_number_hash"], name="patient_unique_record_number"),
            models.CheckConstraint(condition=Q(diagnosis_date__gte=models.F("birth_date")), name="patient_diagnosis_after_birth"),
        ]
        indexes = [models.Index(fields=["hospital", "diagnosis_date"], name="patient_hospital_dx_idx")]

    def __str__(self) -> str:
        return self.study_id

    @property
    def is_followed(self) -> bool:
        return self.death_date is None and self.contact_withdrawn_on is None


class PatientIdentity(ScopedModel):
    """Name, record number, national ID and guardians' names and phones, encrypted at rest (Fernet).

    Readable only by staff who hold a role at the patient's own hospital: a data manager given every
    hospital, a sponsor or a monitor from elsewhere never sees it.
    """

    patient = models.OneToOneField(Patient, on_delete=models.PROTECT, related_name="identity")
    ciphertext = models.TextField(editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    scope_hospital_path = "patient__hospital"
    scope_hospital_roles: ClassVar = {
        Action.VIEW: frozenset({HospitalRole.COORDINATOR, HospitalRole.INVESTIGATOR, HospitalRole.DATA_MANAGER}),
        Action.CHANGE: frozenset({HospitalRole.COORDINATOR, HospitalRole.DATA_MANAGER}),
    }
    audit_redact: ClassVar = frozenset({"ciphertext"})

    class Meta:
        verbose_name = _("patient identity")
        verbose_name_plural = _("patient identities")

    @classmethod
    def scope_q(cls, scope: Scope, action: Action) -> Q | None:
        # Own-hospital staff only: roles held "everywhere" do not reach identities.
        roles = cls.scope_hospital_roles.get(action, frozenset())
        hospitals = [h for h, held in scope.hospital_roles.items() if held & roles]
        return Q(patient__hospital__in=hospitals) if hospitals else None


class StudyIdCounter(models.Model):
    """The last study-ID number issued per hospital; locked when issuing so numbers are never reused."""

    hospital = models.OneToOneField("registry.Hospital", on_delete=models.PROTECT, primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.hospital_id}: {self.last_number}"
