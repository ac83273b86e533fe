import itertools

import numpy as np
import pytest
from scipy import stats

from nucmed.agreement import icc, paired_wilcoxon, weighted_cohen_kappa

READER_A = [0, 1, 2, 3, 3, 2, 1, 0, 2, 3, 1, 1]
READER_B = [0, 1, 3, 3, 2, 2, 0, 0, 2, 3, 2, 1]


def kappa_by_pairs(a: list[int], b: list[int], power: int, k: int) -> float:
    """Independent formula: 1 - mean disagreement of the pairs / mean disagreement of all cross pairs."""
    w = lambda i, j: (abs(i - j) / (k - 1)) ** power
    observed = sum(w(i, j) for i, j in zip(a, b, strict=True)) / len(a)
    chance = sum(w(i, j) for i, j in itertools.product(a, b)) / len(a) ** 2
    return 1 - observed / chance


@pytest.mark.parametrize(("weights", "power"), [("linear", 1), ("quadratic", 2)])
def test_weighted_kappa_matches_independent_computation(weights: str, power: int) -> None:
    result = weighted_cohen_kappa(READER_A, READER_B, categories=range(4), weights=weights)
    assert result.kappa == pytest.approx(kappa_by_pairs(READER_A, READER_B, power, 4))
    assert result.n == 12 and result.not_computable_reason is None


def test_kappa_perfect_and_undefined() -> None:
    assert weighted_cohen_kappa([0, 1, 2], [0, 1, 2], categories=[0, 1, 2]).kappa == pytest.approx(1.0)
    undefined = weighted_cohen_kappa([1, 1, 1], [1, 1, 1], categories=[0, 1, 2, 3], weights="quadratic")
    assert undefined.kappa is None and "single" in undefined.not_computable_reason
    assert weighted_cohen_kappa([], [], categories=[0, 1]).kappa is None


def test_kappa_bad_input() -> None:
    with pytest.raises(ValueError, match="different numbers"):
        weighted_cohen_kappa([1], [1, 2], categories=[0, 1, 2])
    with pytest.raises(ValueError, match="not among the categories"):
        weighted_cohen_kappa([1, 4], [1, 2], categories=[0, 1, 2, 3])
    with pytest.raises(ValueError, match="weights"):
        weighted_cohen_kappa([1], [1], categories=[0, 1], weights="cubic")


# Shrout & Fleiss (1979), Psychological Bulletin 86:420, Table 2: 6 targets x 4 judges.
SHROUT_FLEISS = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]


def test_icc_shrout_fleiss_worked_example() -> None:
    two = icc(SHROUT_FLEISS, "ICC(2,1)")
    three = icc(SHROUT_FLEISS, "ICC(3,1)")
    assert two.icc == pytest.approx(0.29, abs=0.005)
    assert three.icc == pytest.approx(0.71, abs=0.005)
    # the paper's ANOVA table: BMS 11.24, JMS 32.49, EMS 1.02
    assert two.ms_subjects == pytest.approx(11.24, abs=0.01)
    assert two.ms_raters == pytest.approx(32.49, abs=0.01)
    assert two.ms_error == pytest.approx(1.02, abs=0.01)
    assert two.n_subjects == 6 and two.n_raters == 4


def test_icc_incomplete_rows_dropped_and_degenerate_cases() -> None:
    with_gap = [*SHROUT_FLEISS, [3, np.nan, 4, 5]]
    assert icc(with_gap, "ICC(3,1)").icc == pytest.approx(icc(SHROUT_FLEISS, "ICC(3,1)").icc)
    assert icc(with_gap).n_subjects == 6
    assert icc([[1, 2]]).icc is None
    constant = icc([[3, 3], [3, 3], [3, 3]])
    assert constant.icc is None and constant.not_computable_reason
    with pytest.raises(ValueError):
        icc([1, 2, 3])
    with pytest.raises(ValueError):
        icc(SHROUT_FLEISS, "ICC(1,1)")


def test_paired_wilcoxon_wraps_scipy() -> None:
    low = [3, 4, 2, 5, 4, 3, 3, 4, 2, 4]
    standard = [4, 4, 3, 5, 5, 4, 4, 5, 3, 4]
    result = paired_wilcoxon(low, standard)
    expected = stats.wilcoxon(np.subtract(low, standard))
    assert result.statistic == pytest.approx(expected.statistic) and result.p_value == pytest.approx(expected.pvalue)
    assert result.n == 10 and result.n_nonzero == 7 and result.not_computable_reason is None


def test_paired_wilcoxon_not_computable() -> None:
    same = paired_wilcoxon([3, 4, 5], [3, 4, 5])
    assert same.p_value is None and "zero" in same.not_computable_reason
    one = paired_wilcoxon([3], [4])
    assert one.p_value is None and "2 pairs" in one.not_computable_reason
    with pytest.raises(ValueError):
        paired_wilcoxon([1, 2], [1])
