import pytest

from nucmed.scoring import (
    CURIE,
    SIOPEN,
    TABLE_VERSION,
    curie_flag,
    curie_total,
    is_flagged,
    krenning_summary,
    relative_score,
    response_assessment,
    siopen_flag,
    siopen_total,
    total_score,
)


def sheet(system, **overrides: int) -> dict[str, int]:
    scores = dict.fromkeys(system.segment_codes, 0)
    scores.update(overrides)
    return scores


def test_segment_definitions() -> None:
    assert len(CURIE.segments) == 10 and CURIE.max_total == 30
    assert len(SIOPEN.segments) == 12 and SIOPEN.max_total == 72
    assert len(set(CURIE.segment_codes)) == 10 and len(set(SIOPEN.segment_codes)) == 12
    assert all(s.label_en and s.label_zh for s in CURIE.segments + SIOPEN.segments)
    assert [lv.value for lv in SIOPEN.levels] == list(range(7)) and [lv.value for lv in CURIE.levels] == list(range(4))


def test_totals() -> None:
    assert curie_total(sheet(CURIE)) == 0
    assert curie_total(sheet(CURIE, head=1, pelvis=2, soft_tissue=3)) == 6
    assert curie_total(dict.fromkeys(CURIE.segment_codes, 3)) == 30
    assert siopen_total(sheet(SIOPEN, skull=4, spine=6, lower_limb_distal_left=1)) == 11
    assert siopen_total(dict.fromkeys(SIOPEN.segment_codes, 6)) == 72
    assert total_score("curie", sheet(CURIE, femurs=2)) == 2


@pytest.mark.parametrize(("scores", "message"), [
    ({**sheet(CURIE), "tail": 1}, "unknown segment"),
    ({k: v for k, v in sheet(CURIE).items() if k != "pelvis"}, "missing segment.*pelvis"),
    (sheet(CURIE, head=4), "head.*out of range 0-3"),
    (sheet(CURIE, head=-1), "out of range"),
    (sheet(CURIE, head=True), "integer"),
    (sheet(CURIE, head=1.0), "integer"),
])
def test_curie_validation(scores: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        curie_total(scores)


def test_siopen_range() -> None:
    assert siopen_total(sheet(SIOPEN, skull=6)) == 6
    with pytest.raises(ValueError, match="out of range 0-6"):
        siopen_total(sheet(SIOPEN, skull=7))
    with pytest.raises(ValueError, match="unknown"):
        siopen_total(sheet(CURIE))  # a Curie sheet is not a SIOPEN sheet


def test_flags_at_the_cutoffs() -> None:
    assert curie_flag(2) is False and curie_flag(3) is True
    assert siopen_flag(3) is False and siopen_flag(4) is True
    assert is_flagged("curie", 30) is True
    with pytest.raises(ValueError):
        curie_flag(31)


def test_relative_score_and_response() -> None:
    assert relative_score(10, 5) == 0.5
    assert relative_score(0, 3) is None
    exactly_half = response_assessment(10, 5)
    assert exactly_half.response is True and exactly_half.reduction_percent == pytest.approx(50.0)
    assert response_assessment(9, 5).response is False  # 44 % reduction
    assert response_assessment(3, 1).response is True
    progression = response_assessment(4, 6)
    assert progression.response is False and progression.reduction_percent == pytest.approx(-50.0)
    baseline_zero = response_assessment(0, 0)
    assert baseline_zero.response is None and baseline_zero.relative_score is None and "baseline" in baseline_zero.not_assessable_reason
    with pytest.raises(ValueError):
        relative_score(-1, 2)


def test_krenning_summary() -> None:
    summary = krenning_summary([2, 4, 3, 3, 0])
    assert summary.max_score == 4 and summary.n_lesions == 5 and summary.counts == {0: 1, 1: 0, 2: 1, 3: 2, 4: 1}
    assert summary.table_version == TABLE_VERSION
    empty = krenning_summary([])
    assert empty.max_score is None and empty.n_lesions == 0
    with pytest.raises(ValueError, match="lesion 2"):
        krenning_summary([1, 5])
