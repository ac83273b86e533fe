"""Diagnostic-performance statistics: 2x2 tables, sensitivity and specificity with Wilson intervals, McNemar.

Pure functions over booleans (True = positive), no database. Why these choices:

- Wilson score interval (not Wald): it stays inside [0, 1] and keeps near-nominal coverage at the small
  counts and extreme proportions typical of lesion-level reading studies (e.g. 38/38 specificity, where the
  Wald interval collapses to a width of zero).
- McNemar on paired units: both methods read the same units, so the comparison uses only the discordant
  pairs (b = positive by A only, c = positive by B only). Two versions are reported: the exact test
  (two-sided binomial test of b against Binomial(b + c, 1/2), scipy.stats.binomtest), which is the one to
  quote when b + c is small (< 25 is the usual rule), and the continuity-corrected chi-square
  ((|b - c| - 1)^2 / (b + c), 1 degree of freedom), the classical large-sample form many papers report.
  Sensitivity is compared on reference-positive units, specificity on reference-negative units, separately.
"""
from collections.abc import Sequence
from dataclasses import dataclass
from math import sqrt

from scipy import stats

Z_95 = float(stats.norm.ppf(0.975))


@dataclass(frozen=True)
class TwoByTwo:
    """One method's reads against the reference standard."""

    true_positive: int
    false_positive: int
    false_negative: int
    true_negative: int

    @property
    def reference_positive(self) -> int:
        return self.true_positive + self.false_negative

    @property
    def reference_negative(self) -> int:
        return self.true_negative + self.false_positive


@dataclass(frozen=True)
class Proportion:
    successes: int
    total: int
    estimate: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class McNemar:
    """Discordant pairs: `only_a` = correct by method A only, `only_b` = correct by method B only."""

    n: int
    both_correct: int
    only_a: int
    only_b: int
    both_wrong: int
    exact_p: float | None
    chi2: float | None
    chi2_p: float | None


def two_by_two(reference: Sequence[bool], reads: Sequence[bool]) -> TwoByTwo:
    if len(reference) != len(reads):
        raise ValueError("reference and reads differ in length")
    tp = sum(1 for r, x in zip(reference, reads, strict=True) if r and x)
    fp = sum(1 for r, x in zip(reference, reads, strict=True) if not r and x)
    fn = sum(1 for r, x in zip(reference, reads, strict=True) if r and not x)
    return TwoByTwo(tp, fp, fn, len(reads) - tp - fp - fn)


def wilson(successes: int, total: int, z: float = Z_95) -> Proportion:
    """Wilson score interval for successes/total; all None when total is 0 (no estimate, not 0 %)."""
    if not 0 <= successes <= total:
        raise ValueError("successes must lie between 0 and total")
    if total == 0:
        return Proportion(0, 0, None, None, None)
    p = successes / total
    denom = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denom
    half = z * sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denom
    # p = 0 or 1 gives an exact bound of 0 or 1; set it so floating-point crumbs do not print as 99.99999 %.
    low = 0.0 if successes == 0 else centre - half
    high = 1.0 if successes == total else centre + half
    return Proportion(successes, total, p, low, high)


def sensitivity(table: TwoByTwo) -> Proportion:
    return wilson(table.true_positive, table.reference_positive)


def specificity(table: TwoByTwo) -> Proportion:
    return wilson(table.true_negative, table.reference_negative)


def mcnemar(correct_a: Sequence[bool], correct_b: Sequence[bool]) -> McNemar:
    """McNemar between two methods on paired units (pass whether each method was correct on each unit).

    With no discordant pair the test is undefined: p-values and the statistic are None.
    """
    if len(correct_a) != len(correct_b):
        raise ValueError("the two methods must read the same units")
    pairs = list(zip(correct_a, correct_b, strict=True))
    both = sum(1 for a, b in pairs if a and b)
    only_a = sum(1 for a, b in pairs if a and not b)
    only_b = sum(1 for a, b in pairs if b and not a)
    discordant = only_a + only_b
    if discordant == 0:
        return McNemar(len(pairs), both, 0, 0, len(pairs) - both, None, None, None)
    exact = float(stats.binomtest(only_a, discordant, 0.5, alternative="two-sided").pvalue)
    chi2 = (abs(only_a - only_b) - 1) ** 2 / discordant
    return McNemar(len(pairs), both, only_a, only_b, len(pairs) - both - discordant, exact, chi2, float(stats.chi2.sf(chi2, 1)))
