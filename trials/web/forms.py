"""Forms of the trial pages. They only collect input: every rule is the services' (their refusals are shown
next to these fields by `add_application_error`)."""
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from registry.web.forms import BootstrapForm, BootstrapFormMixin
from trials.models import Arm, DosingRecord, EligibilityCriterion, SubjectVisit, TrialSite

DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
# What the browser's datetime-local sends, with or without seconds; the time zone is the active one (Asia/Shanghai).
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
MET_CHOICES = [("", "---------"), ("yes", _("Met")), ("no", _("Not met"))]
REASON_HELP = _("Required when the casebook is signed: the signature is then voided (audited).")


class SiteChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: TrialSite) -> str:
        return f"{obj.site_number} · {obj.hospital.code}"


class ScreeningForm(BootstrapForm):
    """The site, the patient (study ID), the date, and one "met / not met" answer per criterion of the protocol version."""

    site = SiteChoiceField(label=_("Site"), queryset=TrialSite.objects.none())
    patient = forms.CharField(label=_("Patient study ID"), max_length=16)
    screened_on = forms.DateField(label=_("Screening date"), widget=DATE)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, sites: Any, criteria: list[EligibilityCriterion], language: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites
        self.criteria = criteria
        for criterion in criteria:
            text = criterion.text_zh if language.startswith("zh") else criterion.text_en
            kind = _("Inclusion") if criterion.kind == EligibilityCriterion.Kind.INCLUSION else _("Exclusion")
            field = forms.ChoiceField(label=f"{criterion.label} ({kind}): {text}", choices=MET_CHOICES)
            field.widget.attrs["class"] = "form-select"
            self.fields[f"criterion_{criterion.pk}"] = field

    def answers(self) -> dict[int, bool]:
        return {c.pk: self.cleaned_data[f"criterion_{c.pk}"] == "yes" for c in self.criteria}


class EnrolForm(BootstrapForm):
    site = SiteChoiceField(label=_("Site"), queryset=TrialSite.objects.none())
    patient = forms.CharField(label=_("Patient study ID"), max_length=16)
    arm = forms.ModelChoiceField(label=_("Arm (cohort)"), queryset=Arm.objects.none(), required=False,
                                 help_text=_("Only for a non-randomised trial with several arms; a randomised trial allocates the arm."))

    def __init__(self, *args: Any, sites: Any, arms: Any, randomised: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites
        if randomised:
            del self.fields["arm"]
        else:
            self.fields["arm"].queryset = arms


class DosingForm(BootstrapFormMixin, forms.ModelForm):
    reason = forms.CharField(label=_("Reason for the change"), required=False, max_length=500, help_text=REASON_HELP)

    class Meta:
        model = DosingRecord
        fields = ["visit", "lot_number", "calibrated_activity_mbq", "calibrated_at", "administered_activity_mbq", "administered_at",
                  "residual_activity_mbq", "residual_measured_at", "route", "weight_kg"]
        widgets = {"calibrated_at": DATETIME, "administered_at": DATETIME, "residual_measured_at": DATETIME}

    def __init__(self, *args: Any, visits: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["visit"].queryset = visits
        self.fields["visit"].label = _("Visit")
        for name in ("calibrated_at", "administered_at", "residual_measured_at"):
            self.fields[name].input_formats = DATETIME_FORMATS


def datetime_to_the_second() -> forms.DateTimeInput:
    """A datetime-local input showing seconds, for forms that correct a recorded time: an untouched time then comes
    back unchanged. A new widget per call: refusals mark widgets invalid, which must not leak into another form."""
    return forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1", "class": "form-control"}, format="%Y-%m-%dT%H:%M:%S")


class DoseCorrectionForm(DosingForm):
    """A recorded dose, prefilled, with a required reason. Times keep their seconds so that an untouched time is not
    a change (the recording form's minute precision would otherwise move it)."""

    reason = forms.CharField(label=_("Reason for the correction"), max_length=500,
                             help_text=_("Recorded in the audit trail with the values before and after."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("calibrated_at", "administered_at", "residual_measured_at"):
            self.fields[name].widget = datetime_to_the_second()

    def changes(self) -> dict[str, Any]:
        """The fields whose value differs from the record's, as the service's `data`."""
        return {name: self.cleaned_data[name] for name in self.changed_data if name != "reason"}


class VisitChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: SubjectVisit) -> str:
        return obj.definition.code


class VisitRecordForm(BootstrapForm):
    """A visit done on a date, or missed. Whether a reason is needed (the visit was already recorded, or the casebook
    is signed) and whether the date is allowed are the visit service's rules."""

    status = forms.ChoiceField(label=_("Outcome"), choices=[(SubjectVisit.Status.DONE, _("Done")), (SubjectVisit.Status.MISSED, _("Missed"))])
    done_on = forms.DateField(label=_("Done on"), widget=DATE, required=False,
                              help_text=_("For a done visit. A date outside the visit window needs a reason and raises a protocol "
                                          "deviation for review."))
    reason = forms.CharField(label=_("Reason for the change"), required=False, max_length=500,
                             help_text=_("Required when the visit was already recorded, or when the casebook is signed (the signature "
                                         "is then voided)."))
    out_of_window_reason = forms.CharField(
        label=_("Reason for the date outside the window"), required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when the visit was done outside its window: kept on the visit and in the audit trail."))


class DeviationReviewForm(BootstrapForm):
    review_note = forms.CharField(label=_("Review: what was found and what was done"), widget=forms.Textarea(attrs={"rows": 2}),
                                  required=False)
    reason = forms.CharField(label=_("Reason for the change"), required=False, max_length=500, help_text=REASON_HELP)

    def __init__(self, *args: Any, deviation_id: int, **kwargs: Any) -> None:
        # One form per open deviation on the subject page: the prefix keeps the fields' ids apart.
        super().__init__(*args, prefix=f"deviation-{deviation_id}", **kwargs)


class UnblindForm(BootstrapForm):
    reason = forms.CharField(label=_("Reason for unblinding"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}),
                             help_text=_("Why this subject's arm must be known (e.g. managing a serious adverse event). "
                                         "Audited; the arm is then shown to everyone who may see the subject."))
