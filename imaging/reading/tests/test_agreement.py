"""Inter-reader agreement (weighted kappa per segment, ICC of totals) and patient timelines (relative change,
response), checked against values computed independently in the test."""
import random
import statistics
from datetime import date
from itertools import product

import pytest
from django.urls import reverse

from imaging.reading import rules
from imaging.reading.services.sheets import consensus_sheet_create, score_sheet_submit
from imaging.reading.tests import helpers as h


def linear_kappa(a: list[int], b: list[int]) -> float | None:
    """Linear-weighted kappa as 1 - mean |a_i - b_i| / mean over all (i, j) of |a_i - b_j| (the weights' scale cancels)."""
    observed = statistics.mean(abs(x - y) for x, y in zip(a, b, strict=True))
    expected = statistics.mean(abs(x - y) for x, y in product(a, b))
    return None if expected == 0 else 1 - observed / expected


def icc_2_1(rows: list[list[float]]) -> float:
    """Shrout & Fleiss ICC(2,1) from the variances of the row and column means (statistics module)."""
    n, k = len(rows), len(rows[0])
    grand = statistics.mean(v for row in rows for v in row)
    msr = k * statistics.variance([statistics.mean(row) for row in rows])
    msc = n * statistics.variance([statistics.mean(col) for col in zip(*rows, strict=True)])
    sst = sum((v - grand) ** 2 for row in rows for v in row)
    mse = (sst - msr * (n - 1) - msc * (k - 1)) / ((n - 1) * (k - 1))
    return (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)


@pytest.fixture
def reading_set(actors):  # type: ignore[no-untyped-def]
    """Eight studies read by two investigators (disagreeing now and then), three of them also by a third."""
    rng = random.Random(5)
    reader2, reader3 = h.investigator(actors.hospital_a, "reader2"), h.investigator(actors.hospital_a, "reader3")
    scores: dict[str, list[list[int]]] = {"investigator_a": [], "reader2": [], "reader3": []}
    for n in range(8):
        patient = h.patient_at(actors.coordinator_a, actors.hospital_a)
        study = h.study_of(patient, on=date(2021, 1, 1 + n))
        first = [rng.choice((0, 0, 1, 2, 3)) for _ in range(10)]
        second = [min(3, max(0, v + rng.choice((0, 0, 0, 1, -1)))) for v in first]
        h.submitted(actors.investigator_a, study, "curie", first)
        h.submitted(reader2, study, "curie", second)
        scores["investigator_a"].append(first)
        scores["reader2"].append(second)
        if n < 3:
            third = [min(3, v + 1) for v in first]
            h.submitted(reader3, study, "curie", third)
            scores["reader3"].append(third)
    return scores


def test_kappa_per_segment_and_icc_of_totals(actors, reading_set, client_for) -> None:  # type: ignore[no-untyped-def]
    body = client_for(actors.monitor_a).get(reverse("reading-agreement"), {"kind": "curie"}).json()
    assert (body["studies"], body["readers"]) == (8, ["investigator_a", "reader2", "reader3"])
    pair = next(p for p in body["pairs"] if p["readers"] == ["investigator_a", "reader2"])
    assert pair["studies"] == 8
    a, b = reading_set["investigator_a"], reading_set["reader2"]
    for position, code in enumerate(rules.segment_codes("curie")):
        expected = linear_kappa([row[position] for row in a], [row[position] for row in b])
        got = pair["kappa_per_segment"][code]
        if expected is None:
            assert got["kappa"] is None and got["not_computable_reason"]
        else:
            assert got["kappa"] == pytest.approx(expected, abs=1e-9)
            assert got["n"] == 8
    totals = [[sum(x), sum(y)] for x, y in zip(a, b, strict=True)]
    assert pair["icc_totals"]["icc"] == pytest.approx(icc_2_1(totals), abs=1e-9)
    # Across all three readers only the three studies everyone read count.
    everyone = body["icc_totals_all_readers"]
    assert (everyone["n_subjects"], everyone["n_raters"]) == (3, 3)
    rows = [[sum(a[i]), sum(b[i]), sum(reading_set["reader3"][i])] for i in range(3)]
    assert everyone["icc"] == pytest.approx(icc_2_1(rows), abs=1e-9)


def test_agreement_is_scoped(actors, reading_set, client_for) -> None:  # type: ignore[no-untyped-def]
    assert client_for(actors.coordinator_b).get(reverse("reading-agreement"), {"kind": "curie"}).json()["studies"] == 0
    body = client_for(actors.data_manager).get(reverse("reading-agreement"), {"kind": "curie", "hospital": "BBB"}).json()
    assert body["studies"] == 0 and body["pairs"] == []
    assert client_for(actors.monitor_a).get(reverse("reading-agreement"), {"kind": "bogus"}).status_code == 400


def test_study_agreement_over_its_segments(actors, client_for) -> None:  # type: ignore[no-untyped-def]
    patient = h.patient_at(actors.coordinator_a, actors.hospital_a)
    study = h.study_of(patient)
    first, second = [3, 0, 2, 0, 1, 0, 0, 2, 1, 1], [3, 0, 1, 0, 1, 0, 0, 2, 2, 1]
    h.submitted(actors.investigator_a, study, "curie", first)
    h.submitted(h.investigator(actors.hospital_a, "reader2"), study, "curie", second)
    body = client_for(actors.investigator_a).get(reverse("reading-study-agreement", args=[study.pk]), {"kind": "curie"}).json()
    assert body["totals"] == {"investigator_a": 10, "reader2": 10}
    pair = body["pairs"][0]
    codes = rules.segment_codes("curie")
    assert pair["segments_differing"] == [codes[2], codes[8]]
    assert pair["total_difference"] == 0
    assert pair["kappa_over_segments"]["kappa"] == pytest.approx(linear_kappa(first, second), abs=1e-9)


def _timeline(client, patient):  # type: ignore[no-untyped-def]
    return client.get(reverse("reading-patient-timeline", args=[patient.study_id]), {"kind": "curie"}).json()["points"]


def test_timeline_relative_change_and_response(actors, client_for) -> None:  # type: ignore[no-untyped-def]
    reader2, judge = h.investigator(actors.hospital_a, "reader2"), h.investigator(actors.hospital_a, "judge")
    patient = h.patient_at(actors.coordinator_a, actors.hospital_a)
    baseline = h.study_of(patient, on=date(2020, 9, 20))
    after = h.study_of(patient, on=date(2021, 2, 20))
    later = h.study_of(patient, on=date(2021, 6, 20))
    h.submitted(actors.investigator_a, baseline, "curie", [3, 3, 2, 2, 0, 0, 0, 0, 0, 0], "baseline")  # 10
    h.submitted(reader2, baseline, "curie", [3, 3, 3, 3, 0, 0, 0, 0, 0, 0], "baseline")  # 12
    h.submitted(actors.investigator_a, after, "curie", [2, 1, 1, 1, 0, 0, 0, 0, 0, 0], "post_induction")  # 5
    h.submitted(reader2, after, "curie", [1, 2, 1, 1, 0, 0, 0, 0, 0, 0], "post_induction")  # 5
    h.submitted(actors.investigator_a, later, "curie", [3, 3, 0, 0, 0, 0, 0, 0, 0, 0], "follow_up")  # 6
    client = client_for(actors.monitor_a)
    points = _timeline(client, patient)
    assert [p["total"] for p in points] == [None, 5, 6]
    assert "consensus read is needed" in points[0]["source"]
    assert points[1]["response"] is None and points[1]["not_assessable_reason"]
    sheet = consensus_sheet_create(actor=judge, study=baseline, kind="curie", values=h.values("curie", [3, 3, 3, 2, 0, 0, 0, 0, 0, 0]),
                                   timepoint="baseline")
    score_sheet_submit(actor=judge, sheet=sheet)  # 11
    points = _timeline(client, patient)
    assert [(p["total"], p["source"]) for p in points] == [(11, "consensus"), (5, "2 reads agree"), (6, "single read")]
    assert points[1]["relative_score"] == pytest.approx(5 / 11)
    assert points[1]["reduction_percent"] == pytest.approx(100 * 6 / 11)
    assert (points[1]["response"], points[2]["response"]) == (True, False)  # 54.5 % vs 45.5 % reduction
    assert points[1]["flag"] is True  # post-induction Curie 5 > 2


@pytest.mark.parametrize(("base", "follow", "response"), [(10, 5, True), (10, 6, False), (0, 0, None)])
def test_response_at_the_edges(actors, client_for, base, follow, response) -> None:  # type: ignore[no-untyped-def]
    patient = h.patient_at(actors.coordinator_a, actors.hospital_a)
    for on, total in ((date(2020, 9, 20), base), (date(2021, 2, 20), follow)):
        scores = [min(3, max(0, total - 3 * i)) for i in range(10)]
        h.submitted(actors.investigator_a, h.study_of(patient, on=on), "curie", scores)
    point = _timeline(client_for(actors.investigator_a), patient)[1]
    assert point["response"] is response
    if response is None:
        assert "baseline total is 0" in point["not_assessable_reason"]
