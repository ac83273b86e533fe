"""Inter-reader agreement and paired comparison statistics (reference section 6: several readers per study,
blinded image-quality reads compared per arm).

- weighted Cohen's kappa per segment (ordinal scores), linear or quadratic disagreement weights;
- intraclass correlation of totals, Shrout & Fleiss (1979) ICC(2,1) and ICC(3,1), which are McGraw & Wong
  (1996) ICC(A,1) (two-way random, absolute agreement, single rater) and ICC(C,1) (two-way mixed, consistency,
  single rater) respectively;
- the paired Wilcoxon signed-rank test (scipy.stats.wilcoxon).

Each returns a result that says why when the statistic cannot be computed, rather than raising or returning NaN.
Malformed input (unequal lengths, a value outside the categories) raises ValueError.
"""
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np


@dataclass(frozen=True)
class KappaResult:
    kappa: float | None
    n: int
    weights: str
    not_computable_reason: str | None


def weighted_cohen_kappa(
    a: Sequence[int], b: Sequence[int], *, categories: Sequence[int], weights: Literal["linear", "quadratic"] = "linear"
) -> KappaResult:
    """Cohen's weighted kappa of two readers' paired ordinal scores.

    kappa = 1 - sum(w x observed) / sum(w x expected), with disagreement weights w_ij = |i - j| / (k - 1)
    (linear) or ((i - j) / (k - 1))^2 (quadratic), i and j the positions of the scores in `categories`
    (ordered, e.g. range(4) for a Curie segment), expected = outer product of the two readers' marginals / n.
    """
    if weights not in ("linear", "quadratic"):
        raise ValueError(f"weights must be 'linear' or 'quadratic', got {weights!r}")
    if len(a) != len(b):
        raise ValueError(f"the two readers rated different numbers of items ({len(a)} and {len(b)})")
    index = {category: position for position, category in enumerate(categories)}
    if len(index) != len(categories) or len(index) < 2:
        raise ValueError("categories must be at least two distinct values")
    outside = sorted({v for v in (*a, *b) if v not in index})
    if outside:
        raise ValueError(f"score(s) {outside} not among the categories {list(categories)}")
    n = len(a)
    if n == 0:
        return KappaResult(None, 0, weights, "no paired ratings")
    k = len(categories)
    observed = np.zeros((k, k))
    for x, y in zip(a, b, strict=True):
        observed[index[x], index[y]] += 1
    distance = np.abs(np.subtract.outer(np.arange(k), np.arange(k))) / (k - 1)
    w = distance if weights == "linear" else distance**2
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / n
    expected_disagreement = float((w * expected).sum())
    if expected_disagreement == 0:
        return KappaResult(None, n, weights, "both readers used a single and the same category: chance agreement is total, kappa undefined")
    return KappaResult(1.0 - float((w * observed).sum()) / expected_disagreement, n, weights, None)


@dataclass(frozen=True)
class IccResult:
    icc: float | None
    kind: str
    n_subjects: int  # subjects used (complete rows only)
    n_raters: int
    ms_subjects: float | None
    ms_raters: float | None
    ms_error: float | None
    not_computable_reason: str | None


def icc(ratings: "np.typing.ArrayLike", kind: Literal["ICC(2,1)", "ICC(3,1)"] = "ICC(2,1)") -> IccResult:
    """Single-rater intraclass correlation of a subjects x raters matrix (Shrout & Fleiss 1979, two-way ANOVA).

    ICC(2,1) = (MSR - MSE) / (MSR + (k-1) MSE + k (MSC - MSE) / n)   [= McGraw & Wong ICC(A,1)]
    ICC(3,1) = (MSR - MSE) / (MSR + (k-1) MSE)                       [= McGraw & Wong ICC(C,1)]
    MSR: between-subjects, MSC: between-raters, MSE: residual mean square; n subjects, k raters.
    Subjects with a missing rating (NaN) are left out (the two-way model needs complete rows); n_subjects says
    how many were used.
    """
    if kind not in ("ICC(2,1)", "ICC(3,1)"):
        raise ValueError(f"kind must be 'ICC(2,1)' or 'ICC(3,1)', got {kind!r}")
    matrix = np.asarray(ratings, dtype=float)
    if matrix.ndim != 2:
        raise ValueError(f"ratings must be a 2-D subjects x raters array, got shape {matrix.shape}")
    matrix = matrix[~np.isnan(matrix).any(axis=1)]
    n, k = matrix.shape
    if n < 2 or k < 2:
        return IccResult(None, kind, n, k, None, None, None, f"needs at least 2 complete subjects and 2 raters (have {n} x {k})")
    grand = matrix.mean()
    ss_rows = k * float(((matrix.mean(axis=1) - grand) ** 2).sum())
    ss_cols = n * float(((matrix.mean(axis=0) - grand) ** 2).sum())
    ss_error = float(((matrix - grand) ** 2).sum()) - ss_rows - ss_cols
    msr, msc, mse = ss_rows / (n - 1), ss_cols / (k - 1), ss_error / ((n - 1) * (k - 1))
    if kind == "ICC(2,1)":
        denominator = msr + (k - 1) * mse + k * (msc - mse) / n
    else:
        denominator = msr + (k - 1) * mse
    if denominator <= 0:
        return IccResult(None, kind, n, k, msr, msc, mse, "no variance between or within subjects: ICC undefined")
    return IccResult((msr - mse) / denominator, kind, n, k, msr, msc, mse, None)


@dataclass(frozen=True)
class WilcoxonResult:
    statistic: float | None
    p_value: float | None
    n: int  # pairs given
    n_nonzero: int  # pairs with a non-zero difference (the test drops zero differences)
    not_computable_reason: str | None


def paired_wilcoxon(x: Sequence[float], y: Sequence[float]) -> WilcoxonResult:
    """Two-sided Wilcoxon signed-rank test of paired scores x vs y (scipy.stats.wilcoxon, zero differences dropped).

    Not computable (with the reason) when there are fewer than 2 pairs or no non-zero difference.
    """
    if len(x) != len(y):
        raise ValueError(f"paired samples differ in length ({len(x)} and {len(y)})")
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if np.isnan(xs).any() or np.isnan(ys).any():
        raise ValueError("paired samples contain missing values")
    n = len(xs)
    nonzero = int(np.count_nonzero(xs - ys))
    if n < 2:
        return WilcoxonResult(None, None, n, nonzero, f"needs at least 2 pairs (have {n})")
    if nonzero == 0:
        return WilcoxonResult(None, None, n, 0, "all paired differences are zero")
    from scipy import stats  # with the first test computed, not with the app (tests/test_lazy_imports.py)

    result = stats.wilcoxon(xs, ys, zero_method="wilcox", alternative="two-sided")
    return WilcoxonResult(float(result.statistic), float(result.pvalue), n, nonzero, None)
