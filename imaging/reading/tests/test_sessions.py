"""Blinded reading sessions: creation rules, per-reader random order, scoring, results with the paired test."""
import random
import statistics

import pytest
from django.urls import reverse
from scipy import stats

from imaging.reading.models import AssignmentCase, ReadingSession
from imaging.reading.models.sessions import SCALES
from imaging.reading.services.sessions import ItemInput, assignment_case_score, reading_session_create
from imaging.reading.tests import helpers as h
from registry.errors import ApplicationError
from registry.tests.factories import MembershipFactory, UserFactory

GOOD = dict.fromkeys(SCALES, 4)


@pytest.fixture
def setup(actors):  # type: ignore[no-untyped-def]
    """Six hospital-B patients; two readers at hospital A (who cannot open hospital B's images)."""
    patients = [h.patient_at(actors.coordinator_b, actors.hospital_b) for _ in range(6)]
    return {"patients": patients, "readers": [actors.investigator_a, h.investigator(actors.hospital_a, "reader2")]}


def test_each_reader_gets_every_case_in_their_own_stored_order(actors, setup) -> None:  # type: ignore[no-untyped-def]
    session = h.paired_session(actors.data_manager, setup["readers"], setup["patients"], seed=11)
    orders = []
    for assignment in session.assignments.order_by("reader__username"):
        cases = list(assignment.cases.order_by("position"))
        assert [c.position for c in cases] == list(range(1, 13))
        assert cases[6].code == "Case 07"
        order = [c.item_id for c in cases]
        expected = sorted(order)
        random.Random(assignment.seed).shuffle(expected)
        assert order == expected  # reproducible from the stored seed
        orders.append(order)
    assert orders[0] != orders[1] and sorted(orders[0]) == sorted(orders[1])
    again = h.paired_session(actors.data_manager, setup["readers"], setup["patients"], seed=11)
    assert [a.seed for a in again.assignments.order_by("reader__username")] == \
        [a.seed for a in session.assignments.order_by("reader__username")]


def test_session_rules(actors, setup) -> None:  # type: ignore[no-untyped-def]
    session = h.paired_session(actors.data_manager, setup["readers"], setup["patients"][:2])
    low, std = (list(session.items.filter(arm=arm).select_related("series")) for arm in ("low-dose", "standard-dose"))

    def create(items, readers=setup["readers"], instructions="Score each case.", actor=actors.data_manager):  # type: ignore[no-untyped-def]
        return reading_session_create(actor=actor, name="x", instructions=instructions, readers=readers, items=items)

    paired = [ItemInput(i.series, i.arm) for i in low + std]
    cases = [
        (paired[:3], "exactly one series in each arm"),
        ([*paired, ItemInput(low[0].series, "third")], "appears twice"),
        ([ItemInput(low[0].series, "a"), ItemInput(std[0].series, "b"), ItemInput(low[1].series, "c")], "exactly two arms"),
        ([ItemInput(low[0].series, " ")], "arm label"),
    ]
    for items, message in cases:
        with pytest.raises(ApplicationError, match=message):
            create(items)
    with pytest.raises(ApplicationError, match="must not name an arm"):
        create(paired, instructions="Compare LOW-DOSE images with the others.")
    with pytest.raises(ApplicationError) as error:
        create(paired, readers=[actors.coordinator_b])  # works at hospital B: would see the series descriptions
    assert error.value.code == "reader_not_blind"
    with pytest.raises(ApplicationError, match="holds no role"):
        create(paired, readers=[UserFactory(username="stranger")])
    with pytest.raises(ApplicationError) as error:
        create(paired, actor=actors.investigator_a)
    assert error.value.code == "not_allowed"
    assert ReadingSession.objects.count() == 1


def test_api_create_and_refusals(actors, setup, client_for) -> None:  # type: ignore[no-untyped-def]
    session = h.paired_session(actors.data_manager, setup["readers"], setup["patients"][:2])
    items = [{"series": i.series_id, "arm": i.arm} for i in session.items.all()]
    body = {"name": "again", "items": items, "readers": ["investigator_a", "reader2"]}
    created = client_for(actors.data_manager).post(reverse("reading-session-list"), body, format="json")
    assert created.status_code == 201
    assert {a["reader"] for a in created.json()["assignments"]} == {"investigator_a", "reader2"}
    assert client_for(actors.investigator_a).post(reverse("reading-session-list"), body, format="json").status_code == 403
    bad = client_for(actors.data_manager).post(reverse("reading-session-list"), {**body, "readers": ["coordinator_b"]},
                                               format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "reader_not_blind"


def test_scoring_rules(actors, setup, client_for) -> None:  # type: ignore[no-untyped-def]
    session = h.paired_session(actors.data_manager, setup["readers"], setup["patients"][:1])
    mine = session.assignments.get(reader=actors.investigator_a)
    theirs = session.assignments.get(reader=setup["readers"][1])
    client = client_for(actors.investigator_a)
    url = reverse("reading-assignment-case", args=[mine.pk, 1])
    assert client.put(url, {**GOOD, "noise": 6}, format="json").status_code == 400
    assert client.put(url, {**GOOD, "noise": 0}, format="json").status_code == 400
    assert client.put(url, {"noise": 3}, format="json").status_code == 400
    assert client.put(reverse("reading-assignment-case", args=[theirs.pk, 1]), GOOD, format="json").status_code == 404
    with pytest.raises(ApplicationError):
        assignment_case_score(actor=actors.investigator_a, case=theirs.cases.first(), scores=GOOD)
    assert client.put(url, GOOD, format="json").json()["overall_quality"] == 4
    assert client.put(url, {**GOOD, "overall_quality": 2}, format="json").json()["overall_quality"] == 2  # re-score
    assert AssignmentCase.objects.filter(scored_at__isnull=False).count() == 1
    h.score_all(session, lambda reader, item: GOOD)
    session.refresh_from_db()
    assert session.status == "complete"
    late = client.put(url, GOOD, format="json")
    assert late.status_code == 400 and late.json()["code"] == "session_complete"


def test_results_are_refused_until_every_read_is_in(actors, setup, client_for) -> None:  # type: ignore[no-untyped-def]
    session = h.paired_session(actors.data_manager, setup["readers"], setup["patients"][:2])
    case = session.assignments.get(reader=actors.investigator_a).cases.first()
    assignment_case_score(actor=actors.investigator_a, case=case, scores=GOOD)
    response = client_for(actors.data_manager).get(reverse("reading-session-results", args=[session.pk]))
    assert response.status_code == 400
    assert response.json()["code"] == "reads_incomplete" and "1 of 8 cases are scored" in response.json()["detail"]


def test_results_per_arm_with_the_paired_wilcoxon_test(actors, setup, client_for) -> None:  # type: ignore[no-untyped-def]
    session = h.paired_session(actors.data_manager, setup["readers"], setup["patients"])
    rng = random.Random(3)

    def scorer(reader, item):  # type: ignore[no-untyped-def]
        low = item.arm == "low-dose"
        return {s: min(5, max(1, 4 + rng.choice((-1, 0, 1)) - (rng.choice((0, 1, 2)) if low else 0))) for s in SCALES}

    h.score_all(session, scorer)
    body = client_for(actors.data_manager).get(reverse("reading-session-results", args=[session.pk])).json()
    assert body["arms"] == ["low-dose", "standard-dose"] and (body["patients"], body["readers"]) == (6, 2)
    cases = list(AssignmentCase.objects.filter(assignment__session=session).select_related("item"))
    for scale in SCALES:
        per_arm = {arm: [getattr(c, scale) for c in cases if c.item.arm == arm] for arm in body["arms"]}
        result = body["scales"][scale]
        for arm, values in per_arm.items():
            assert result["per_arm"][arm]["n"] == 12
            assert result["per_arm"][arm]["mean"] == pytest.approx(statistics.mean(values), abs=1e-3)
            assert sum(result["per_arm"][arm]["distribution"].values()) == 12

        def patient_means(arm: str, scale: str = scale) -> list[float]:
            return [statistics.mean(getattr(c, scale) for c in cases if c.item.arm == arm and c.item.patient_id == p.pk)
                    for p in sorted(setup["patients"], key=lambda p: p.pk)]

        x, y = patient_means("low-dose"), patient_means("standard-dose")
        test = result["paired_test"]
        if any(a != b for a, b in zip(x, y, strict=True)):
            expected = stats.wilcoxon(x, y)
            assert test["statistic"] == pytest.approx(expected.statistic)
            assert test["p_value"] == pytest.approx(expected.pvalue)
        else:
            assert test["p_value"] is None and test["not_computable_reason"]
        assert test["n"] == 6


def test_session_list_query_count(actors, setup, client_for, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    for seed in range(3):
        h.paired_session(actors.data_manager, setup["readers"], setup["patients"][:3], seed=seed)
    manager = client_for(actors.data_manager)
    with django_assert_max_num_queries(14):
        assert manager.get(reverse("reading-session-list")).json()["count"] == 3
    client = client_for(actors.investigator_a)
    with django_assert_max_num_queries(14):
        assert client.get(reverse("reading-assignment-list")).json()["count"] == 3


def test_a_reader_who_gains_access_to_the_series_is_stopped(actors, setup, client_for) -> None:  # type: ignore[no-untyped-def]
    session = h.paired_session(actors.data_manager, setup["readers"], setup["patients"][:1])
    assignment = session.assignments.get(reader=actors.investigator_a)
    MembershipFactory(user=actors.investigator_a, hospital=actors.hospital_b, role="investigator")
    client = client_for(actors.investigator_a)
    for url in (reverse("reading-assignment-detail", args=[assignment.pk]),
                reverse("reading-assignment-case", args=[assignment.pk, 1]),
                reverse("reading-assignment-case-image", args=[assignment.pk, 1, 0])):
        response = client.get(url)
        assert response.status_code == 400 and response.json()["code"] == "reader_not_blind"
    assert client.put(reverse("reading-assignment-case", args=[assignment.pk, 1]), GOOD, format="json").status_code == 400
