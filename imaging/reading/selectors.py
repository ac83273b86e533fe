"""Reads of the reading app, every one scoped by the access rule (selectors never see an unscoped table)."""
from collections import defaultdict
from statistics import mean, median
from typing import Any

from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils.translation import gettext as _

from imaging.models import ImagingStudy, Preview, Series
from imaging.reading import agreement, rules
from imaging.reading.models import AssignmentCase, CaseLesionRead, ReadingAssignment, ReadingSession, ScoreSheet, SessionLesion
from imaging.reading.models.sessions import SCALES
from nucmed import response, scoring
from registry.access import Action, Rule, reach
from registry.errors import ApplicationError
from registry.models import Patient, User

S = ScoreSheet.Status


def sheet_list(*, user: User) -> QuerySet[ScoreSheet]:
    return ScoreSheet.objects.restrict(user, Action.VIEW).select_related("study__patient", "reader")


def scorable_studies(*, user: User) -> QuerySet[ImagingStudy]:
    """Studies the user sees at their hospitals, and those of trial subjects in trials they read centrally."""
    visible = Q(pk__in=ImagingStudy.objects.restrict(user, Action.VIEW).values("pk"))
    central = reach(user, Rule.READ_IMAGES).q(ImagingStudy, hospital_path=None, trial_path="patient__trial_subjects__trial")
    if central is not None:
        visible |= central
    return ImagingStudy.objects.filter(visible).select_related("patient")


def _submitted(user: User, kind: str) -> QuerySet[ScoreSheet]:
    return sheet_list(user=user).filter(kind=kind, status=S.SUBMITTED)


# --- Agreement -------------------------------------------------------------------------------------
def study_agreement(*, user: User, study: ImagingStudy, kind: str) -> dict[str, Any]:
    """The submitted reads of one study side by side, with per reader pair a weighted kappa over its segments."""
    sheets = list(_submitted(user, kind).filter(study=study).order_by("submitted_at", "id"))
    reads = [s for s in sheets if s.role == ScoreSheet.Role.READ]
    consensus = next((s for s in sheets if s.role == ScoreSheet.Role.CONSENSUS), None)
    # Krenning scores lesions, not segments: its reads are compared by their totals only.
    segments = () if kind == rules.KRENNING else rules.segment_codes(kind)
    return {
        "study": study.pk,
        "kind": kind,
        "readers": [s.reader.username for s in reads],
        "totals": {s.reader.username: s.total for s in reads},
        "consensus": None if consensus is None else {"reader": consensus.reader.username, "total": consensus.total,
                                                     "values": consensus.values},
        "segments": [{"code": code, "scores": {s.reader.username: s.values.get(code) for s in reads}}
                     for code in segments],
        "pairs": [agreement.study_pair(kind, a, b) for i, a in enumerate(reads) for b in reads[i + 1:]],
    }


def reading_set_agreement(*, user: User, kind: str, hospital_code: str | None = None) -> dict[str, Any]:
    """Agreement over every study in scope with >= 2 submitted independent reads under `kind`."""
    reads = _submitted(user, kind).filter(role=ScoreSheet.Role.READ)
    if hospital_code:
        reads = reads.filter(study__patient__hospital__code=hospital_code)
    by_study: dict[int, list[ScoreSheet]] = defaultdict(list)
    for sheet in reads.order_by("study_id", "submitted_at", "id"):
        by_study[sheet.study_id].append(sheet)
    return agreement.reading_set(kind, {study: sheets for study, sheets in by_study.items() if len(sheets) >= 2})


# --- Timeline ----------------------------------------------------------------------------------------
def _reference(sheets: list[ScoreSheet]) -> tuple[int | None, str]:
    """The total a time point stands for: the consensus, else the reads when they agree on the total."""
    consensus = next((s for s in sheets if s.role == ScoreSheet.Role.CONSENSUS), None)
    if consensus is not None:
        return consensus.total, "consensus"
    totals = sorted({s.total for s in sheets})
    if len(totals) == 1:
        return totals[0], "single read" if len(sheets) == 1 else f"{len(sheets)} reads agree"
    return None, f"readers disagree ({' vs '.join(map(str, totals))}): a consensus read is needed"


def _reference_values(sheets: list[ScoreSheet]) -> dict[str, int] | None:
    """The segment scores a time point stands for: the consensus's, else the reads' when they agree on every segment."""
    consensus = next((s for s in sheets if s.role == ScoreSheet.Role.CONSENSUS), None)
    if consensus is not None:
        return consensus.values
    return sheets[0].values if all(s.values == sheets[0].values for s in sheets) else None


def _inrc(kind: str, baseline: dict[str, int] | None, values: dict[str, int] | None) -> dict[str, Any]:
    """The INRC 2017 MIBG bone component (nucmed.response) of a Curie or SIOPEN time point against the baseline's segments."""
    if baseline is None or values is None:
        return {"category": None, "not_assessable_reason": "the baseline or this time point has no agreed segment scores"}
    result = response.mibg_bone_response(kind, baseline, values)
    return {"category": result.category, "relative_bone_score": result.relative_score, "baseline_bone_score": result.baseline_bone_score,
            "bone_score": result.bone_score, "new_bone_segments": list(result.new_bone_segments), "notes": list(result.notes),
            "note_parts": [[key, values] for key, values in result.note_parts],
            "not_assessable_reason": result.not_assessable_reason, "version": result.version, "source": result.source}


def patient_timeline(*, user: User, patient: Patient, kind: str) -> dict[str, Any]:
    """Per imaging time point the reference total and, against the first time point (baseline), the relative
    score and the response call (reduction >= 50 %) from nucmed.scoring, and the INRC 2017 MIBG bone component
    (relative bone score, new bone sites, CR/PR/SD/PD) from nucmed.response."""
    by_study: dict[int, list[ScoreSheet]] = defaultdict(list)
    for sheet in _submitted(user, kind).filter(study__patient=patient).order_by("study__study_date", "study_id", "id"):
        by_study[sheet.study_id].append(sheet)
    points: list[dict[str, Any]] = []
    baseline: int | None = None
    baseline_values: dict[str, int] | None = None
    for n, sheets in enumerate(by_study.values()):
        total, source = _reference(sheets)
        values = _reference_values(sheets)
        shown = next((s for s in sheets if s.role == ScoreSheet.Role.CONSENSUS), sheets[0])
        point = {"study": shown.study_id, "study_date": shown.study.study_date, "timepoint": shown.timepoint,
                 "total": total, "source": source, "reads": [s.total for s in sheets if s.role == ScoreSheet.Role.READ],
                 "flag": shown.flag if total is not None else None, "relative_score": None, "reduction_percent": None,
                 "response": None, "not_assessable_reason": None, "inrc_mibg_bone": None}
        if n == 0:
            baseline, baseline_values = total, values
        elif kind == rules.KRENNING:
            point["not_assessable_reason"] = "relative change is defined for Curie and SIOPEN totals"
        elif baseline is None or total is None:
            point["not_assessable_reason"] = "the baseline or this time point has no agreed total"
        else:
            change = scoring.response_assessment(baseline, total)
            point.update(relative_score=change.relative_score, reduction_percent=change.reduction_percent,
                         response=change.response, not_assessable_reason=change.not_assessable_reason)
        if n and kind in rules.SEGMENTED:
            point["inrc_mibg_bone"] = _inrc(kind, baseline_values, values)
        points.append(point)
    return {"patient": patient.study_id, "kind": kind, "points": points}


# --- Reading sessions ----------------------------------------------------------------------------------
def session_list(*, user: User) -> QuerySet[ReadingSession]:
    progress = ReadingAssignment.objects.select_related("reader").annotate(
        cases_total=Count("cases"), cases_scored=Count("cases", filter=Q(cases__scored_at__isnull=False)))
    return (ReadingSession.objects.restrict(user, Action.VIEW).select_related("created_by")
            .prefetch_related("items__series", "items__patient", Prefetch("assignments", queryset=progress)))


def assignment_list(*, user: User) -> QuerySet[ReadingAssignment]:
    return ReadingAssignment.objects.restrict(user, Action.VIEW).select_related("session").prefetch_related(
        Prefetch("cases", queryset=AssignmentCase.objects.select_related("item__series").order_by("position")),
        "cases__item__series__previews")


def case_list(*, user: User) -> QuerySet[AssignmentCase]:
    return AssignmentCase.objects.restrict(user, Action.VIEW).select_related("item")


def _cached(obj: object, name: str) -> list[Any] | None:
    found = getattr(obj, "_prefetched_objects_cache", {}).get(name)
    return list(found) if found is not None else None


def case_lesion_rows(case: AssignmentCase) -> list[dict[str, Any]]:
    """The known lesions of a case with the reader's calls, reached through the reader's own case (the lesions are
    session rows, which only data managers list; a reader sees those of their case's patient, in both arms alike).
    Reads what assignment_list prefetched when it is there, else one query."""
    session_lesions = _cached(case.assignment.session, "lesions") if "assignment" in case._state.fields_cache else None
    reads = _cached(case, "lesion_reads")
    if session_lesions is None or reads is None:
        own = CaseLesionRead.objects.filter(case_id=case.pk, lesion=OuterRef("pk"))
        rows = (SessionLesion.objects.filter(session_id=case.item.session_id, patient_id=case.item.patient_id)
                .annotate(seen=Subquery(own.values("seen")[:1]), confidence=Subquery(own.values("confidence")[:1]))
                .order_by("number").values("number", "site", "centre_mm", "seen", "confidence"))
        return list(rows)
    by_lesion = {r.lesion_id: r for r in reads}
    out = []
    for lesion in sorted((x for x in session_lesions if x.patient_id == case.item.patient_id), key=lambda x: x.number):
        read = by_lesion.get(lesion.pk)
        out.append({"number": lesion.number, "site": lesion.site, "centre_mm": lesion.centre_mm,
                    "seen": read.seen if read else None, "confidence": read.confidence if read else None})
    return out


def case_previews(case: AssignmentCase) -> list[Preview]:
    """The series' preview PNGs, reached through the reader's own case (the reader has no imaging scope on
    the series by design, so the Preview rows are read here, by the case, not through Preview's own scope)."""
    prefetched = getattr(case.item.series, "_prefetched_objects_cache", {}).get("previews")
    previews = list(prefetched) if prefetched is not None else list(case.item.series.previews.all())
    return sorted(previews, key=lambda p: (p.kind != Preview.Kind.CORONAL_MIP, p.index))


def require_blinding(*, user: User, assignment: ReadingAssignment) -> None:
    """Refuse to serve cases to a reader who has since gained access to the session's series elsewhere."""
    series = assignment.session.items.values("series_id")
    if Series.objects.restrict(user, Action.VIEW).filter(pk__in=series).exists():
        raise ApplicationError(_("You can now open these series through the imaging pages, so your reads would not be "
                                 "blind; ask the data manager to reassign your cases."), code="reader_not_blind")


def session_results(*, session: ReadingSession) -> dict[str, Any]:
    """Per arm and scale the scores, and per scale the paired Wilcoxon signed-rank test across patients
    (each patient's score in an arm is the mean over readers). Refused until every read is in."""
    cases = list(AssignmentCase.objects.filter(assignment__session=session).select_related("item", "assignment"))
    scored = sum(1 for c in cases if c.scored_at is not None)
    if session.status != ReadingSession.Status.COMPLETE:
        raise ApplicationError(_("Results are shown once every read is in: %(scored)s of %(total)s cases are scored.")
                               % {"scored": scored, "total": len(cases)}, code="reads_incomplete")
    arms = sorted({c.item.arm for c in cases})
    per_patient: dict[str, dict[str, dict[int, list[int]]]] = {s: defaultdict(lambda: defaultdict(list)) for s in SCALES}
    for case in cases:
        for scale in SCALES:
            per_patient[scale][case.item.arm][case.item.patient_id].append(getattr(case, scale))
    patients = sorted({c.item.patient_id for c in cases})
    out: dict[str, Any] = {"session": session.pk, "arms": arms, "readers": len({c.assignment.reader_id for c in cases}),
                           "patients": len(patients), "scales": {}}
    for scale in SCALES:
        arm_scores = {arm: [v for values in per_patient[scale][arm].values() for v in values] for arm in arms}
        pair_a = [mean(per_patient[scale][arms[0]][p]) for p in patients]
        pair_b = [mean(per_patient[scale][arms[1]][p]) for p in patients]
        out["scales"][scale] = {
            "per_arm": {arm: {"n": len(v), "mean": round(mean(v), 3), "median": median(v),
                              "distribution": {str(k): v.count(k) for k in range(1, 6)}} for arm, v in arm_scores.items()},
            "paired_test": agreement.paired_test(pair_a, pair_b, labels=(arms[0], arms[1])),
        }
    return out


def session_reads(*, session: ReadingSession) -> dict[str, Any]:
    """Every score and lesion call of a session, keyed for paired analysis (two queries):

    {"cases": [{"reader", "arm", "patient", "item", <scale>: score, ...}],
     "lesions": [{"reader", "arm", "patient", "lesion", "seen", "confidence"}]}
    Unscored cases and their calls are left out. The caller checks access (these are the arms of the session).
    """
    cases = [{"reader": c.assignment.reader_id, "arm": c.item.arm, "patient": c.item.patient_id, "item": c.item_id,
              **{s: getattr(c, s) for s in SCALES}}
             for c in AssignmentCase.objects.filter(assignment__session=session, scored_at__isnull=False)
             .select_related("assignment", "item").order_by("id")]
    lesions = [{"reader": r.case.assignment.reader_id, "arm": r.case.item.arm, "patient": r.case.item.patient_id,
                "lesion": r.lesion_id, "seen": r.seen, "confidence": r.confidence}
               for r in CaseLesionRead.objects.filter(case__assignment__session=session, case__scored_at__isnull=False)
               .select_related("case__assignment", "case__item").order_by("id")]
    return {"cases": cases, "lesions": lesions}
