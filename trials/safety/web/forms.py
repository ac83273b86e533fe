"""Forms of the adverse-event pages: the report, the follow-up report, the sponsor's assessment and the report of a
reporting clock. They only collect input: every rule is the safety services' (their refusals are shown next to these
fields by `add_application_error`). The report's fields and labels are the declaration's (trials/safety/ae_form.py)."""
from typing import Any

from django import forms
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from registry.web.forms import BootstrapForm, BootstrapFormMixin
from trials.safety import ae_form, ctcae
from trials.safety.ae_form import Expectedness, Relatedness
from trials.safety.models import AdverseEventVersion
from trials.web.forms import DATE, DATETIME, DATETIME_FORMATS, datetime_to_the_second


def _date_pickers() -> dict[str, forms.Widget]:
    """The browser's date (or date and time) picker for each declared date field."""
    pickers: dict[str, forms.Widget] = {}
    for field in ae_form.ENTERED:
        model_field = AdverseEventVersion._meta.get_field(field.name)
        if isinstance(model_field, models.DateTimeField):  # before DateField: a DateTimeField is one
            pickers[field.name] = DATETIME
        elif isinstance(model_field, models.DateField):
            pickers[field.name] = DATE
    return pickers


class AdverseEventForm(BootstrapFormMixin, forms.ModelForm):
    """An initial AE report. The term is chosen by the CTCAE search (it fills `meddra_code`); the grade's help
    text is the term's own grade descriptions."""

    class Meta:
        model = AdverseEventVersion
        fields = [field.name for field in ae_form.ENTERED]  # the declaration's entered fields, in its order
        widgets = {"meddra_code": forms.HiddenInput, **_date_pickers()}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        grade_choices = [("", "---------"), *((g, f"{g} · {ctcae.GRADE_MEANINGS[g]}") for g in ctcae.GRADES)]
        self.fields["grade"] = forms.TypedChoiceField(label=ae_form.label("grade"), choices=grade_choices, coerce=int,
                                                      widget=forms.Select(attrs={"class": "form-select"}))
        self.fields["site_awareness_at"].input_formats = DATETIME_FORMATS
        self.term = self.chosen_term()
        if self.term is not None:
            self.fields["grade"].choices = [("", "---------"), *((g, f"{g} · {ctcae.GRADE_MEANINGS[g]}") for g in self.term.grades)]
        for name in self.fields:
            if name != "grade":
                self.fields[name].required = False  # the service says what is missing, as the API does

    def chosen_term(self) -> ctcae.Term | None:
        code = (self.data.get("meddra_code") if self.is_bound else self.initial.get("meddra_code")) or ""
        return ctcae.terms().get(str(code).strip())

    def report_data(self) -> dict[str, Any]:
        # Empty optional fields stay in: the service reports each missing required one by name, like the API.
        return {**self.cleaned_data, "other_specify": self.cleaned_data.get("other_specify") or ""}


def version_initial(version: AdverseEventVersion) -> dict[str, Any]:
    """The current report's values, as the follow-up form's starting point."""
    return {name: getattr(version, name) for name in AdverseEventForm._meta.fields}  # type: ignore[union-attr]


class AdverseEventFollowUpForm(AdverseEventForm):
    """The report form prefilled from the current version, plus the reason. The site's awareness time keeps its
    seconds so that an untouched time is not a change (the service refuses moving it once the event is serious)."""

    reason = forms.CharField(label=_("Reason for the follow-up"), required=False, max_length=500,
                             help_text=_("Required when the event is signed: the signature is then voided (audited)."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["site_awareness_at"].widget = datetime_to_the_second()

    def changes(self) -> dict[str, Any]:
        """The fields whose value differs from the current version, as the service's `data`."""
        data = self.report_data()
        return {name: data[name] for name in self.changed_data if name != "reason"}


class SponsorAssessmentForm(BootstrapForm):
    """The sponsor's expectedness and causality (the model's choices); whether that is a SUSAR is the service's rule."""

    expectedness = forms.ChoiceField(label=_("Expectedness (sponsor)"), choices=[("", "---------"), *Expectedness.choices])
    causality = forms.ChoiceField(label=_("Causality (sponsor)"), choices=[("", "---------"), *Relatedness.choices])
    sponsor_awareness_at = forms.DateTimeField(
        label=_("Sponsor's awareness"), required=False, widget=DATETIME, input_formats=DATETIME_FORMATS,
        help_text=_("When the sponsor first knew of the SAE (day 0 of a SUSAR clock), Asia/Shanghai time. Leave empty to keep "
                    "the recorded time (when the site's report was recorded, otherwise now)."))
    reason = forms.CharField(label=_("Reason for the change"), required=False, max_length=500,
                             help_text=_("Required to change an earlier assessment (audited)."))


class ClockReportForm(BootstrapForm):
    """When the report was sent; empty means now."""

    reported_at = forms.DateTimeField(label=_("Reported at"), required=False, widget=DATETIME, input_formats=DATETIME_FORMATS,
                                      initial=timezone.now, help_text=_("Asia/Shanghai time; empty means now."))

    def __init__(self, *args: Any, clock_id: int, **kwargs: Any) -> None:
        # One form per open clock on the event page: the prefix keeps the fields' ids apart.
        super().__init__(*args, prefix=f"clock-{clock_id}", **kwargs)
