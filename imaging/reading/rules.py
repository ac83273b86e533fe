"""Score sheet values against the nucmed scoring systems: validation into the domain error, totals, flags.

The definitions (segments, ranges, cut-offs) and the arithmetic live in nucmed.scoring; this module only
maps a sheet's JSON to those functions and their ValueErrors to ApplicationError with field names.
"""
from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from imaging import modalities
from nucmed import scoring
from nucmed.tables import score_sheets
from registry.errors import ApplicationError

SEGMENTED = ("curie", "siopen")
POST_INDUCTION = "post_induction"
KRENNING = "krenning"
# Which tracers each system scores, from the modality table (imaging/modalities.py).
TRACERS = {kind: modalities.tracers_scored_by(kind) for kind in (*SEGMENTED, KRENNING)}
# The systems' names in refusals (nucmed's names, translated when the message is made).
SYSTEM_NAMES = {"curie": gettext_noop("Curie score"), "siopen": gettext_noop("SIOPEN score")}
VALUES_HELP = ('Curie/SIOPEN: {segment code: score}, codes from /api/v1/reading/scoring-systems/. '
               'Krenning: {"lesions": [{"site": "liver segment 7", "score": 0-4}, ...]}.')


def _invalid(message: str, field: str = "values") -> ApplicationError:
    return ApplicationError(message, code="invalid", fields={field: [message]})


def _either(codes: tuple[str, ...]) -> str:
    text = codes[0]
    for code in codes[1:]:
        text = _("%(first)s or %(second)s") % {"first": text, "second": code}
    return text


def check_tracer(kind: str, tracer: str) -> None:
    if tracer not in TRACERS[kind]:
        raise _invalid(_("A %(kind)s score is for %(tracers)s studies; this study's tracer is %(tracer)s.")
                       % {"kind": kind, "tracers": _either(TRACERS[kind]), "tracer": tracer or _("unknown")}, field="kind")


def system(kind: str) -> scoring.ScoringSystem:
    return scoring.SYSTEMS[kind]


def segment_codes(kind: str) -> tuple[str, ...]:
    return system(kind).segment_codes


def max_segment_score(kind: str) -> int:
    return system(kind).max_per_segment


def _check_score(value: Any, maximum: int, where: str) -> None:
    """nucmed's score check (scoring._check_score), its refusal in the request's language."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(_("%(where)s: score must be an integer 0-%(maximum)s, got %(value)s")
                       % {"where": where, "maximum": maximum, "value": repr(value)})
    if not 0 <= value <= maximum:
        raise _invalid(_("%(where)s: score %(value)s is out of range 0-%(maximum)s")
                       % {"where": where, "value": value, "maximum": maximum})


def _check_segments(kind: str, given: Mapping[str, Any], complete: bool) -> None:
    """What nucmed.scoring.validate_scores checks, refused here in the request's language (nucmed's text is English)."""
    name = _(SYSTEM_NAMES[kind]) if kind in SYSTEM_NAMES else system(kind).name
    unknown = sorted(set(given) - set(segment_codes(kind)))
    if unknown:
        raise _invalid(_("%(system)s: unknown segment(s) %(segments)s") % {"system": name, "segments": ", ".join(unknown)})
    missing = [code for code in segment_codes(kind) if code not in given]
    if complete and missing:
        raise _invalid(_("%(system)s: missing segment(s) %(segments)s") % {"system": name, "segments": ", ".join(missing)})
    for code in segment_codes(kind):
        if code in given:
            _check_score(given[code], max_segment_score(kind),
                         _("%(system)s, segment %(segment)s") % {"system": name, "segment": code})


def _clean_segments(kind: str, values: Mapping[str, Any], complete: bool) -> dict[str, int]:
    given = {code: value for code, value in values.items() if value is not None}
    _check_segments(kind, given, complete)
    try:
        if complete:
            return scoring.validate_scores(system(kind), given)
        # A draft may leave segments empty: check what is there by validating it with the gaps at 0.
        scoring.validate_scores(system(kind), {**dict.fromkeys(segment_codes(kind), 0), **given})
    except ValueError as exc:
        raise _invalid(str(exc)) from None
    return {code: given[code] for code in segment_codes(kind) if code in given}


def _clean_lesions(values: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(values) - {"lesions"})
    lesions = values.get("lesions", [])
    if unknown or not isinstance(lesions, list) or not all(isinstance(x, Mapping) for x in lesions):
        raise _invalid(_('A Krenning sheet holds {"lesions": [{"site": ..., "score": 0-4}, ...]}.'))
    cleaned = []
    for n, lesion in enumerate(lesions, start=1):
        site = str(lesion.get("site") or "").strip()
        if not site or len(site) > 80 or set(lesion) - {"site", "score"}:
            raise _invalid(_("Lesion %(n)s: give its site (up to 80 characters) and its score, nothing else.") % {"n": n})
        cleaned.append({"site": site, "score": lesion.get("score")})
    for n, lesion in enumerate(cleaned, start=1):
        _check_score(lesion["score"], scoring.KRENNING_MAX, _("Krenning, lesion %(n)s") % {"n": n})
    try:
        scoring.krenning_summary([lesion["score"] for lesion in cleaned])
    except ValueError as exc:
        raise _invalid(str(exc)) from None
    return {"lesions": cleaned}


def clean_values(kind: str, values: Any, *, complete: bool) -> dict[str, Any]:
    """The sheet's values checked against the system's definition; `complete` demands every segment (submit)."""
    if not isinstance(values, Mapping):
        raise _invalid(_("Values must be an object."))
    if kind == KRENNING:
        return _clean_lesions(values)
    return _clean_segments(kind, values, complete)


def merge(kind: str, current: Mapping[str, Any], change: Any) -> dict[str, Any]:
    """A draft edit: segments are merged (null clears one); a Krenning lesion list is replaced whole."""
    if kind == KRENNING or not isinstance(change, Mapping):
        return change
    return {**current, **change}


def total_and_flag(kind: str, values: Mapping[str, Any], timepoint: str) -> tuple[int | None, bool | None]:
    """The total of a complete sheet, and the flag where its cut-off is prognostic (after induction only).

    Krenning: the study-level score is the highest lesion score (None without lesions) and has no flag.
    """
    if kind == KRENNING:
        return scoring.krenning_summary([lesion["score"] for lesion in values["lesions"]]).max_score, None
    total = scoring.total_score(kind, values)
    return total, (scoring.is_flagged(kind, total) if timepoint == POST_INDUCTION else None)



def _levels(levels: tuple[scoring.Level, ...]) -> list[dict[str, Any]]:
    return [{"value": lv.value, "label": lv.label_en, "label_zh": lv.label_zh} for lv in levels]


def systems_reference() -> list[dict[str, Any]]:
    """The definitions as served to score-sheet forms."""
    out: list[dict[str, Any]] = [
        {"kind": s.code, "name": s.name, "segments": [{"code": g.code, "label": g.label_en, "label_zh": g.label_zh}
                                                      for g in s.segments],
         "levels": _levels(s.levels), "max_per_segment": s.max_per_segment, "max_total": s.max_total,
         "flag_above": s.cutoff, "flag_applies_to": POST_INDUCTION, "source": s.source, "version": scoring.TABLE_VERSION}
        for s in scoring.SYSTEMS.values()]
    out.append({"kind": KRENNING, "name": "Krenning score", "segments": [], "levels": _levels(score_sheets.KRENNING_LEVELS),
                "max_per_segment": scoring.KRENNING_MAX, "max_total": scoring.KRENNING_MAX, "flag_above": None,
                "flag_applies_to": None, "source": score_sheets.KRENNING_SOURCE, "version": scoring.TABLE_VERSION})
    return out
