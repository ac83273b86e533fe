"""INRC 2017 MIBG bone response: the relative Curie / SIOPEN bone score against baseline.

Source: Park JR, Bagatell R, Cohn SL, et al. Revisions to the International Neuroblastoma Response Criteria:
a consensus statement from the National Cancer Institute Clinical Trials Planning Meeting. J Clin Oncol
2017;35(22):2580-2587 (doi:10.1200/JCO.2016.72.0177; PMC5676955), the table "Metastatic soft tissue and bone
disease response" and its footnotes:

- relative MIBG score = the absolute bone score at the response assessment / the absolute bone score at
  baseline, before any therapy; scored with Curie or SIOPEN (the same system at both time points);
- CR (bone component): MIBG uptake of the non-primary (bone) lesions resolves completely: bone score 0;
- PR (bone component): >= 50 % reduction of the absolute bone score ("relative MIBG bone score >= 0.1 to <= 0.5");
- PD: any new MIBG-avid bone site, or a relative MIBG score >= 1.2;
- SD: neither PR nor PD.

This is the MIBG bone part only. The INRC soft-tissue component (RECIST sums, new soft-tissue lesions), the
primary tumour, the bone marrow and the overall response are outside these score sheets, so the result is
labelled "MIBG bone component", never an overall INRC response. The Curie soft-tissue segment is therefore
left out of the bone score (the criteria's "absolute bone score"); SIOPEN scores only bone.

Conventions where the table leaves a gap, stated so a physician can check them:
- a relative score above 0 and below 0.1 meets the ">= 50 % reduction" criterion of PR but lies outside the
  parenthesised range 0.1-0.5: it is called PR with a note saying so, not silently;
- a new bone site is read from the segments: a segment scored 0 at baseline and above 0 now. A new lesion
  inside a segment that was already involved cannot be seen in segment scores: the note says so;
- a baseline bone score of 0 has no relative score: a bone segment now involved is a new site (PD), else
  the bone component is not assessable.

Verification status: the thresholds (0.5, 1.2, 0.1) and definitions above are the published criteria as
cited; the stored public copy available while this was written showed the article's abstract only, so the
table and page numbers are cited by the table's title. Re-read against the article at review (docs/physics.md).
"""
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from nucmed import scoring

VERSION = "inrc-2017-mibg-bone/nbnm-2026.1"
SOURCE = ("Park JR et al., Revisions to the International Neuroblastoma Response Criteria, J Clin Oncol 2017;35(22):2580-2587, "
          "table 'Metastatic soft tissue and bone disease response' and footnotes (relative MIBG score)")
PARTIAL_RESPONSE_RELATIVE_MAX = 0.5  # PR: >= 50 % reduction of the absolute bone score
PARTIAL_RESPONSE_RELATIVE_MIN = 0.1  # the lower end of the range the criteria print beside the 50 % rule
PROGRESSION_RELATIVE_MIN = 1.2  # PD: relative MIBG score >= 1.2
# Segments that are not bone: the Curie sheet's soft-tissue segment (the INRC bone score is skeletal only).
NON_BONE_SEGMENTS = frozenset({"soft_tissue"})


class BoneResponse(StrEnum):
    COMPLETE = "CR"
    PARTIAL = "PR"
    STABLE = "SD"
    PROGRESSIVE = "PD"


@dataclass(frozen=True)
class MibgBoneAssessment:
    system: str  # "curie" or "siopen"
    baseline_bone_score: int
    bone_score: int
    relative_score: float | None  # bone score / baseline bone score; None when the baseline is 0
    new_bone_segments: tuple[str, ...]  # segments 0 at baseline, involved now
    category: BoneResponse | None  # None when not assessable
    notes: tuple[str, ...]  # why the category, and the conventions applied
    not_assessable_reason: str | None
    version: str = VERSION
    source: str = SOURCE
    # The notes as (key of NOTES, values): what a page translates (`notes` are these in English, for the API).
    note_parts: tuple[tuple[str, dict[str, str]], ...] = ()


# The notes of an assessment (English; the imaging pages say them in the reader's language from the same templates).
NOTES = {
    "new_sites": "new MIBG-avid bone site(s) in segment(s) %(segments)s: progressive disease",
    "progressed": "relative score %(relative)s >= %(limit)s: progressive disease",
    "resolved": "bone score 0: MIBG uptake at every bone site resolved",
    "partial": "relative score %(relative)s <= %(limit)s: reduction of at least 50 %%",
    "below_range": "relative score below %(limit)s: outside the range printed with the criterion, called PR by the >= 50 %% reduction rule",
    "stable": "relative score %(relative)s: neither PR (<= %(partial)s) nor PD (>= %(progression)s)",
    "hidden_new_lesion": "a new lesion inside a segment already involved at baseline is not visible in segment scores",
}


def bone_segments(system: scoring.ScoringSystem | str) -> tuple[str, ...]:
    """The skeletal segments of a scoring system (Curie: 9 of its 10; SIOPEN: all 12)."""
    system = scoring.SYSTEMS[system] if isinstance(system, str) else system
    return tuple(code for code in system.segment_codes if code not in NON_BONE_SEGMENTS)


def bone_score(system: scoring.ScoringSystem | str, scores: Mapping[str, int]) -> int:
    """The absolute MIBG bone score of a complete, valid sheet: the sum over its skeletal segments."""
    system = scoring.SYSTEMS[system] if isinstance(system, str) else system
    checked = scoring.validate_scores(system, scores)
    return sum(checked[code] for code in bone_segments(system))


def mibg_bone_response(system: scoring.ScoringSystem | str, baseline: Mapping[str, int], follow_up: Mapping[str, int]) -> MibgBoneAssessment:
    """The INRC 2017 MIBG bone component at a follow-up time point against the baseline sheet (same system).

    Raises ValueError when either sheet is incomplete or out of range (scoring.validate_scores).
    """
    system = scoring.SYSTEMS[system] if isinstance(system, str) else system
    before, now = scoring.validate_scores(system, baseline), scoring.validate_scores(system, follow_up)
    bones = bone_segments(system)
    base_score, score = sum(before[c] for c in bones), sum(now[c] for c in bones)
    new = tuple(code for code in bones if before[code] == 0 and now[code] > 0)
    parts: list[tuple[str, dict[str, str]]] = []

    def note(key: str, **values: str) -> None:
        parts.append((key, values))

    def done(category: BoneResponse | None) -> MibgBoneAssessment:
        return MibgBoneAssessment(system.code, base_score, score, relative, new, category,
                                  tuple(NOTES[k] % v for k, v in parts), None, note_parts=tuple(parts))

    relative: float | None = None
    if new:
        note("new_sites", segments=", ".join(new))
    if base_score == 0:
        if new:
            return done(BoneResponse.PROGRESSIVE)
        return MibgBoneAssessment(system.code, base_score, score, None, new, None, (),
                                  "baseline bone score is 0: no MIBG-avid bone disease to follow")
    relative = score / base_score
    # Integer comparisons keep the edges exact: relative >= 1.2 <=> 5 x score >= 6 x baseline; <= 0.5 <=> 2 x score <= baseline.
    progressed = 5 * score >= 6 * base_score
    if progressed:
        note("progressed", relative=f"{relative:.3f}", limit=str(PROGRESSION_RELATIVE_MIN))
    if new or progressed:
        category = BoneResponse.PROGRESSIVE
    elif score == 0:
        category = BoneResponse.COMPLETE
        note("resolved")
    elif 2 * score <= base_score:
        category = BoneResponse.PARTIAL
        note("partial", relative=f"{relative:.3f}", limit=str(PARTIAL_RESPONSE_RELATIVE_MAX))
        if 10 * score < base_score:
            note("below_range", limit=str(PARTIAL_RESPONSE_RELATIVE_MIN))
    else:
        category = BoneResponse.STABLE
        note("stable", relative=f"{relative:.3f}", partial=str(PARTIAL_RESPONSE_RELATIVE_MAX), progression=str(PROGRESSION_RELATIVE_MIN))
    if category is not BoneResponse.PROGRESSIVE:
        note("hidden_new_lesion")
    return done(category)
