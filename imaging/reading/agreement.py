"""Assembling inter-reader agreement and the paired arm comparison from submitted scores.

The statistics are nucmed.agreement's (weighted Cohen's kappa, ICC, Wilcoxon signed-rank); this module
decides what is compared with what:

- one study: per reader pair, a weighted kappa over the study's segments (the items are the segments);
- a reading set (every study in scope with >= 2 submitted reads under one system): per segment and reader
  pair, a weighted kappa over the studies both read; the ICC(2,1) of the totals per reader pair over their
  common studies, and across all readers over the studies every one of them read.
"""
from collections import defaultdict
from dataclasses import asdict
from itertools import combinations
from typing import Any

import numpy as np

from imaging.reading import rules
from imaging.reading.models import ScoreSheet
from nucmed import agreement
from nucmed.scoring import KRENNING_MAX

WEIGHTS = "linear"
ICC_KIND = "ICC(2,1)"  # two-way random, absolute agreement: the readers are a sample of possible readers


def _categories(kind: str) -> list[int]:
    top = KRENNING_MAX if kind == rules.KRENNING else rules.max_segment_score(kind)
    return list(range(top + 1))


def _kappa(a: list[int], b: list[int], kind: str) -> dict[str, Any]:
    result = agreement.weighted_cohen_kappa(a, b, categories=_categories(kind), weights=WEIGHTS)
    return {"kappa": result.kappa, "n": result.n, "weights": result.weights, "not_computable_reason": result.not_computable_reason}


def _icc(matrix: list[list[float]]) -> dict[str, Any]:
    result = agreement.icc(np.array(matrix, dtype=float).reshape(len(matrix), -1), kind=ICC_KIND)
    return {"icc": result.icc, "kind": result.kind, "n_subjects": result.n_subjects, "n_raters": result.n_raters,
            "not_computable_reason": result.not_computable_reason}


def study_pair(kind: str, a: ScoreSheet, b: ScoreSheet) -> dict[str, Any]:
    """Two reads of one study: their total difference and, for segmented systems, kappa over the segments."""
    out: dict[str, Any] = {"readers": [a.reader.username, b.reader.username], "total_difference": b.total - a.total
                           if a.total is not None and b.total is not None else None}
    if kind != rules.KRENNING:
        codes = rules.segment_codes(kind)
        out["segments_differing"] = [c for c in codes if a.values[c] != b.values[c]]
        out["kappa_over_segments"] = _kappa([a.values[c] for c in codes], [b.values[c] for c in codes], kind)
    return out


def reading_set(kind: str, reads_by_study: dict[int, list[ScoreSheet]]) -> dict[str, Any]:
    """Agreement over a set of studies, each with >= 2 submitted independent reads (a reader's one read each)."""
    by_reader: dict[str, dict[int, ScoreSheet]] = defaultdict(dict)
    for study, sheets in reads_by_study.items():
        for sheet in sheets:
            by_reader[sheet.reader.username][study] = sheet
    readers = sorted(by_reader)
    pairs = []
    for r1, r2 in combinations(readers, 2):
        common = sorted(set(by_reader[r1]) & set(by_reader[r2]))
        if not common:
            continue
        s1, s2 = [by_reader[r1][s] for s in common], [by_reader[r2][s] for s in common]
        pair: dict[str, Any] = {"readers": [r1, r2], "studies": len(common),
                                "icc_totals": _icc([[x.total, y.total] for x, y in zip(s1, s2, strict=True)])}
        if kind != rules.KRENNING:
            pair["kappa_per_segment"] = {code: _kappa([x.values[code] for x in s1], [y.values[code] for y in s2], kind)
                                         for code in rules.segment_codes(kind)}
        pairs.append(pair)
    studies = sorted(reads_by_study)
    everyone = [[by_reader[r][s].total if s in by_reader[r] else np.nan for r in readers] for s in studies]
    return {"kind": kind, "studies": len(studies), "readers": readers, "weights": WEIGHTS, "pairs": pairs,
            "icc_totals_all_readers": _icc(everyone) if len(readers) >= 2 and studies else None}


def paired_test(x: list[float], y: list[float], *, labels: tuple[str, str]) -> dict[str, Any]:
    """Two-sided Wilcoxon signed-rank test of the patients' scores in arm `labels[0]` (x) vs `labels[1]` (y)."""
    result = agreement.paired_wilcoxon(x, y)
    return {"test": "Wilcoxon signed-rank, two-sided", "arms": list(labels), **asdict(result),
            "median_difference": float(np.median(np.subtract(x, y))) if x else None}


# --- Reader studies over paired arms (imaging.lowdose.reader_study) ------------------------------------------------------
def readers_kappa(ratings: dict[int, dict[Any, int]], *, categories: list[int], weights: str = WEIGHTS) -> dict[str, Any]:
    """Agreement of several readers on the same items: per reader pair Cohen's weighted kappa over the items both
    rated, and their mean over the pairs (Light's approach for more than two raters, Light 1971, Psychol Bull 76:365,
    applied to weighted kappas). `ratings` is {reader: {item: score}}. With two categories, linear weights give
    Cohen's plain kappa. With two readers the mean is their one kappa."""
    readers = sorted(ratings)
    pairs = []
    for r1, r2 in combinations(readers, 2):
        common = sorted(set(ratings[r1]) & set(ratings[r2]), key=str)
        result = agreement.weighted_cohen_kappa([ratings[r1][i] for i in common], [ratings[r2][i] for i in common],
                                                categories=categories, weights=weights)  # type: ignore[arg-type]
        pairs.append({"readers": [r1, r2], "kappa": result.kappa, "n": result.n, "not_computable_reason": result.not_computable_reason})
    kappas = [p["kappa"] for p in pairs if p["kappa"] is not None]
    if len(readers) < 2:  # noqa: PLR2004
        reason: str | None = "needs at least 2 readers"
    elif not kappas:
        reason = "; ".join(sorted({p["not_computable_reason"] for p in pairs if p["not_computable_reason"]})) or "no common items"
    else:
        reason = None
    return {"kappa": float(np.mean(kappas)) if kappas else None, "weights": weights, "pairs": pairs,
            "not_computable_reason": reason}


def _signed_rank_cdf(n: int) -> list[float]:
    """P(T+ <= t), t = 0 .. n(n+1)/2, of the Wilcoxon signed-rank statistic under the null (no ties): the number of
    subsets of {1..n} with rank sum t, over 2^n (counted by the usual subset-sum recursion)."""
    top = n * (n + 1) // 2
    counts = [1] + [0] * top
    for rank in range(1, n + 1):
        for t in range(top, rank - 1, -1):
            counts[t] += counts[t - rank]
    total, running, cdf = 2**n, 0, []
    for c in counts:
        running += c
        cdf.append(running / total)
    return cdf


def hodges_lehmann(differences: list[float], *, confidence: float = 0.95) -> dict[str, Any]:
    """Hodges-Lehmann estimate of the median of paired differences and its distribution-free confidence interval.

    The estimate is the median of the n(n+1)/2 Walsh averages (d_i + d_j)/2, i <= j (Hodges & Lehmann 1963, Ann Math
    Stat 34:598). The interval is [W_(k), W_(M+1-k)] of the ordered Walsh averages, k the smallest integer with
    P(T+ <= k) >= (1 - confidence)/2 under the exact signed-rank null distribution (Hollander, Wolfe & Chicken 2014,
    Nonparametric Statistical Methods, 3rd ed., section 3.3; the same k as R's wilcox.test(conf.int = TRUE)); its achieved
    confidence is 1 - 2 P(T+ <= k - 1) >= `confidence`. Zero differences are kept (they are Walsh averages like the rest);
    with tied or zero differences the exact distribution is only approximate, so the coverage is approximate too.
    Fewer than 6 pairs cannot reach 95 %: the interval is then not given, with the reason.
    """
    d = [float(x) for x in differences]
    n = len(d)
    if n == 0:
        return {"estimate": None, "low": None, "high": None, "achieved_confidence": None, "not_computable_reason": "no pairs"}
    walsh = sorted((d[i] + d[j]) / 2 for i in range(n) for j in range(i, n))
    estimate = float(np.median(walsh))
    cdf = _signed_rank_cdf(n)
    k = next(t for t, p in enumerate(cdf) if p >= (1 - confidence) / 2)
    if k == 0:
        return {"estimate": estimate, "low": None, "high": None, "achieved_confidence": None,
                "not_computable_reason": f"{n} pairs cannot give a {confidence:.0%} interval"}
    return {"estimate": estimate, "low": walsh[k - 1], "high": walsh[len(walsh) - k],
            "achieved_confidence": 1 - 2 * cdf[k - 1], "not_computable_reason": None}
