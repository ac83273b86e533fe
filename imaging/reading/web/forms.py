"""Form of the blinded reading case page. It only collects the reader's four scores; the rules are the reading
services' (their refusals are shown next to these fields by `add_application_error`)."""
from django import forms
from django.utils.translation import gettext_lazy as _

from imaging.reading.models.sessions import SCALES
from registry.web.forms import BootstrapForm

SCALE_LABELS = {
    "overall_quality": _("Overall image quality"),
    "noise": _("Noise (5 = least noise)"),
    "lesion_conspicuity": _("Lesion conspicuity"),
    "diagnostic_confidence": _("Diagnostic confidence"),
}
LIKERT_CHOICES = [("", "—"), *[(str(n), str(n)) for n in range(1, 6)]]


def _likert(scale: str) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(label=SCALE_LABELS[scale], choices=LIKERT_CHOICES, coerce=int, empty_value=None)


class CaseScoreForm(BootstrapForm):
    """The four 5-point scales of a blinded image-quality read (1 = worst, 5 = best); names as in SCALES."""

    overall_quality = _likert("overall_quality")
    noise = _likert("noise")
    lesion_conspicuity = _likert("lesion_conspicuity")
    diagnostic_confidence = _likert("diagnostic_confidence")

    def scores(self) -> dict[str, int]:
        return {scale: self.cleaned_data[scale] for scale in SCALES}
