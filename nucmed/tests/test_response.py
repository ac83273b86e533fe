"""INRC 2017 MIBG bone response (nucmed.response).

Published rule (Park JR et al., J Clin Oncol 2017;35(22):2580-2587, table "Metastatic soft tissue and bone disease
response"): relative MIBG score = bone score now / bone score at baseline (Curie or SIOPEN); PD when a new MIBG-avid
bone site appears or the relative score is >= 1.2; PR when the bone score falls by >= 50 % (relative 0.1-0.5);
CR when bone uptake resolves; SD otherwise.
"""
import pytest

from nucmed import scoring
from nucmed.response import PROGRESSION_RELATIVE_MIN, SOURCE, BoneResponse, bone_score, bone_segments, mibg_bone_response


def sheet(system: str, **scores: int) -> dict[str, int]:
    values = dict.fromkeys(scoring.SYSTEMS[system].segment_codes, 0)
    values.update(scores)
    return values


def test_curie_bone_score_leaves_out_the_soft_tissue_segment() -> None:
    assert len(bone_segments("curie")) == 9 and "soft_tissue" not in bone_segments("curie")
    assert len(bone_segments("siopen")) == 12
    assert bone_score("curie", sheet("curie", head=2, pelvis=3, soft_tissue=3)) == 5


def test_inrc_progression_at_relative_score_1_2() -> None:
    """INRC 2017 (Park 2017, JCO 35:2580): relative MIBG score >= 1.2 is progressive disease.

    SIOPEN baseline bone score 10 (skull 4, spine 6): a follow-up of 12 in the same segments is relative 1.2 -> PD;
    11 is relative 1.1 -> SD (no new site, not a 50 % reduction).
    """
    baseline = sheet("siopen", skull=4, spine=6)
    at_edge = mibg_bone_response("siopen", baseline, sheet("siopen", skull=6, spine=6))
    assert at_edge.relative_score == pytest.approx(1.2) and at_edge.category is BoneResponse.PROGRESSIVE
    assert at_edge.new_bone_segments == () and str(PROGRESSION_RELATIVE_MIN) in at_edge.notes[0]
    below = mibg_bone_response("siopen", baseline, sheet("siopen", skull=5, spine=6))
    assert below.relative_score == pytest.approx(1.1) and below.category is BoneResponse.STABLE


def test_inrc_new_bone_site_is_progression_even_when_the_score_falls() -> None:
    """INRC 2017: "any new bone site that is MIBG avid" is PD, whatever the relative score.

    Curie baseline: pelvis 3, femurs 3 (bone score 6). Follow-up: pelvis 1, femurs 0, head 1 (bone score 2,
    relative 0.33, a 67 % reduction) but the head segment was clear at baseline: a new site -> PD.
    """
    result = mibg_bone_response("curie", sheet("curie", pelvis=3, femurs=3), sheet("curie", pelvis=1, head=1))
    assert result.relative_score == pytest.approx(2 / 6)
    assert result.new_bone_segments == ("head",) and result.category is BoneResponse.PROGRESSIVE


def test_inrc_partial_complete_and_stable() -> None:
    """INRC 2017: >= 50 % reduction of the absolute bone score is PR (exactly 50 % included); bone score 0 is CR."""
    baseline = sheet("curie", head=2, pelvis=2, femurs=2, soft_tissue=3)
    half = mibg_bone_response("curie", baseline, sheet("curie", head=1, pelvis=1, femurs=1, soft_tissue=3))
    assert half.baseline_bone_score == 6 and half.bone_score == 3 and half.category is BoneResponse.PARTIAL
    # Soft tissue does not count in the bone score: its resolution alone changes nothing.
    stable = mibg_bone_response("curie", baseline, sheet("curie", head=2, pelvis=2, femurs=1))
    assert stable.relative_score == pytest.approx(5 / 6) and stable.category is BoneResponse.STABLE
    complete = mibg_bone_response("curie", baseline, sheet("curie", soft_tissue=1))
    assert complete.bone_score == 0 and complete.category is BoneResponse.COMPLETE


def test_relative_score_below_0_1_is_partial_response_with_a_note() -> None:
    """The criteria print "relative MIBG bone score >= 0.1 to <= 0.5" beside ">= 50 % reduction": 1/20 = 0.05 is PR, flagged."""
    result = mibg_bone_response("siopen", sheet("siopen", skull=6, spine=6, pelvis=6, thoracic_cage=2), sheet("siopen", spine=1))
    assert result.relative_score == pytest.approx(0.05) and result.category is BoneResponse.PARTIAL
    assert any("below 0.1" in note for note in result.notes)


def test_zero_baseline_is_not_assessable_unless_a_new_site_appears() -> None:
    clear = mibg_bone_response("curie", sheet("curie", soft_tissue=2), sheet("curie"))
    assert clear.category is None and clear.relative_score is None and "baseline bone score is 0" in clear.not_assessable_reason
    new = mibg_bone_response("curie", sheet("curie"), sheet("curie", lower_legs=1))
    assert new.category is BoneResponse.PROGRESSIVE and new.new_bone_segments == ("lower_legs",)


def test_invalid_sheets_are_refused_and_the_source_is_named() -> None:
    with pytest.raises(ValueError, match="missing segment"):
        mibg_bone_response("curie", {"head": 1}, sheet("curie"))
    with pytest.raises(ValueError, match="out of range"):
        mibg_bone_response("siopen", sheet("siopen"), sheet("siopen", skull=7))
    assert "J Clin Oncol 2017;35(22):2580-2587" in SOURCE
