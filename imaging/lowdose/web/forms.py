"""Forms of the low-dose evaluation pages. They only collect input; what makes a protocol or a pair valid is the
services' rule (imaging.lowdose.services), whose refusals `add_application_error` shows next to these fields."""
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from imaging.lowdose.models import SeriesRole
from imaging.lowdose.reader_study import CRITERIA as READER_STUDY_CRITERIA
from imaging.lowdose.services import CRITERION_METRICS, READER_CRITERIA
from imaging.models import ImagingStudy, Series
from registry.access import Action
from registry.models import User
from registry.web.forms import BootstrapForm

CRITERION_ROWS = 5  # rows offered on the form; a protocol rarely pre-declares more (the API takes any number)
METRIC_LABELS: dict[str, Any] = {
    "nrmse": _("NRMSE (in the body mask)"),
    "psnr_db": _("PSNR (dB)"),
    "ssim": _("SSIM"),
    "suv_max_bias_percent": _("Whole-body SUVmax bias (%)"),
    "voi_suv_max_bias_percent": _("Lesion SUVmax bias (%), worst VOI"),
    "voi_suv_mean_bias_percent": _("Lesion SUVmean bias (%), worst VOI"),
    "voi_suv_peak_bias_percent": _("Lesion SUVpeak bias (%), worst VOI"),
}
# The three bounds of imaging.lowdose.evaluation._judge: |worst| < max_abs, worst >= min, worst <= max.
BOUND_LABELS: dict[str, Any] = {"max_abs": _("|value| <"), "min": _("value ≥"), "max": _("value ≤")}
# A reader-study criterion (services.check_criteria): a metric row's choice "reader:<key>", its bound the margin.
READER_PREFIX = "reader:"
READER_LABELS: dict[str, Any] = dict(READER_STUDY_CRITERIA)
MARGIN = "non_inferiority_margin"
MARGIN_LABEL = _("non-inferior, margin (≤ 0)")


def metric_label(metric: str) -> str:
    return str(METRIC_LABELS.get(metric, metric))


def criterion_text(criterion: dict[str, Any]) -> str:
    """One pre-declared criterion as a reader reads it, e.g. "Lesion SUVmax bias (%), worst VOI: |value| < 10"."""
    if "reader" in criterion:
        label = READER_LABELS.get(criterion["reader"], criterion["reader"])
        return str(_("Reader study, %(criterion)s: test non-inferior to reference, margin %(margin)s")
                   % {"criterion": label, "margin": f"{criterion.get(MARGIN, 0):g}"})
    bound = next((k for k in BOUND_LABELS if k in criterion), None)
    if bound is None:
        return metric_label(criterion.get("metric", ""))
    return f"{metric_label(criterion.get('metric', ''))}: {BOUND_LABELS[bound]} {criterion[bound]:g}"


class ProtocolForm(BootstrapForm):
    """A protocol as protocol_create takes it; the acceptance criteria are rows of (metric, bound, value)."""

    name = forms.CharField(label=_("Name"), max_length=200)
    reference_role = forms.ChoiceField(label=_("Reference series"), choices=SeriesRole.choices, initial=SeriesRole.STANDARD)
    test_role = forms.ChoiceField(label=_("Test series"), choices=SeriesRole.choices, initial=SeriesRole.LOW_ACTIVITY)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Grouped: the image metrics are judged per pair, the reader criteria over the reader study (a margin, <= 0).
        metric_choices = [("", "—"), (_("Image metrics (each pair)"), [(m, METRIC_LABELS[m]) for m in CRITERION_METRICS]),
                          (_("Reader study (non-inferiority)"), [(f"{READER_PREFIX}{k}", READER_LABELS[k]) for k in READER_CRITERIA])]
        super().__init__(*args, **kwargs)
        for n in range(CRITERION_ROWS):
            self.fields[f"metric_{n}"] = forms.ChoiceField(label=_("Metric"), choices=metric_choices, required=False)
            self.fields[f"bound_{n}"] = forms.ChoiceField(label=_("Bound"), choices=[*BOUND_LABELS.items(), (MARGIN, MARGIN_LABEL)],
                                                          initial="max_abs",
                                                          required=False)
            self.fields[f"value_{n}"] = forms.FloatField(label=_("Value"), required=False)
            for name in (f"metric_{n}", f"bound_{n}", f"value_{n}"):
                css = "form-select form-select-sm" if name.startswith(("metric", "bound")) else "form-control form-control-sm"
                self.fields[name].widget.attrs["class"] = css
                # The row's labels are the table's column headings; a screen reader is told which row it is in.
                self.fields[name].widget.attrs["aria-label"] = f"{self.fields[name].label} ({n + 1})"

    def visible_main_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in ("name", "reference_role", "test_role", "description")]

    def criterion_rows(self) -> list[tuple[forms.BoundField, forms.BoundField, forms.BoundField]]:
        return [(self[f"metric_{n}"], self[f"bound_{n}"], self[f"value_{n}"]) for n in range(CRITERION_ROWS)]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        criteria = []
        for n in range(CRITERION_ROWS):
            metric, bound, value = data.get(f"metric_{n}"), data.get(f"bound_{n}") or "max_abs", data.get(f"value_{n}")
            if metric and value is None:
                self.add_error(f"value_{n}", _("Give the bound's value."))
            elif value is not None and not metric:
                self.add_error(f"metric_{n}", _("Choose the metric this bound applies to."))
            elif metric and metric.startswith(READER_PREFIX):
                criteria.extend(self._reader_criterion(n, metric.removeprefix(READER_PREFIX), bound, value))
            elif metric and bound == MARGIN:
                self.add_error(f"bound_{n}", _("A margin of non-inferiority applies to a reader-study criterion; an image metric "
                                               "takes |value| <, value ≥ or value ≤."))
            elif metric:
                criteria.append({"metric": metric, bound: value})
        data["acceptance_criteria"] = criteria
        return data

    def _reader_criterion(self, n: int, key: str, bound: str, value: float) -> list[dict[str, Any]]:
        """The row as a reader criterion, or no criterion and the row's error (the service checks the rest)."""
        if bound != MARGIN:
            self.add_error(f"bound_{n}", _("A reader-study criterion is judged by a margin of non-inferiority: choose that bound."))
        elif value > 0:
            self.add_error(f"value_{n}", _("The margin is at most 0: how much worse the test may be (e.g. -0.5 on a 1-5 scale)."))
        else:
            return [{"reader": key, MARGIN: value}]
        return []

    def protocol_values(self) -> dict[str, Any]:
        """The keyword arguments of protocol_create."""
        return {key: self.cleaned_data[key] for key in ("name", "reference_role", "test_role", "description", "acceptance_criteria")}


class _StudyChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: ImagingStudy) -> str:
        return f"{obj.patient.study_id} · {obj.study_date or '—'} · {obj.tracer or '—'} (#{obj.pk})"


class _SeriesChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Series) -> str:
        return (f"{obj.patient.study_id} · {obj.study.study_date or '—'} · #{obj.study_id} · "
                f"{_('series')} {obj.series_number if obj.series_number is not None else '—'} {obj.description}").strip()


def pet_studies(user: Any) -> Any:
    return (ImagingStudy.objects.restrict(user, Action.VIEW).filter(modality_group=ImagingStudy.ModalityGroup.PET_CT)
            .select_related("patient").order_by("-study_date", "-id"))


def pet_series(user: Any) -> Any:
    return (Series.objects.restrict(user, Action.VIEW).filter(modality="PT")
            .select_related("patient", "study").order_by("-study__study_date", "study_id", "series_number", "id"))


class PairFindForm(BootstrapForm):
    """The study whose PET series are paired by their roles (pairs_find); the protocol is the page's."""

    study = _StudyChoice(label=_("PET study"), queryset=ImagingStudy.objects.none())

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["study"].queryset = pet_studies(user)


class PairAssignForm(BootstrapForm):
    """Two PET series of one study, paired by hand (pair_assign checks they are of one study)."""

    reference = _SeriesChoice(label=_("Reference series"), queryset=Series.objects.none())
    test = _SeriesChoice(label=_("Test series"), queryset=Series.objects.none())

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reference"].queryset = pet_series(user)
        self.fields["test"].queryset = pet_series(user)


class RetryForm(BootstrapForm):
    """Nothing to type: the button is the input (the pair is the URL's). A form all the same, so the write is bound."""


class ReaderStudyForm(BootstrapForm):
    """A blinded reader study of the protocol's pairs, as reader_study_create takes it (the reading service refuses a
    reader who is not blind to every series, with the reason)."""

    readers = forms.ModelMultipleChoiceField(label=_("Readers"), queryset=User.objects.none(), to_field_name="username",
                                             help_text=_("Readers from hospitals other than the children's, so that they are blind."))
    name = forms.CharField(label=_("Name"), max_length=120, required=False, help_text=_("Empty: \"Reader study: <protocol>\"."))
    evaluated_only = forms.BooleanField(label=_("Only pairs whose evaluation succeeded"), required=False, initial=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["readers"].queryset = User.objects.filter(is_active=True).order_by("username")
