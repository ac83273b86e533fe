"""Forms of the imaging pages: the upload fallback form and the hold release (the blinded case scores are the reading sub-app's)."""
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from registry.models import Patient
from registry.web.forms import BootstrapForm, BootstrapFormMixin


class PatientChoiceField(forms.ModelChoiceField):
    # The platform study ID only: a name or record number never appears in an upload form.
    def label_from_instance(self, obj: Patient) -> str:
        return obj.study_id


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
    patient = PatientChoiceField(queryset=Patient.objects.none(), label=_("Patient"), empty_label=_("Choose a patient"))
    trial_visit_id = forms.IntegerField(label=_("Trial visit (optional)"), required=False, min_value=1,
                                        help_text=_("The id of this patient's trial visit these images belong to, if any."))
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

