"""What the viewer is told about a page (docs/imaging/viewer.md, the contract of the viewer partial).

Three pages show the viewer: the study page, the Curie/SIOPEN/Krenning score sheet and a blinded reading case. Each
builder returns the dict the partial renders with `json_script` (or None when there is nothing the user can open):
the DICOMweb root, the study and its series (modality, label, SUV factor or why there is none), whether the page is
blinded, where measurements are saved and the page's language.

Each builder reads its series in one query (the SUV result joined), through the same published-series rule as
/dicomweb, so the viewer lists exactly what the DICOMweb endpoints will serve.

SUV: the factor is the series' stored SuvResult.suv_bw_factor (the number the reports use): factor x rescaled pixel
value = SUVbw. In a blinded case the case's endpoint serves rescaled values that are already SUVs (the factor folded
into RescaleSlope, imaging/reading/dicomweb.py), so the factor given there is 1: neither Bq/ml nor the factor, which
is weight / decay-corrected activity and so tells a low-dose arm from a standard one, reaches the browser.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypedDict

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from imaging import modalities
from imaging.dicomweb import qido
from imaging.models import ImagingStudy, Series, VoiMeasurement
from registry.access import Action, may
from registry.models import User

MEASUREMENTS_URL = "/api/v1/imaging/measurements/"
SUV_KIND = "SUVbw"


class Suv(TypedDict):
    factor: float
    kind: str


class SeriesEntry(TypedDict):
    seriesInstanceUID: str
    modality: str
    label: str
    suv: Suv | None
    suvReason: str | None


class Target(TypedDict):
    value: str
    label: str


class Measurements(TypedDict):
    url: str
    targets: list[Target]
    context: dict[str, Any]


class Viewer(TypedDict):
    wadoRoot: str
    studyInstanceUID: str
    series: list[SeriesEntry]
    blinded: bool
    measurements: Measurements | None
    lang: str


def _lang() -> str:
    return "zh-hans" if (get_language() or "").lower().startswith("zh") else "en"


def _suv(series: Series) -> tuple[Suv | None, str | None]:
    """The series' SUVbw factor, or why there is none (the stored SUV result's reason, as the reports show it)."""
    if not modalities.of(series.modality).quantified:
        return None, _("SUV applies to quantified PET series; this is %(modality)s.") % {"modality": series.modality}
    result = getattr(series, "suv", None)
    if result is None:
        return None, _("The SUV step has not run on this series yet.")
    if result.quantifiable and result.suv_bw_factor:
        return {"factor": float(result.suv_bw_factor), "kind": SUV_KIND}, None
    return None, result.not_quantifiable_reason or _("This series cannot be quantified.")


def _label(series: Series) -> str:
    return series.description or _("Series %(number)s") % {"number": series.series_number or ""}


def published_series(user: User, study: ImagingStudy) -> Iterable[Series]:
    """The study's series the user can open through /dicomweb, with their SUV results (one query)."""
    return (qido.published_series(user).filter(study=study).select_related("suv")
            .order_by("series_number", "id"))


def _entries(series: Iterable[Series]) -> list[SeriesEntry]:
    out: list[SeriesEntry] = []
    for s in series:
        suv, reason = _suv(s)
        out.append({"seriesInstanceUID": s.series_uid, "modality": s.modality, "label": _label(s), "suv": suv,
                    "suvReason": reason})
    return out


def _voi_target(user: User) -> list[Target]:
    return [{"value": "voi", "label": _("VOI record")}] if may(user, Action.ADD, VoiMeasurement) else []


def for_study(user: User, study: ImagingStudy) -> Viewer | None:
    """The study page: every published series; measurements saved as VOI records by those who may add them."""
    entries = _entries(published_series(user, study))
    if not entries:
        return None
    targets = _voi_target(user)
    return {"wadoRoot": "/dicomweb", "studyInstanceUID": study.study_uid, "series": entries, "blinded": False,
            "measurements": {"url": MEASUREMENTS_URL, "targets": targets, "context": {"page": "study", "study": study.pk}}
            if targets else None,
            "lang": _lang()}


def for_score_sheet(user: User, study: ImagingStudy, kind: str, *, can_score: bool, submitted: bool) -> Viewer | None:
    """A score sheet: the study's series; measurements go to a VOI record or, while the sheet is not submitted, into
    the sheet (a line appended to its comment, through the sheet services)."""
    entries = _entries(published_series(user, study))
    if not entries:
        return None
    targets = _voi_target(user)
    if can_score and not submitted:
        targets.append({"value": "score_sheet", "label": _("Score sheet comment")})
    return {"wadoRoot": "/dicomweb", "studyInstanceUID": study.study_uid, "series": entries, "blinded": False,
            "measurements": {"url": MEASUREMENTS_URL, "targets": targets,
                             "context": {"page": "score_sheet", "study": study.pk, "kind": kind}} if targets else None,
            "lang": _lang()}


def for_case(*, root: str, study_uid: str, series_uid: str, modality: str, suv_folded: bool, context: dict[str, Any]) -> Viewer:
    """A blinded reading case (built by imaging.reading, which owns the case and its DICOMweb root): the case's own
    root, pseudonymous UIDs, "Series 1", SUV folded into the rescaled values (factor 1) and only a neutral reason.
    Measurements are VOI records of the case's series (the liver VOI is the image-quality measure)."""
    suv: Suv | None = None
    reason: str | None = None
    if suv_folded:
        suv = {"factor": 1.0, "kind": SUV_KIND}
    elif modalities.of(modality).quantified:
        reason = _("SUV is not available for this case.")
    else:
        reason = _("SUV applies to quantified PET series.")
    entry: SeriesEntry = {"seriesInstanceUID": series_uid, "modality": modality,
                          "label": _("Series %(number)s") % {"number": 1}, "suv": suv, "suvReason": reason}
    return {"wadoRoot": root, "studyInstanceUID": study_uid, "series": [entry], "blinded": True,
            "measurements": {"url": MEASUREMENTS_URL, "targets": [{"value": "voi", "label": _("VOI record")}],
                             "context": context},
            "lang": _lang()}
