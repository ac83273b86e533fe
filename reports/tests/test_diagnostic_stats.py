"""The diagnostic statistics against hand-computed values and scipy."""
import pytest
from scipy import stats

from reports.diagnostic_stats import mcnemar, sensitivity, specificity, two_by_two, wilson


def test_wilson_28_of_43_by_hand() -> None:
    # p = 28/43 = 0.651163, z = 1.959964, n = 43: centre = (p + z^2/86) / (1 + z^2/43) = 0.638666,
    # half = z * sqrt(p(1-p)/43 + z^2/7396) / (1 + z^2/43) = 0.136948.
    ci = wilson(28, 43)
    assert ci.estimate == pytest.approx(0.651163, abs=1e-6)
    assert ci.low == pytest.approx(0.5017, abs=1e-4)
    assert ci.high == pytest.approx(0.7758, abs=1e-4)


def test_wilson_at_the_edges() -> None:
    full = wilson(38, 38)
    assert (full.estimate, full.high) == (1.0, 1.0)
    assert full.low == pytest.approx(38 / (38 + 1.959964**2), abs=1e-6)  # at p = 1 the lower bound is n / (n + z^2)
    assert wilson(0, 5).low == 0.0
    assert wilson(0, 0).estimate is None
    with pytest.raises(ValueError):
        wilson(6, 5)


def test_two_by_two_sensitivity_specificity() -> None:
    reference = [True] * 10 + [False] * 5
    reads = [True] * 7 + [False] * 3 + [True] + [False] * 4
    table = two_by_two(reference, reads)
    assert (table.true_positive, table.false_negative, table.false_positive, table.true_negative) == (7, 3, 1, 4)
    assert sensitivity(table).estimate == pytest.approx(0.7)
    assert specificity(table).estimate == pytest.approx(0.8)


def test_mcnemar_exact_and_chi_square_against_scipy() -> None:
    # 43 lesions: 28 found by both, 12 by B only, 3 by neither.
    a = [True] * 28 + [False] * 15
    b = [True] * 40 + [False] * 3
    result = mcnemar(a, b)
    assert (result.both_correct, result.only_a, result.only_b, result.both_wrong) == (28, 0, 12, 3)
    assert result.exact_p == pytest.approx(2 * 0.5**12)  # two-sided binomial, all 12 discordant pairs one way
    assert result.exact_p == pytest.approx(stats.binomtest(0, 12, 0.5).pvalue)
    assert result.chi2 == pytest.approx(121 / 12)  # (|0 - 12| - 1)^2 / 12
    assert result.chi2_p == pytest.approx(stats.chi2.sf(121 / 12, 1))


def test_mcnemar_without_discordant_pairs_is_undefined() -> None:
    result = mcnemar([True, False], [True, False])
    assert (result.exact_p, result.chi2, result.chi2_p) == (None, None, None)
    with pytest.raises(ValueError):
        mcnemar([True], [True, False])
