"""Forms of the reading pages: the blinded case page's four scores and the score sheet's values. They only collect
input; the rules are the reading services' (their refusals are shown next to these fields by `add_application_error`)."""
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from imaging.reading import rules
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


class SheetValuesForm(forms.Form):
    """What the score sheet page posts besides its meta fields: a level per segment (Curie, SIOPEN) or the lesion
    rows (Krenning: site_0/score_0, site_1/score_1, ..., as many as the page sent), and the button pressed.

    Lenient on purpose: every field is optional and a value that is not a whole number is stored as missing, so a
    draft saves whatever is typed; what makes a sheet complete and valid is the sheet services' rule, shared with the API.
    """

    action = forms.CharField(required=False)

    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        if kind == rules.KRENNING:
            n = 0
            while f"site_{n}" in self.data:
                self.fields[f"site_{n}"] = forms.CharField(required=False)
                self.fields[f"score_{n}"] = forms.CharField(required=False, strip=False)
                n += 1
        else:
            for code in rules.segment_codes(kind):
                self.fields[f"seg_{code}"] = forms.CharField(required=False, strip=False)

    def submits(self) -> bool:
        return self.cleaned_data["action"] == "submit"

    def values_and_typed(self) -> tuple[dict[str, Any], dict[str, str]]:
        """The sheet values for the services, and what the reader typed (shown again after a refusal)."""
        data = self.cleaned_data
        if self.kind == rules.KRENNING:
            lesions, typed = [], {}
            n = 0
            while f"site_{n}" in data:
                site, score = data[f"site_{n}"], data[f"score_{n}"]
                typed[f"site_{n}"], typed[f"score_{n}"] = site, score
                if site or score:
                    lesions.append({"site": site, "score": int(score) if score.isdigit() else None})
                n += 1
            return {"lesions": lesions}, typed
        values: dict[str, Any] = {}
        typed = {}
        for code in rules.segment_codes(self.kind):
            raw = data[f"seg_{code}"]
            typed[code] = raw
            values[code] = int(raw) if raw.isdigit() else None
        return values, typed
