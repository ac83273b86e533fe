"""Forms of the enhancement model pages: the register form takes what model_register takes (the service checks the
SHA-256 against the uploaded bytes, that ONNX Runtime can load the file, and the contract's values)."""
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from imaging.enhancement.models import Normalisation
from registry.web.forms import BootstrapForm


class ModelRegisterForm(BootstrapForm):
    file = forms.FileField(label=_("ONNX file"), help_text=_("One float32 input 1x1xDxHxW and one output of the same shape."),
                           widget=forms.ClearableFileInput(attrs={"accept": ".onnx"}))
    sha256 = forms.RegexField(label=_("SHA-256 of the file"), regex=r"^\s*[0-9a-fA-F]{64}\s*$", max_length=80,
                              help_text=_("As published with the model: the uploaded bytes must hash to it."),
                              error_messages={"invalid": _("A SHA-256 is 64 hexadecimal characters.")})
    name = forms.CharField(label=_("Name"), max_length=100)
    version = forms.CharField(label=_("Version"), max_length=40)
    modality = forms.CharField(label=_("Modality"), max_length=4, initial="PT")
    tracer = forms.CharField(label=_("Tracer"), max_length=32, required=False, help_text=_("Empty: any tracer."))
    units = forms.CharField(label=_("Units (0054,1001)"), max_length=16, initial="BQML")
    voxel_row_mm = forms.FloatField(label=_("Voxel size, rows (mm)"), min_value=0.01)
    voxel_column_mm = forms.FloatField(label=_("Voxel size, columns (mm)"), min_value=0.01)
    voxel_slice_mm = forms.FloatField(label=_("Voxel size, slices (mm)"), min_value=0.01)
    voxel_tolerance_mm = forms.FloatField(label=_("Voxel size tolerance (mm)"), min_value=0, initial=0.1)
    max_activity_mbq_per_kg = forms.FloatField(
        label=_("Low-dose threshold (MBq/kg)"), min_value=0,
        help_text=_("A series is enhanced when its injected activity per kg is at most this."))
    normalisation = forms.ChoiceField(label=_("Normalisation"), choices=Normalisation.choices, initial=Normalisation.BODY_MEAN)
    body_mask_fraction = forms.FloatField(label=_("Body mask fraction"), min_value=0, max_value=1, initial=0.05,
                                          help_text=_("Body mask: voxels above this fraction of the maximum."))
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def register_values(self) -> dict[str, Any]:
        """The keyword arguments of model_register (the file is the uploaded file, read once by the service)."""
        data = dict(self.cleaned_data)
        data["voxel_size_mm"] = [data.pop("voxel_row_mm"), data.pop("voxel_column_mm"), data.pop("voxel_slice_mm")]
        data["sha256"] = data["sha256"].strip()
        return data


class DeactivateForm(BootstrapForm):
    reason = forms.CharField(label=_("Reason"), max_length=200)
