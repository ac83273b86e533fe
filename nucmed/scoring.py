"""MIBG and somatostatin-receptor reader scores: Curie, SIOPEN, Krenning (reference section 6).

Totals are always computed here from the per-segment scores, never typed. Segment definitions (codes and
English/Chinese labels) live in nucmed/tables/score_sheets.py.
"""
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from nucmed.tables import score_sheets
from nucmed.tables.score_sheets import Level, Segment

TABLE_VERSION = score_sheets.VERSION


@dataclass(frozen=True)
class ScoringSystem:
    code: str  # "curie" or "siopen"
    name: str
    segments: tuple[Segment, ...]
    levels: tuple[Level, ...]
    max_per_segment: int
    cutoff: int  # a total strictly above the cut-off is flagged (after induction chemotherapy)
    source: str

    @property
    def max_total(self) -> int:
        return self.max_per_segment * len(self.segments)

    @property
    def segment_codes(self) -> tuple[str, ...]:
        return tuple(s.code for s in self.segments)


CURIE = ScoringSystem("curie", "Curie score", score_sheets.CURIE_SEGMENTS, score_sheets.CURIE_LEVELS, 3,
                      score_sheets.CURIE_CUTOFF, score_sheets.CURIE_SOURCE)
SIOPEN = ScoringSystem("siopen", "SIOPEN score", score_sheets.SIOPEN_SEGMENTS, score_sheets.SIOPEN_LEVELS, 6,
                       score_sheets.SIOPEN_CUTOFF, score_sheets.SIOPEN_SOURCE)
SYSTEMS: dict[str, ScoringSystem] = {CURIE.code: CURIE, SIOPEN.code: SIOPEN}
KRENNING_MAX = 4


def _check_score(value: object, maximum: int, where: str) -> int:
    # bool is an int subclass: True must not silently count as 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{where}: score must be an integer 0-{maximum}, got {value!r}")
    if not 0 <= value <= maximum:
        raise ValueError(f"{where}: score {value} is out of range 0-{maximum}")
    return value


def validate_scores(system: ScoringSystem, scores: Mapping[str, int]) -> dict[str, int]:
    """The scores as a dict in segment order, after checking every segment is present, known and in range.

    Raises ValueError naming the unknown or missing segments or the out-of-range value.
    """
    known = set(system.segment_codes)
    unknown = sorted(set(scores) - known)
    if unknown:
        raise ValueError(f"{system.name}: unknown segment(s) {', '.join(unknown)}")
    missing = [code for code in system.segment_codes if code not in scores]
    if missing:
        raise ValueError(f"{system.name}: missing segment(s) {', '.join(missing)}")
    return {code: _check_score(scores[code], system.max_per_segment, f"{system.name}, segment {code}") for code in system.segment_codes}


def total_score(system: ScoringSystem | str, scores: Mapping[str, int]) -> int:
    """The validated total of a complete score sheet (Curie max 30, SIOPEN max 72)."""
    system = SYSTEMS[system] if isinstance(system, str) else system
    return sum(validate_scores(system, scores).values())


def curie_total(scores: Mapping[str, int]) -> int:
    """Curie total: 10 segments (9 skeletal + soft tissue), each 0-3, maximum 30 (reference section 6)."""
    return total_score(CURIE, scores)


def siopen_total(scores: Mapping[str, int]) -> int:
    """SIOPEN total: 12 skeletal segments, each 0-6, maximum 72 (reference section 6)."""
    return total_score(SIOPEN, scores)


def is_flagged(system: ScoringSystem | str, total: int) -> bool:
    """True when the total is above the system's cut-off (Curie > 2, SIOPEN > 3).

    The cut-offs are prognostic AFTER INDUCTION chemotherapy (poor event-free survival); the caller decides
    whether the study is a post-induction one and labels the flag accordingly.
    """
    system = SYSTEMS[system] if isinstance(system, str) else system
    _check_score(total, system.max_total, f"{system.name} total")
    return total > system.cutoff


def curie_flag(total: int) -> bool:
    """Curie > 2 after induction predicts poor event-free survival (reference section 6)."""
    return is_flagged(CURIE, total)


def siopen_flag(total: int) -> bool:
    """SIOPEN > 3 after induction predicts poor event-free survival (reference section 6)."""
    return is_flagged(SIOPEN, total)


def relative_score(baseline_total: int, follow_up_total: int) -> float | None:
    """follow-up total / baseline total (the "relative score"); None when the baseline is 0 (undefined)."""
    for name, value in (("baseline", baseline_total), ("follow-up", follow_up_total)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} total must be a non-negative integer, got {value!r}")
    if baseline_total == 0:
        return None
    return follow_up_total / baseline_total


@dataclass(frozen=True)
class ResponseAssessment:
    relative_score: float | None
    reduction_percent: float | None  # (baseline - follow-up) / baseline x 100
    response: bool | None  # reduction >= 50 %; None when not assessable
    not_assessable_reason: str | None


def response_assessment(baseline_total: int, follow_up_total: int) -> ResponseAssessment:
    """Response between two time points of the same patient and system: reduction of the total by >= 50 %."""
    relative = relative_score(baseline_total, follow_up_total)
    if relative is None:
        return ResponseAssessment(None, None, None, "baseline total is 0: relative change is undefined")
    reduction = (1.0 - relative) * 100.0
    # compared on the integer totals (0.5 x an integer is exact) so that exactly 50 % counts as a response
    responded = baseline_total - follow_up_total >= score_sheets.RESPONSE_REDUCTION * baseline_total
    return ResponseAssessment(relative, reduction, responded, None)


@dataclass(frozen=True)
class KrenningSummary:
    n_lesions: int
    max_score: int | None  # the study-level Krenning score: the highest lesion score; None without lesions
    counts: dict[int, int]  # number of lesions per score 0-4
    table_version: str


def krenning_summary(lesion_scores: Sequence[int]) -> KrenningSummary:
    """Study-level summary of per-lesion Krenning scores (0-4): the maximum and the count per grade."""
    checked = [_check_score(value, KRENNING_MAX, f"Krenning, lesion {index + 1}") for index, value in enumerate(lesion_scores)]
    counts = {grade: checked.count(grade) for grade in range(KRENNING_MAX + 1)}
    return KrenningSummary(len(checked), max(checked) if checked else None, counts, TABLE_VERSION)
