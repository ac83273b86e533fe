"""What reader studies add to reading sessions: known lesions called per case, the generic purpose link, the
Hodges-Lehmann interval and the agreement of several readers (imaging.reading.agreement)."""
import itertools
from datetime import date
from statistics import mean, median

import pytest

from imaging.models import Series
from imaging.reading import agreement
from imaging.reading.models import CaseLesionRead, ReadingSession
from imaging.reading.models.sessions import SCALES
from imaging.reading.services.sessions import ItemInput, LesionInput, LesionRead, assignment_case_score, reading_session_create
from imaging.reading.tests import helpers as h
from nucmed.agreement import weighted_cohen_kappa
from registry.errors import ApplicationError

GOOD = dict.fromkeys(SCALES, 4)


def _null_cdf_by_enumeration(n: int) -> list[float]:
    """P(T+ <= t) by listing all 2^n sign assignments of the ranks 1..n (independent of the recursion in agreement)."""
    sums = [sum(r for r, s in zip(range(1, n + 1), signs, strict=True) if s) for signs in itertools.product((0, 1), repeat=n)]
    top = n * (n + 1) // 2
    return [sum(1 for x in sums if x <= t) / 2**n for t in range(top + 1)]


@pytest.mark.parametrize("d", [[0.4, -1.3, 2.2, 0.9, 1.7, -0.2, 3.1, 0.6], [1, 2, 3, 4, 5, 6], list(range(-3, 9))])
def test_hodges_lehmann_against_enumeration(d: list[float]) -> None:
    n = len(d)
    walsh = sorted((d[i] + d[j]) / 2 for i in range(n) for j in range(i, n))
    cdf = _null_cdf_by_enumeration(n)
    k = min(t for t, p in enumerate(cdf) if p >= 0.025)
    result = agreement.hodges_lehmann(d)
    assert result["estimate"] == median(walsh)
    assert (result["low"], result["high"]) == (walsh[k - 1], walsh[-k])
    assert result["achieved_confidence"] == pytest.approx(1 - 2 * cdf[k - 1]) and result["achieved_confidence"] >= 0.95


def test_hodges_lehmann_says_why_not() -> None:
    assert agreement.hodges_lehmann([])["estimate"] is None
    five = agreement.hodges_lehmann([1, 2, 3, 4, 5])  # 2 x 1/32 > 5 %: no 95 % interval exists
    assert five["estimate"] == 3 and five["low"] is None and "5 pairs" in five["not_computable_reason"]
    six = agreement.hodges_lehmann([1, 2, 3, 4, 5, 6])  # 2 x 1/64 = 3.1 %: [min, max] Walsh average
    assert (six["low"], six["high"], six["achieved_confidence"]) == (1, 6, 1 - 2 / 64)


def test_readers_kappa_is_the_mean_over_reader_pairs() -> None:
    ratings = {1: {"a": 1, "b": 2, "c": 3, "d": 5, "e": 4}, 2: {"a": 1, "b": 3, "c": 3, "d": 4, "e": 4},
               3: {"a": 2, "b": 2, "c": 3, "d": 5, "e": 5, "f": 1}}
    result = agreement.readers_kappa(ratings, categories=[1, 2, 3, 4, 5])
    items = ["a", "b", "c", "d", "e"]  # f: only reader 3 rated it, so no pair uses it
    expected = [weighted_cohen_kappa([ratings[x][i] for i in items], [ratings[y][i] for i in items], categories=[1, 2, 3, 4, 5],
                                     weights="linear").kappa for x, y in ((1, 2), (1, 3), (2, 3))]
    assert result["kappa"] == pytest.approx(mean(expected)) and [p["n"] for p in result["pairs"]] == [5, 5, 5]
    alone = agreement.readers_kappa({1: {"a": 1}}, categories=[1, 2])
    assert alone["kappa"] is None and alone["not_computable_reason"] == "needs at least 2 readers"


@pytest.fixture
def lesion_session(actors):  # type: ignore[no-untyped-def]
    """Two hospital-B children, two series each; child 0 has two known lesions, child 1 none."""
    patients = [h.patient_at(actors.coordinator_b, actors.hospital_b) for _ in range(2)]
    items = []
    for n, patient in enumerate(patients):
        study = h.study_of(patient, tracer="F18_FDG", modality="PT", on=date(2021, 1, 1 + n), description="PET")
        first = h.series_of(study)
        other = Series.objects.create(study=study, series_uid=f"2.25.55{n}", modality="PT", number_of_instances=1,
                                      pipeline_state=Series.PipelineState.DONE)
        items += [ItemInput(first, "a"), ItemInput(other, "b")]
    lesions = [LesionInput(patient_id=patients[0].pk, site="left adrenal", centre_mm=[1.0, 2.0, 3.0]),
               LesionInput(patient_id=patients[0].pk, site="L2")]
    session = reading_session_create(actor=actors.data_manager, name="s", items=items, readers=[actors.investigator_a],
                                     lesions=lesions, purpose="test_purpose", purpose_ref=3, seed=1)
    return {"session": session, "patients": patients}


def test_lesions_are_numbered_per_child_and_required_in_its_cases(actors, lesion_session) -> None:  # type: ignore[no-untyped-def]
    session: ReadingSession = lesion_session["session"]
    assert (session.purpose, session.purpose_ref) == ("test_purpose", 3)
    assert list(session.lesions.values_list("number", "site")) == [(1, "left adrenal"), (2, "L2")]
    reader = actors.investigator_a
    cases = {(c.item.patient_id, c.item.arm): c for c in session.assignments.get().cases.select_related("item")}
    child_0, child_1 = (p.pk for p in lesion_session["patients"])
    with_lesions, without = cases[child_0, "a"], cases[child_1, "a"]
    for calls, message in (([LesionRead(1, True, 4)], "missing: 2"),
                           ([LesionRead(1, True, 4), LesionRead(2, True, 4), LesionRead(3, True, 4)], "Lesion 3"),
                           ([LesionRead(1, True, 4), LesionRead(1, False, 4)], "answered twice"),
                           ([LesionRead(1, True, 0), LesionRead(2, True, 4)], "Confidence is 1 to 5")):
        with pytest.raises(ApplicationError, match=message):
            assignment_case_score(actor=reader, case=with_lesions, scores=GOOD, lesions=calls)
    assert not CaseLesionRead.objects.exists()
    assignment_case_score(actor=reader, case=with_lesions, scores=GOOD, lesions=[LesionRead(1, True, 4), LesionRead(2, False, 2)])
    # Re-scoring replaces the calls (until every read is in).
    assignment_case_score(actor=reader, case=with_lesions, scores=GOOD, lesions=[LesionRead(1, False, 3), LesionRead(2, False, 2)])
    assert sorted(CaseLesionRead.objects.values_list("lesion__number", "seen", "confidence")) == [(1, False, 3), (2, False, 2)]
    with pytest.raises(ApplicationError, match="Lesion 1"):
        assignment_case_score(actor=reader, case=without, scores=GOOD, lesions=[LesionRead(1, True, 4)])
    assignment_case_score(actor=reader, case=without, scores=GOOD)
    assignment_case_score(actor=reader, case=cases[child_1, "b"], scores=GOOD)
    session.refresh_from_db()
    assert session.status == ReadingSession.Status.OPEN  # child 0's other arm is not read yet
    assignment_case_score(actor=reader, case=cases[child_0, "b"], scores=GOOD,
                          lesions=[LesionRead(1, True, 5), LesionRead(2, True, 5)])
    session.refresh_from_db()
    assert session.status == ReadingSession.Status.COMPLETE


def test_a_lesion_of_a_child_outside_the_session_is_refused(actors, lesion_session) -> None:  # type: ignore[no-untyped-def]
    stranger = h.patient_at(actors.coordinator_b, actors.hospital_b)
    items = [ItemInput(i.series, i.arm) for i in lesion_session["session"].items.select_related("series__study")]
    with pytest.raises(ApplicationError, match="no series in the session"):
        reading_session_create(actor=actors.data_manager, name="s2", items=items, readers=[actors.investigator_a],
                               lesions=[LesionInput(patient_id=stranger.pk)])
