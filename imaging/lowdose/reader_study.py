"""The blinded reader study of a low-dose protocol (issue 18 item 2): a reading session over the protocol's pairs, and its
results per criterion.

The session is an ordinary blinded reading session (imaging.reading: per-reader random order, neutral case codes, arm
labels hidden from readers), made by the reading services: the arms are the protocol's reference and test roles, each
pair's two series the two cases of its child, and the reference series' lesion VOIs the lesions every reader calls seen
or not (with a 1-5 confidence) in both cases. The session names its protocol through the reading app's generic
`purpose`/`purpose_ref` ("lowdose_protocol", id): the reading app may not import this one.

One pair per child: the paired tests treat pairs as independent, which two time points of one child are not. The first
pair of the child's earliest study is taken; the others are counted as skipped.

No scipy at import time (the API imports this module; tests/test_lazy_imports.py): the Wilcoxon test imports it when run.
"""
from collections import defaultdict
from collections.abc import Sequence
from statistics import mean
from typing import Any

import numpy as np
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from imaging.lowdose.models import EvaluationPair, EvaluationProtocol
from imaging.models import VoiMeasurement
from imaging.reading import agreement
from imaging.reading import selectors as reading_selectors
from imaging.reading.models import ReadingSession
from imaging.reading.models.sessions import SCALES
from imaging.reading.services.sessions import ItemInput, LesionInput, reading_session_create
from registry.access import Action, may
from registry.audit import audit_record
from registry.errors import ApplicationError
from registry.models import User

PURPOSE = "lowdose_protocol"
DEFAULT_INSTRUCTIONS = gettext_lazy(
    "Score each case's image quality on the four scales (1 = worst, 5 = best). For each lesion listed, say whether you "
    "see it in this case and how sure you are of your answer (1 = a guess, 5 = certain).")
CRITERIA: tuple[tuple[str, Any], ...] = (
    ("overall_quality", gettext_lazy("Overall image quality")),
    ("noise", gettext_lazy("Noise (5 = least noise)")),
    ("lesion_conspicuity", gettext_lazy("Lesion conspicuity")),
    ("diagnostic_confidence", gettext_lazy("Diagnostic confidence")),
    ("lesion_detection_rate", gettext_lazy("Lesion detection rate")),
    ("lesion_confidence", gettext_lazy("Confidence in the lesion calls")),
)
LIKERT = [1, 2, 3, 4, 5]
WILCOXON_NOTE = ("two-sided Wilcoxon signed-rank test (scipy.stats.wilcoxon) of the per-child values, test vs reference; zero "
                 "differences dropped (zero_method='wilcox'); p exact when the remaining differences are distinct and at most "
                 "50, by exhaustive permutation when they are tied and at most 13, else the tie-corrected normal approximation")
CI_METHOD = ("Hodges-Lehmann estimate (median of Walsh averages) of test - reference, with its distribution-free interval "
             "from the exact signed-rank distribution (Hollander, Wolfe & Chicken 2014, section 3.3)")


# ---------------------------------------------------------------------------------------------------------------------
# Creating the session
# ---------------------------------------------------------------------------------------------------------------------

def study_pairs(protocol: EvaluationProtocol, *, actor: User, evaluated_only: bool = True) -> tuple[list[EvaluationPair], int]:
    """The pairs a reader study reads, one per child (the first pair of their earliest study), and how many were skipped."""
    pairs = EvaluationPair.objects.restrict(actor, Action.VIEW).filter(protocol=protocol)
    if evaluated_only:
        pairs = pairs.filter(status=EvaluationPair.Status.SUCCEEDED)
    chosen: dict[int, EvaluationPair] = {}
    skipped = 0
    for pair in pairs.select_related("reference__study__patient", "test__study__patient").order_by(
            "reference__study__study_date", "reference__study_id", "id"):
        patient = pair.reference.study.patient_id
        if patient in chosen:
            skipped += 1
        else:
            chosen[patient] = pair
    return list(chosen.values()), skipped


def _centre(v: VoiMeasurement) -> list[float] | None:
    """Where the lesion is, to point the reader at it: the sphere's centre, the box's middle, the drawn points' mean."""
    if v.centre_mm:
        return [float(x) for x in v.centre_mm]
    if v.box_min_mm and v.box_max_mm:
        return [(float(a) + float(b)) / 2 for a, b in zip(v.box_min_mm, v.box_max_mm, strict=True)]
    if v.points_mm:
        return [float(x) for x in np.mean(np.asarray(v.points_mm, dtype=float), axis=0)]
    return None


def _lesions(pairs: Sequence[EvaluationPair]) -> list[LesionInput]:
    patient_of = {p.reference_id: p.reference.study.patient_id for p in pairs}
    vois = VoiMeasurement.objects.filter(series_id__in=list(patient_of), kind=VoiMeasurement.Kind.LESION).order_by("series_id", "id")
    # The site only: a VOI's label names where it is ("left adrenal"), never which image it was drawn on.
    return [LesionInput(patient_id=patient_of[v.series_id], site=v.label, centre_mm=_centre(v), voi=v) for v in vois]


@transaction.atomic
def reader_study_create(*, actor: User, protocol: EvaluationProtocol, readers: Sequence[User], name: str = "",
                        instructions: str = "", evaluated_only: bool = True, seed: int | None = None) -> ReadingSession:
    """A blinded reading session over the protocol's pairs (data managers of every hospital; audited).

    Readers must be blind: the reading service refuses one who can open any of the series at their own hospital.
    """
    if not may(actor, Action.ADD, ReadingSession):
        raise ApplicationError(_("Only data managers of the whole programme create reader studies."), code="not_allowed")
    pairs, skipped = study_pairs(protocol, actor=actor, evaluated_only=evaluated_only)
    if not pairs:
        message = _("This protocol has no evaluated pairs to read.") if evaluated_only else _("This protocol has no pairs to read.")
        raise ApplicationError(message, code="no_pairs")
    items = [item for p in pairs for item in (ItemInput(p.reference, protocol.reference_role), ItemInput(p.test, protocol.test_role))]
    session = reading_session_create(
        actor=actor, name=name.strip() or _("Reader study: %(protocol)s") % {"protocol": protocol.name},
        instructions=instructions.strip() or str(DEFAULT_INSTRUCTIONS), items=items, readers=readers, seed=seed,
        lesions=_lesions(pairs), purpose=PURPOSE, purpose_ref=protocol.pk)
    # No hospital on the event, like the session's own: it names the arms of every child's pair.
    audit_record(actor=actor, action="lowdose_reader_study", instance=protocol,
                 after={"session": session.pk, "pairs": [p.pk for p in pairs], "skipped_pairs": skipped,
                        "evaluated_only": evaluated_only})
    return session


def protocol_sessions(protocol: EvaluationProtocol, *, user: User) -> list[ReadingSession]:
    """The protocol's reader-study sessions the user may see, newest first, with their items and progress."""
    return list(reading_selectors.session_list(user=user).filter(purpose=PURPOSE, purpose_ref=protocol.pk))


def session_statuses(protocol: EvaluationProtocol, *, user: User) -> list[dict[str, Any]]:
    """The protocol's reader-study sessions the user may see, newest first: id and status only (one query)."""
    return list(ReadingSession.objects.restrict(user, Action.VIEW).filter(purpose=PURPOSE, purpose_ref=protocol.pk)
                .values("id", "status"))


# ---------------------------------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------------------------------

def _quartiles(values: list[float]) -> tuple[float | None, float | None, float | None]:
    if not values:
        return None, None, None
    q1, q2, q3 = np.percentile(values, [25, 50, 75])  # numpy's default (linear interpolation, Hyndman & Fan type 7)
    return float(q1), float(q2), float(q3)


def _criterion(criterion: str, label: Any, reference: dict[int, float], test: dict[int, float],
               agreement_result: dict[str, Any], agreement_method: str) -> dict[str, Any]:
    """One criterion over the children with a value in both arms: medians, the paired test and the HL interval."""
    children = sorted(set(reference) & set(test))
    ref, tst = [reference[c] for c in children], [test[c] for c in children]
    r1, r_med, r3 = _quartiles(ref)
    t1, t_med, t3 = _quartiles(tst)
    wilcoxon = agreement.paired_test(tst, ref, labels=("test", "reference"))
    hl = agreement.hodges_lehmann([t - r for t, r in zip(tst, ref, strict=True)])
    return {
        "criterion": criterion, "label": str(label), "n": len(children),
        "reference_median": r_med, "reference_iqr": [r1, r3] if ref else None,
        "test_median": t_med, "test_iqr": [t1, t3] if tst else None,
        "median_difference": hl["estimate"], "ci_low": hl["low"], "ci_high": hl["high"],
        "ci_confidence": hl["achieved_confidence"], "ci_method": CI_METHOD, "ci_not_computable_reason": hl["not_computable_reason"],
        "wilcoxon_p": wilcoxon["p_value"], "wilcoxon_statistic": wilcoxon["statistic"], "wilcoxon_n_nonzero": wilcoxon["n_nonzero"],
        "wilcoxon_not_computable_reason": wilcoxon["not_computable_reason"], "wilcoxon_method": WILCOXON_NOTE,
        "agreement": agreement_result["kappa"], "agreement_method": agreement_method,
        "agreement_not_computable_reason": agreement_result["not_computable_reason"],
    }


def _per_child(rows: list[dict[str, Any]], arm: str, value: Any) -> dict[int, float]:
    """A child's value in an arm: the mean over readers (and lesions) of `value(row)`."""
    collected: dict[int, list[float]] = defaultdict(list)
    for row in rows:
        if row["arm"] == arm:
            collected[row["patient"]].append(float(value(row)))
    return {child: mean(values) for child, values in collected.items()}


def _ratings(rows: list[dict[str, Any]], item_key: str, value: Any) -> dict[int, dict[Any, int]]:
    out: dict[int, dict[Any, int]] = defaultdict(dict)
    for row in rows:
        out[row["reader"]][(row[item_key], row["arm"])] = int(value(row))
    return dict(out)


def session_results(session: ReadingSession, protocol: EvaluationProtocol) -> list[dict[str, Any]]:
    """Per criterion (SCALES, then lesion detection rate and lesion confidence) the reference vs test comparison over the
    children, each child's value being the mean over readers (a scale), or over readers and lesions (detection: the
    fraction of (reader, lesion) calls that are "seen"; confidence: the mean confidence), and the inter-reader agreement:
    the mean over reader pairs of Cohen's weighted kappa (linear weights) over every case (scales) or every (lesion, arm)
    call (detection: two categories, so plain kappa; confidence). Children without lesions do not enter the lesion criteria.
    """
    reads = reading_selectors.session_reads(session=session)
    cases, lesions = reads["cases"], reads["lesions"]
    ref_arm, test_arm = protocol.reference_role, protocol.test_role
    out = []
    for scale, label in CRITERIA[:len(SCALES)]:
        kappa = agreement.readers_kappa(_ratings(cases, "item", lambda r, s=scale: r[s]), categories=LIKERT)
        out.append(_criterion(scale, label, _per_child(cases, ref_arm, lambda r, s=scale: r[s]),
                              _per_child(cases, test_arm, lambda r, s=scale: r[s]), kappa,
                              "Cohen's kappa, linear weights, mean over reader pairs, items = cases"))
    detection = _criterion(
        "lesion_detection_rate", CRITERIA[4][1], _per_child(lesions, ref_arm, lambda r: r["seen"]),
        _per_child(lesions, test_arm, lambda r: r["seen"]),
        agreement.readers_kappa(_ratings(lesions, "lesion", lambda r: r["seen"]), categories=[0, 1]),
        "Cohen's kappa, mean over reader pairs, items = lesion calls (lesion x arm)")
    for arm, key in ((ref_arm, "reference"), (test_arm, "test")):
        calls = [r["seen"] for r in lesions if r["arm"] == arm]
        detection[f"{key}_seen"], detection[f"{key}_calls"] = sum(calls), len(calls)
        detection[f"{key}_rate_overall"] = sum(calls) / len(calls) if calls else None
    out.append(detection)
    out.append(_criterion(
        "lesion_confidence", CRITERIA[5][1], _per_child(lesions, ref_arm, lambda r: r["confidence"]),
        _per_child(lesions, test_arm, lambda r: r["confidence"]),
        agreement.readers_kappa(_ratings(lesions, "lesion", lambda r: r["confidence"]), categories=LIKERT),
        "Cohen's kappa, linear weights, mean over reader pairs, items = lesion calls (lesion x arm)"))
    return out


def latest_complete_session(protocol: EvaluationProtocol) -> ReadingSession | None:
    return (ReadingSession.objects.filter(purpose=PURPOSE, purpose_ref=protocol.pk, status=ReadingSession.Status.COMPLETE)
            .order_by("-completed_at", "-id").first())


def reader_results(protocol: EvaluationProtocol) -> list[dict[str, Any]]:
    """The reader evidence of a protocol, one dict per criterion, from its latest complete reader-study session (an empty
    list when no session of the protocol is complete). Keys: criterion, label, n, reference_median, test_median,
    median_difference (Hodges-Lehmann, test - reference), ci_low, ci_high (its 95 % interval), wilcoxon_p, agreement,
    agreement_method, and more (IQRs, the test statistic, the reasons a number is not computable, detection counts).

    No access check here: the callers (the API, the validation report) ask `may` first; the numbers name the arms.
    """
    session = latest_complete_session(protocol)
    return [] if session is None else session_results(session, protocol)
