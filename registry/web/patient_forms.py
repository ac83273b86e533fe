"""Forms of the patient pages. They only shape input; the registry services decide (and refuse) as for the API."""
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from registry import codelists as cl
from registry.models import ConsentDocument, ConsentRecord, ConsentWithdrawal, FollowUpVisit, Hospital, Patient
from registry.web.forms import BootstrapForm

CONSENT_STATES = [
    ("", _("Any consent state")),
    ("valid", _("Valid consent")),
    ("missing", _("No consent")),
    ("withdrawn", _("Withdrawn")),
    ("reconsent_due", _("Re-consent due")),
    ("adult_consent_due", _("Adult consent due")),
]


def code_choices(codes: cl.CodeList, *, blank: str | None = None) -> list[tuple[str, str]]:
    """A code list's choices in the page's language (the lists carry their own Chinese labels)."""
    chinese = (translation.get_language() or "").startswith("zh")
    choices = [(code, zh if chinese else en) for code, en, zh in codes.codes]
    return [("", blank), *choices] if blank is not None else choices


def code_label(codes: cl.CodeList, code: str) -> str:
    return dict(code_choices(codes)).get(code, code)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class PatientFilterForm(BootstrapForm):
    """The list's search and filters (GET); every field optional, an invalid value is simply ignored."""

    q = forms.CharField(label=_("Study ID"), required=False, max_length=16)
    stage = forms.ChoiceField(label=_("INRGSS stage"), required=False)
    risk = forms.ChoiceField(label=_("INRG risk group"), required=False)
    consent = forms.ChoiceField(label=_("Consent"), required=False, choices=CONSENT_STATES)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["stage"].choices = code_choices(cl.INRGSS, blank=str(_("Any stage")))
        self.fields["risk"].choices = code_choices(cl.INRG_RISK, blank=str(_("Any risk group")))


class RecordNumberForm(BootstrapForm):
    """Find a patient of one's own hospitals by hospital record number; sent by POST, so the number stays out of the
    address bar, the browser history and the server's access log (the service compares keyed hashes only)."""

    record_number = forms.CharField(label=_("Hospital record number"), max_length=40,
                                    widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}))


class ClinicalForm(BootstrapForm):
    """The clinical data at diagnosis (code lists in the page's language): registration and its correction."""

    sex = forms.ChoiceField(label=_("Sex"))
    birth_date = forms.DateField(label=_("Date of birth"), widget=DateInput())
    birth_date_precision = forms.ChoiceField(label=_("Date of birth known to"), choices=Patient.BirthDatePrecision.choices,
                                             initial=Patient.BirthDatePrecision.DAY)
    diagnosis_date = forms.DateField(label=_("Diagnosis date"), widget=DateInput())
    primary_site = forms.ChoiceField(label=_("Primary site"))
    inrgss_stage = forms.ChoiceField(label=_("INRGSS stage"))
    inss_stage = forms.ChoiceField(label=_("INSS stage"), required=False)
    inrg_risk = forms.ChoiceField(label=_("INRG risk group"))
    cog_risk = forms.ChoiceField(label=_("COG risk group"), required=False)
    mycn = forms.ChoiceField(label="MYCN")
    aberration_11q = forms.ChoiceField(label=_("11q aberration"))
    ploidy = forms.ChoiceField(label=_("Ploidy"))
    histology = forms.ChoiceField(label=_("Histology (INPC)"))

    CLINICAL = ("sex", "birth_date", "birth_date_precision", "diagnosis_date", "primary_site", "inrgss_stage",
                "inss_stage", "inrg_risk", "cog_risk", "mycn", "aberration_11q", "ploidy", "histology")
    CODES = {"sex": cl.SEX, "primary_site": cl.PRIMARY_SITE, "inrgss_stage": cl.INRGSS, "inss_stage": cl.INSS,
             "inrg_risk": cl.INRG_RISK, "cog_risk": cl.COG_RISK, "mycn": cl.MYCN, "aberration_11q": cl.ABERRATION_11Q,
             "ploidy": cl.PLOIDY, "histology": cl.HISTOLOGY}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, codes in self.CODES.items():
            self.fields[name].choices = code_choices(codes, blank="---------")


class PatientRegisterForm(ClinicalForm):
    """Identity (encrypted by the service) and the clinical data at diagnosis."""

    hospital = forms.ModelChoiceField(label=_("Hospital"), queryset=Hospital.objects.none(), to_field_name="code")
    name = forms.CharField(label=_("Name"), max_length=120)
    record_number = forms.CharField(label=_("Hospital record number"), max_length=40)
    national_id = forms.CharField(label=_("National ID"), max_length=40, required=False)
    guardian1_name = forms.CharField(label=_("Guardian 1 name"), max_length=120, required=False)
    guardian1_phone = forms.CharField(label=_("Guardian 1 phone"), max_length=40, required=False)
    guardian2_name = forms.CharField(label=_("Guardian 2 name"), max_length=120, required=False)
    guardian2_phone = forms.CharField(label=_("Guardian 2 phone"), max_length=40, required=False)

    IDENTITY = ("name", "record_number", "national_id", "guardian1_name", "guardian1_phone", "guardian2_name", "guardian2_phone")
    field_order = ["hospital", *IDENTITY]

    def __init__(self, *args: Any, hospitals: QuerySet[Hospital], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["hospital"].queryset = hospitals
        if len(hospitals) == 1:
            self.fields["hospital"].initial = hospitals[0].code

    def fieldsets(self) -> list[tuple[str, list[forms.BoundField]]]:
        """Identity and diagnosis side by side on wide screens (the page is long otherwise)."""
        identity = ["hospital", *self.IDENTITY]
        return [(str(_("Identity")), [self[name] for name in identity]),
                (str(_("Diagnosis")), [self[name] for name in self.fields if name not in identity])]

    def service_arguments(self) -> dict[str, Any]:
        """What patient_register takes: hospital, identity, and the clinical fields (blank optional codes left out)."""
        data = dict(self.cleaned_data)
        identity = {k: data.pop(k) for k in self.IDENTITY}
        clinical = {k: v for k, v in data.items() if k != "hospital" and v not in ("", None)}
        return {"hospital": data["hospital"], "identity": identity, **clinical}


class PatientEditForm(ClinicalForm):
    """Correct the clinical data (patient_update, as the API's PATCH): prefilled with what is recorded."""

    reason = forms.CharField(label=_("Reason for the change"), widget=forms.Textarea(attrs={"rows": 3}),
                             help_text=_("Kept in the audit trail."))

    def __init__(self, *args: Any, patient: Patient, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {name: getattr(patient, name) for name in self.CLINICAL})
        super().__init__(*args, **kwargs)

    def clinical_data(self) -> dict[str, Any]:
        """Every clinical field (a blank optional code clears it); the service keeps only what changed."""
        return {name: self.cleaned_data[name] for name in self.CLINICAL}


class ConsentRecordForm(BootstrapForm):
    document = forms.ModelChoiceField(label=_("Consent form version"), queryset=ConsentDocument.objects.none())
    signer = forms.ChoiceField(label=_("Signed by"), choices=ConsentRecord.Signer.choices, initial=ConsentRecord.Signer.GUARDIAN)
    guardian1_relationship = forms.ChoiceField(label=_("Signing guardian's relationship"), required=False,
                                               choices=[("", "---------"), *ConsentRecord.Relationship.choices])
    guardian2_relationship = forms.ChoiceField(label=_("Second guardian's relationship"), required=False,
                                               choices=[("", "---------"), *ConsentRecord.Relationship.choices])
    assent = forms.ChoiceField(label=_("Child assent"), choices=ConsentRecord.Assent.choices,
                               help_text=_("From the version's assent age the child gives or refuses assent; a refusal is "
                                           "recorded and the consent is then not valid."))
    signed_date = forms.DateField(label=_("Signed on"), widget=DateInput())
    witnessed_by = forms.CharField(label=_("Witnessed by"), max_length=120, required=False,
                                   help_text=_("Staff member who witnessed the signature."))
    signature_page = forms.FileField(label=_("Signed page (scan)"), required=False)

    def __init__(self, *args: Any, documents: QuerySet[ConsentDocument], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["document"].queryset = documents
        # The assent age is part of the choice: the person recording sees which versions need the child's assent.
        self.fields["document"].label_from_instance = lambda d: _("%(title)s (v%(version)s, %(language)s), assent from age %(age)s") % {
            "title": d.title, "version": d.version, "language": d.language, "age": d.assent_age_years}


class WithdrawForm(BootstrapForm):
    withdrawn_on = forms.DateField(label=_("Withdrawn on"), widget=DateInput())
    scope = forms.ChoiceField(label=_("What stops"), choices=ConsentWithdrawal.Scope.choices)
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}),
                             help_text=_("Kept in the audit trail."))


class VisitDataForm(BootstrapForm):
    """What a follow-up visit records (followup_visit_record's fields)."""

    visit_date = forms.DateField(label=_("Visit date"), widget=DateInput())
    vital_status = forms.ChoiceField(label=_("Vital status"), choices=FollowUpVisit.VitalStatus.choices)
    disease_status = forms.ChoiceField(label=_("Disease status"), required=False)
    event_date = forms.DateField(label=_("Relapse or progression date"), required=False, widget=DateInput())
    event_site = forms.CharField(label=_("Relapse or progression site"), max_length=120, required=False)
    treatment_phase = forms.CharField(label=_("Treatment phase"), max_length=40, required=False)
    last_contact_date = forms.DateField(label=_("Last contact"), required=False, widget=DateInput())
    death_date = forms.DateField(label=_("Death date"), required=False, widget=DateInput())
    death_cause = forms.CharField(label=_("Cause of death"), max_length=200, required=False)

    DATA = ("visit_date", "vital_status", "disease_status", "event_date", "event_site", "treatment_phase",
            "last_contact_date", "death_date", "death_cause")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["disease_status"].choices = code_choices(cl.RESPONSE, blank="---------")

    def visit_data(self) -> dict[str, Any]:
        return {k: self.cleaned_data[k] for k in self.DATA}


class VisitForm(VisitDataForm):
    """Enter a follow-up visit: an open one of the schedule, or an unscheduled one (empty choice)."""

    visit = forms.ChoiceField(label=_("Visit"), required=False)
    field_order = ["visit"]

    def __init__(self, *args: Any, visits: list[FollowUpVisit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.visits = {str(v.pk): v for v in visits}
        self.fields["visit"].choices = [("", _("Unscheduled visit")), *[
            (str(v.pk), _("Visit %(number)s (target %(date)s, %(status)s)") % {
                "number": v.number, "date": v.target_date.isoformat() if v.target_date else "-",
                "status": v.get_status_display()})
            for v in visits]]

    def chosen_visit(self) -> FollowUpVisit | None:
        return self.visits.get(self.cleaned_data.get("visit") or "")


class VisitCorrectForm(VisitDataForm):
    """Correct a recorded visit (followup_visit_record on a done visit, as the API's record action): prefilled with
    what is recorded; the reason is required and kept in the audit trail."""

    reason = forms.CharField(label=_("Reason for the correction"), widget=forms.Textarea(attrs={"rows": 3}),
                             help_text=_("Kept in the audit trail."))

    def __init__(self, *args: Any, visit: FollowUpVisit, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {name: getattr(visit, name) for name in self.DATA})
        super().__init__(*args, **kwargs)


class MissedForm(BootstrapForm):
    reason = forms.CharField(label=_("Why the visit was missed"), widget=forms.Textarea(attrs={"rows": 3}),
                             help_text=_("Kept in the audit trail."))
