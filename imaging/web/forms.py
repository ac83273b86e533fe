"""Forms of the imaging pages: the upload fallback form, the hold release and the exam's acquisition (protocol, sedation);
the blinded case scores are the reading sub-app's."""
from collections.abc import Iterable
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.formats import date_format
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from imaging.models import ImagingStudy
from registry.api.serializers import ROW_ID_MAX
from registry.models import Patient
from registry.web.forms import BootstrapForm, BootstrapFormMixin


class PatientChoiceField(forms.ModelChoiceField):
    """A patient chosen by the platform study ID (a name or record number never appears in an upload form), typed
    into a search box backed by the scoped search endpoint (`web-upload-patients`). The patient's numeric id is
    accepted as well (older clients and links); study IDs (hospital code + digits) are never all digits."""

    def label_from_instance(self, obj: Patient) -> str:
        return obj.study_id

    def to_python(self, value: Any) -> Patient | None:
        if value in self.empty_values:
            return None
        text = str(value).strip()
        key = "pk" if text.isdigit() else "study_id"
        try:
            return self.queryset.get(**{key: text})  # type: ignore[union-attr]
        except (ValueError, TypeError, self.queryset.model.DoesNotExist):  # type: ignore[union-attr]
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice") from None

    def prepare_value(self, value: Any) -> Any:
        # The box shows the study ID, also when the initial value is a Patient or its id.
        if isinstance(value, Patient):
            return value.study_id
        if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
            found = self.queryset.filter(pk=value).values_list("study_id", flat=True).first()  # type: ignore[union-attr]
            return found or value
        return value


def visit_label(visit: Any) -> str:
    """A trial visit by name, as the coordinator knows it: "TRIAL · Cycle 1 day 8 — MIBG (target date)"."""
    definition = visit.definition
    name = definition.name_zh if get_language() == "zh-hans" and definition.name_zh else definition.name_en
    when = date_format(visit.target_date, "SHORT_DATE_FORMAT") if visit.target_date else _("not scheduled yet")
    return f"{visit.subject.trial.code} · {name} ({when})"


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Every picked file (Django's documented pattern for <input multiple>)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data]
        return [single(data, initial)] if data else []


class _ScopedPatientsForm(forms.Form):
    """Sets the patient choices inside Form.__init__: BootstrapFormMixin validates a bound form at the end of its
    __init__ (to mark invalid fields), so the queryset must be in place before that, not after super().__init__()."""

    def __init__(self, *args: Any, patients: QuerySet[Patient], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["patient"].queryset = patients  # type: ignore[attr-defined]


class UploadForm(BootstrapFormMixin, _ScopedPatientsForm):
    patient = PatientChoiceField(
        queryset=Patient.objects.none(), label=_("Patient"), empty_label=None,
        widget=forms.TextInput(attrs={"list": "patient-options", "autocomplete": "off", "type": "search",
                                      "placeholder": _("Type a study ID")}),
        help_text=_("The patient's study ID; type part of it to search among the patients you may upload for."))
    # Chosen by name from the patient's own visits (the page fills the list when the patient is chosen); still an
    # integer on the wire, so the ingest's own check of the visit (this patient's, inside your scope) decides.
    trial_visit_id = forms.IntegerField(label=_("Trial visit (optional)"), required=False, min_value=1, max_value=ROW_ID_MAX,
                                        widget=forms.Select(choices=[("", _("No trial visit"))]),
                                        help_text=_("The patient's trial visit these images were taken for, if any."))

    def __init__(self, *args: Any, visits: QuerySet[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.offer_visits(visits)

    def offer_visits(self, visits: Iterable[Any] | None) -> None:
        """The visit list: the chosen patient's visits by name (a bound form learns its patient by validating)."""
        choices: list[tuple[Any, str]] = [("", _("No trial visit"))] + [(v.pk, visit_label(v)) for v in (visits if visits is not None else [])]
        posted = str(self.data.get("trial_visit_id", "")).strip() if self.is_bound else ""
        if posted and posted not in {str(value) for value, _label in choices}:
            # Kept as sent (input is kept on errors), so the refusal next to the field shows what it refers to.
            choices.append((posted, posted))
        self.fields["trial_visit_id"].widget.choices = choices
    # Not `required`: the missing-file message is the upload API's, from clean_files.
    files = MultipleFileField(label=_("DICOM files or zip archives"), required=False,
                              help_text=_(".dcm files and/or .zip archives; each file gets its own result."))

    def clean_files(self) -> list[Any]:
        files = self.cleaned_data.get("files") or []
        if not files:
            raise forms.ValidationError(_("Attach at least one .dcm file or .zip archive."))
        return files


class ReleaseForm(BootstrapForm):
    reason = forms.CharField(label=_("Reason for release"), widget=forms.Textarea(attrs={"rows": 2}),
                             help_text=_("Who checked, and why the images are this patient's."))


class AcquisitionForm(BootstrapForm):
    """The exam's protocol and the child's sedation, set by hand (imaging.services.acquisition.study_acquisition_update)."""

    acquisition_protocol = forms.ChoiceField(label=_("Acquisition protocol"), choices=ImagingStudy.AcquisitionProtocol.choices,
                                             help_text=_("Set here, it is never replaced by the protocol the dose step infers."))
    sedation = forms.ChoiceField(label=_("Sedation"), choices=ImagingStudy.Sedation.choices)
    reason = forms.CharField(label=_("Reason for change (optional)"), required=False, max_length=500)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Element ids of its own: the study page also shows the release form, whose reason field is id_reason too (two
        # equal ids sent the "Reason for release" label to this form's hidden field).
        kwargs.setdefault("auto_id", "id_acquisition_%s")
        super().__init__(*args, **kwargs)
