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
