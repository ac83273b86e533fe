"""The parameters of each report kind as a page form; the service (reports.services) checks them against the user."""
from typing import Any

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from imaging.lowdose.models import EvaluationProtocol
from imaging.reading.models import ReadingComparison
from registry.access import Action
from registry.models import User
from registry.selectors import hospital_list
from registry.web.forms import BootstrapForm
from trials.selectors import trial_list


class _ReportForm(BootstrapForm):
    as_of = forms.DateField(label=_("As of"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
                            help_text=_("The reference date of the report; today when left empty."))

    language = forms.ChoiceField(label=_("Language of the PDF"), required=False,
                                 choices=[("en", "English"), ("zh-hans", "简体中文")],
                                 help_text=_("Headings and labels of the PDF and the XLSX; the CSV is the same in both."))

    def __init__(self, *args: Any, user: User, documents: bool = True, **kwargs: Any) -> None:
        self.user = user
        super().__init__(*args, **kwargs)
        if not documents:  # a kind that writes its own files (the extract) has no PDF, hence no language
            del self.fields["language"]
        elif not self.is_bound:
            self.initial.setdefault("language", "zh-hans" if (get_language() or "").startswith("zh") else "en")

    def params(self) -> dict[str, Any]:
        """The cleaned form as the service's JSON parameters (dates as ISO strings, empty values left out)."""
        out: dict[str, Any] = {}
        for name, value in self.cleaned_data.items():
            if value in (None, "", []) or (name == "language" and value == "en"):  # English is the service's default
                continue
            out[name] = value.isoformat() if hasattr(value, "isoformat") else value
        return out


class CohortForm(_ReportForm):
    hospitals = forms.MultipleChoiceField(label=_("Hospitals"), required=False,
                                          help_text=_("Every hospital you may report on when none is chosen."))
    diagnosis_from = forms.DateField(label=_("Diagnosed from"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    diagnosis_to = forms.DateField(label=_("Diagnosed until"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    field_order = ["as_of", "hospitals", "diagnosis_from", "diagnosis_to"]

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, user=user, **kwargs)
        self.fields["hospitals"].choices = [(h.code, str(h)) for h in hospital_list(user=user).order_by("code")]
        self.fields["hospitals"].widget.attrs["size"] = min(8, max(2, len(self.fields["hospitals"].choices)))


class TrialForm(_ReportForm):
    trial = forms.TypedChoiceField(label=_("Trial"), coerce=int)
    field_order = ["trial", "as_of"]

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, user=user, **kwargs)
        chinese = (get_language() or "").startswith("zh")
        self.fields["trial"].choices = [(t.pk, f"{t.code} — {t.title_zh if chinese else t.title_en}") for t in trial_list(user=user)]


class DiagnosticForm(_ReportForm):
    comparison = forms.TypedChoiceField(label=_("Reading comparison"), coerce=int)
    field_order = ["comparison", "as_of"]

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, user=user, **kwargs)
        comparisons = ReadingComparison.objects.restrict(user, Action.VIEW).order_by("pk")
        self.fields["comparison"].choices = [(c.pk, str(c)) for c in comparisons]


class DoseSavingForm(_ReportForm):
    hospitals = forms.MultipleChoiceField(label=_("Hospitals"), required=False,
                                          help_text=_("Every hospital you may report on when none is chosen."))
    study_from = forms.DateField(label=_("Studies from"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    study_to = forms.DateField(label=_("Studies until"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    field_order = ["as_of", "hospitals", "study_from", "study_to"]

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, user=user, **kwargs)
        self.fields["hospitals"].choices = [(h.code, str(h)) for h in hospital_list(user=user).order_by("code")]
        self.fields["hospitals"].widget.attrs["size"] = min(8, max(2, len(self.fields["hospitals"].choices)))


class LowdoseValidationForm(DoseSavingForm):
    protocol = forms.TypedChoiceField(label=_("Evaluation protocol"), coerce=int)
    field_order = ["protocol", "as_of", "hospitals", "study_from", "study_to"]

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, user=user, **kwargs)
        protocols = EvaluationProtocol.objects.restrict(user, Action.VIEW).order_by("name", "pk")
        self.fields["protocol"].choices = [(p.pk, str(p)) for p in protocols]
        self.order_fields(self.field_order)


class AsOfForm(_ReportForm):
    """Kinds with no parameter but the reference date (the data managers' extract, and any kind added later)."""


FORMS: dict[str, type[_ReportForm]] = {"cohort": CohortForm, "trial": TrialForm, "diagnostic": DiagnosticForm,
                                       "dose_saving": DoseSavingForm, "lowdose_validation": LowdoseValidationForm}


def form_for(kind: str) -> type[_ReportForm]:
    return FORMS.get(kind, AsOfForm)
