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


SEEN_CHOICES = [("", "—"), ("yes", _("Seen")), ("no", _("Not seen"))]


class CaseScoreForm(BootstrapForm):
    """The four 5-point scales of a blinded image-quality read (1 = worst, 5 = best); names as in SCALES. A case that
    lists known lesions adds, per lesion n, `lesion_<n>_seen` (seen / not seen) and `lesion_<n>_confidence` (1-5)."""

    overall_quality = _likert("overall_quality")
    noise = _likert("noise")
    lesion_conspicuity = _likert("lesion_conspicuity")
    diagnostic_confidence = _likert("diagnostic_confidence")

    def __init__(self, *args: Any, lesions: list[dict[str, Any]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lesion_numbers = [lesion["number"] for lesion in lesions or []]
        for lesion in lesions or []:
            n, where = lesion["number"], lesion["site"] or _("no site given")
            self.fields[f"lesion_{n}_seen"] = forms.ChoiceField(
                label=_("Lesion %(n)s (%(where)s)") % {"n": n, "where": where}, choices=SEEN_CHOICES)
            self.fields[f"lesion_{n}_confidence"] = forms.TypedChoiceField(
                label=_("Lesion %(n)s: confidence in your call (1 = a guess, 5 = certain)") % {"n": n},
                choices=LIKERT_CHOICES, coerce=int, empty_value=None)
            for field in (f"lesion_{n}_seen", f"lesion_{n}_confidence"):
                self.fields[field].widget.attrs.setdefault("class", "form-select")

    def scores(self) -> dict[str, int]:
        return {scale: self.cleaned_data[scale] for scale in SCALES}

    def lesion_reads(self) -> list[tuple[int, bool, int]]:
        """(number, seen, confidence) per lesion, for the service (which checks that every lesion is answered)."""
        data = self.cleaned_data
        return [(n, data[f"lesion_{n}_seen"] == "yes", data[f"lesion_{n}_confidence"]) for n in self.lesion_numbers]

    @staticmethod
    def lesion_initial(lesions: list[dict[str, Any]]) -> dict[str, Any]:
        return {**{f"lesion_{x['number']}_seen": "" if x["seen"] is None else ("yes" if x["seen"] else "no") for x in lesions},
                **{f"lesion_{x['number']}_confidence": x["confidence"] for x in lesions}}


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
