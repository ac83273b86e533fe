"""The reader study of a low-dose protocol: a blinded session over its pairs, lesion calls, and the results per criterion
checked against scipy and hand computation on a fixed dataset."""
import itertools
import json
from datetime import date
from statistics import mean, median

import pytest
from django.urls import reverse
from scipy import stats

from imaging.lowdose.models import EvaluationPair
from imaging.lowdose.reader_study import PURPOSE, reader_results, reader_study_create
from imaging.lowdose.services import protocol_create
from imaging.models import ImagingStudy, Series, VoiMeasurement
from imaging.reading.models import AssignmentCase, CaseLesionRead, ReadingSession, SessionLesion
from imaging.reading.models.sessions import SCALES
from imaging.reading.services.sessions import LesionRead, assignment_case_score
from imaging.reading.tests import helpers as h
from registry.errors import ApplicationError
from registry.models import AuditEvent

_uids = itertools.count(1)
# Lesion VOIs on each child's reference series (child 5 has none).
LESIONS_PER_CHILD = [2, 2, 2, 2, 1, 0]
# overall_quality of each child (mean of the two readers below) in the reference and the test arm.
REF_BASE = [5, 4, 5, 4, 5, 4]
TEST_BASE = [4, 4, 3, 2, 4, 2]


def _study(actor, hospital, patient, on: date) -> tuple[Series, Series]:  # type: ignore[no-untyped-def]
    n = next(_uids)
    study = ImagingStudy.objects.create(patient=patient, study_uid=f"2.25.61{n}", study_date=on, tracer="F18_FDG",
                                        modality_group="pet_ct", status=ImagingStudy.Status.READY)
    ref, test = (Series.objects.create(study=study, series_uid=f"2.25.61{n}0{k}", modality="PT", series_number=k,
                                       description=desc, number_of_instances=1, pipeline_state=Series.PipelineState.DONE)
                 for k, desc in ((1, "PET WB STANDARD"), (2, "PET WB 1/6 ACTIVITY")))
    h.preview_of(ref), h.preview_of(test)
    return ref, test


@pytest.fixture
def world(actors):  # type: ignore[no-untyped-def]
    """Six hospital-B children with an evaluated standard vs one-sixth pair each (child 0 also a later one, child 1 also a
    pending one); two readers at hospital A, who cannot open hospital B's series."""
    protocol = protocol_create(actor=actors.data_manager, name="one sixth vs standard", test_role="low_activity")
    done = {"status": "succeeded", "progress": 100, "source": "manual", "requested_by": actors.data_manager}
    pairs, patients = [], []
    for child, lesions in enumerate(LESIONS_PER_CHILD):
        patient = h.patient_at(actors.coordinator_b, actors.hospital_b)
        ref, test = _study(actors.coordinator_b, actors.hospital_b, patient, date(2021, 1, 1 + child))
        pairs.append(EvaluationPair.objects.create(protocol=protocol, reference=ref, test=test, **done))
        for k in range(lesions):
            VoiMeasurement.objects.create(series=ref, created_by=actors.data_manager, label=f"site {k + 1}", kind="lesion",
                                          shape="sphere", centre_mm=[10.0 * k, 0.0, -50.0], radius_mm=8.0)
        VoiMeasurement.objects.create(series=ref, created_by=actors.data_manager, kind="liver", shape="sphere",
                                      centre_mm=[0.0, 0.0, 0.0], radius_mm=15.0)
        patients.append(patient)
    later = _study(actors.coordinator_b, actors.hospital_b, patients[0], date(2022, 1, 1))
    EvaluationPair.objects.create(protocol=protocol, reference=later[0], test=later[1], **done)
    pending = _study(actors.coordinator_b, actors.hospital_b, patients[1], date(2022, 1, 1))
    EvaluationPair.objects.create(protocol=protocol, reference=pending[0], test=pending[1],
                                  **{**done, "status": "pending", "progress": 0})
    readers = [actors.investigator_a, h.investigator(actors.hospital_a, "reader2")]
    return {"protocol": protocol, "pairs": pairs, "patients": patients, "readers": readers}


def _create(actors, world, **kwargs):  # type: ignore[no-untyped-def]
    return reader_study_create(actor=actors.data_manager, protocol=world["protocol"], readers=world["readers"], seed=5, **kwargs)


def test_the_session_hides_the_labels_and_randomises(actors, world, client_for) -> None:  # type: ignore[no-untyped-def]
    url = reverse("lowdose-protocol-reader-study", args=[world["protocol"].pk])
    response = client_for(actors.data_manager).post(url, {"readers": ["investigator_a", "reader2"]}, format="json")
    assert response.status_code == 201, response.content
    session = ReadingSession.objects.get(pk=response.json()["id"])
    assert (session.purpose, session.purpose_ref) == (PURPOSE, world["protocol"].pk)
    items = list(session.items.select_related("series"))
    # One pair per child (the later pair of child 0 skipped, the pending one of child 1 left out), both arms each.
    assert sorted((i.series_id, i.arm) for i in items) == sorted(
        [(p.reference_id, "standard") for p in world["pairs"]] + [(p.test_id, "low_activity") for p in world["pairs"]])
    assert session.lesions.count() == sum(LESIONS_PER_CHILD)
    assert sorted(session.lesions.filter(patient=world["patients"][0]).values_list("number", "site")) == [(1, "site 1"), (2, "site 2")]
    event = AuditEvent.objects.get(action="lowdose_reader_study")
    assert event.after["skipped_pairs"] == 1 and sorted(event.after["pairs"]) == sorted(p.pk for p in world["pairs"])
    assert event.hospital_id is None

    orders = []
    for reader in world["readers"]:
        assignment = session.assignments.get(reader=reader)
        body = client_for(reader).get(reverse("reading-assignment-detail", args=[assignment.pk])).json()
        text = json.dumps(body).lower()
        for hidden in ("standard", "low_activity", "activity", "one sixth", "1/6", *[str(s) for p in world["pairs"]
                                                                                    for s in (p.reference.series_uid, p.test.series_uid)]):
            assert hidden not in text, hidden
        assert [c["code"] for c in body["cases"]] == [f"Case {n:02d}" for n in range(1, 13)]
        lesions_listed = sorted(len(c["lesions"]) for c in body["cases"])
        assert lesions_listed == sorted(LESIONS_PER_CHILD * 2)
        orders.append([c.item_id for c in assignment.cases.order_by("position")])
    assert orders[0] != orders[1] and sorted(orders[0]) == sorted(orders[1])


def test_refusals(actors, world, client_for) -> None:  # type: ignore[no-untyped-def]
    protocol = world["protocol"]
    for user in (actors.coordinator_a, actors.investigator_a):
        client = client_for(user)
        assert client.post(reverse("lowdose-protocol-reader-study", args=[protocol.pk]),
                           {"readers": ["reader2"]}, format="json").status_code == 403
        assert client.get(reverse("lowdose-protocol-reader-results", args=[protocol.pk])).status_code == 403
    with pytest.raises(ApplicationError, match="data managers"):
        reader_study_create(actor=actors.coordinator_a, protocol=protocol, readers=world["readers"])
    # A reader who works at the children's hospital would see the dose level: refused by the reading service.
    with pytest.raises(ApplicationError, match="choose a reader from another hospital"):
        reader_study_create(actor=actors.data_manager, protocol=protocol, readers=[actors.coordinator_b])
    # Instructions naming an arm are refused (blinding), and nothing was written.
    with pytest.raises(ApplicationError, match="must not name an arm"):
        _create(actors, world, instructions="Compare standard images")
    empty = protocol_create(actor=actors.data_manager, name="short scans", test_role="short_scan")
    with pytest.raises(ApplicationError, match="no evaluated pairs"):
        reader_study_create(actor=actors.data_manager, protocol=empty, readers=world["readers"])
    assert not ReadingSession.objects.exists()


def test_a_reader_scores_both_arms_of_a_child_with_the_lesion_calls(actors, world, client_for) -> None:  # type: ignore[no-untyped-def]
    session = _create(actors, world)
    reader = world["readers"][0]
    assignment = session.assignments.get(reader=reader)
    child = world["patients"][0]
    cases = list(assignment.cases.filter(item__patient=child).select_related("item").order_by("position"))
    assert sorted(c.item.arm for c in cases) == ["low_activity", "standard"]
    client = client_for(reader)
    for case in cases:
        url = reverse("reading-assignment-case", args=[assignment.pk, case.position])
        shown = client.get(url).json()
        assert [(x["number"], x["site"], x["seen"]) for x in shown["lesions"]] == [(1, "site 1", None), (2, "site 2", None)]
        body = {**dict.fromkeys(SCALES, 3), "lesions": [{"number": 1, "seen": True, "confidence": 5}]}
        refused = client.put(url, body, format="json")
        assert refused.status_code == 400 and "missing: 2" in refused.json()["detail"]
        seen_2 = case.item.arm == "standard"
        body["lesions"].append({"number": 2, "seen": seen_2, "confidence": 2})
        response = client.put(url, body, format="json")
        assert response.status_code == 200, response.content
        assert [(x["number"], x["seen"], x["confidence"]) for x in response.json()["lesions"]] == [(1, True, 5), (2, seen_2, 2)]
    calls = CaseLesionRead.objects.filter(case__assignment=assignment).select_related("case__item", "lesion")
    assert sorted((c.case.item.arm, c.lesion.number, c.seen) for c in calls) == [
        ("low_activity", 1, True), ("low_activity", 2, False), ("standard", 1, True), ("standard", 2, True)]
    # Another reader's case is not theirs (404), and the session is not complete.
    other = session.assignments.get(reader=world["readers"][1])
    assert client.get(reverse("reading-assignment-case", args=[other.pk, 1])).status_code == 404
    assert reader_results(world["protocol"]) == []


def _scores(reader: int, arm: str, child: int) -> dict[str, int]:
    """The fixed dataset: reader 0 gives the base score, reader 1 one point more on the test arm of children 2 and 3
    (so the readers disagree on 2 of 12 cases); noise is one point lower, the other two scales as overall quality."""
    base = REF_BASE[child] if arm == "standard" else TEST_BASE[child]
    if reader == 1 and arm == "low_activity" and child in (2, 3):
        base += 1
    return {"overall_quality": base, "noise": max(base - 1, 1), "lesion_conspicuity": base, "diagnostic_confidence": base}


def _seen(reader: int, arm: str, child: int, number: int) -> bool:
    """Every lesion is seen on the standard images; on the one-sixth images reader 0 misses lesion 2 of children 0 and 1,
    reader 1 misses lesion 1 of child 0."""
    if arm == "standard":
        return True
    return not ((reader == 0 and number == 2 and child in (0, 1)) or (reader == 1 and number == 1 and child == 0))


def _confidence(reader: int, arm: str, child: int, number: int) -> int:
    return 5 if arm == "standard" else 3 + (reader + number + child) % 2


def _score_everything(world) -> ReadingSession:  # type: ignore[no-untyped-def]
    session = ReadingSession.objects.get(purpose=PURPOSE)
    child_of = {p.pk: n for n, p in enumerate(world["patients"])}
    for r, reader in enumerate(world["readers"]):
        for case in AssignmentCase.objects.filter(assignment__session=session, assignment__reader=reader).select_related("item"):
            child, arm = child_of[case.item.patient_id], case.item.arm
            calls = [LesionRead(number=n, seen=_seen(r, arm, child, n), confidence=_confidence(r, arm, child, n))
                     for n in range(1, LESIONS_PER_CHILD[child] + 1)]
            assignment_case_score(actor=reader, case=case, scores=_scores(r, arm, child), lesions=calls)
    session.refresh_from_db()
    return session


def _kappa_by_hand(a: list[int], b: list[int], categories: list[int]) -> float:
    """Cohen's weighted kappa, linear weights, written out term by term (Cohen 1968)."""
    n, k = len(a), len(categories)
    pos = {c: i for i, c in enumerate(categories)}
    weight = lambda i, j: abs(i - j) / (k - 1)  # noqa: E731
    observed = sum(weight(pos[x], pos[y]) for x, y in zip(a, b, strict=True)) / n
    expected = sum(weight(pos[x], pos[y]) for x in a for y in b) / (n * n)
    return 1 - observed / expected


def test_results_equal_scipy_and_hand_computation(actors, world, client_for, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    _create(actors, world)
    session = _score_everything(world)
    assert session.status == ReadingSession.Status.COMPLETE
    results = reader_results(world["protocol"])
    by = {r["criterion"]: r for r in results}
    assert list(by) == [*SCALES, "lesion_detection_rate", "lesion_confidence"]
    for row in results:
        assert {"criterion", "label", "n", "reference_median", "test_median", "median_difference", "ci_low", "ci_high",
                "wilcoxon_p", "agreement", "agreement_method"} <= set(row)

    # Overall quality: per child the mean over the two readers.
    ref = [float(x) for x in REF_BASE]
    test = [TEST_BASE[c] + (0.5 if c in (2, 3) else 0) for c in range(6)]
    oq = by["overall_quality"]
    assert oq["n"] == 6 and oq["reference_median"] == median(ref) and oq["test_median"] == median(test)
    assert oq["wilcoxon_p"] == pytest.approx(stats.wilcoxon(test, ref).pvalue, rel=1e-12)
    # Hodges-Lehmann by hand: differences -1, 0, -1.5, -1.5, -1, -2; the 21 Walsh averages' median; with n = 6 the
    # 95 % interval is [smallest, largest] Walsh average (P(T+ <= 0) = 1/64 < 0.025 <= P(T+ <= 1) = 2/64).
    d = [t - r for t, r in zip(test, ref, strict=True)]
    walsh = sorted((d[i] + d[j]) / 2 for i in range(6) for j in range(i, 6))
    assert oq["median_difference"] == median(walsh) == -1.25
    assert (oq["ci_low"], oq["ci_high"]) == (-2.0, 0.0)
    # Agreement: the readers differ on 2 of the 12 cases (one point each).
    r0 = [_scores(0, arm, c)["overall_quality"] for c in range(6) for arm in ("standard", "low_activity")]
    r1 = [_scores(1, arm, c)["overall_quality"] for c in range(6) for arm in ("standard", "low_activity")]
    assert oq["agreement"] == pytest.approx(_kappa_by_hand(r0, r1, [1, 2, 3, 4, 5]), abs=1e-12)
    assert "linear" in oq["agreement_method"]

    # Lesion detection: 9 lesions x 2 readers per arm; 3 misses on the one-sixth images.
    det = by["lesion_detection_rate"]
    assert (det["reference_seen"], det["reference_calls"], det["test_seen"], det["test_calls"]) == (18, 18, 15, 18)
    assert det["n"] == 5  # child 5 has no lesion
    per_child_test = [2 / 4, 3 / 4, 1.0, 1.0, 1.0]  # child 0: 2 of its 4 calls missed, child 1: 1 of 4 (see _seen)
    assert det["test_median"] == median(per_child_test) and det["reference_median"] == 1.0
    assert det["wilcoxon_p"] == pytest.approx(stats.wilcoxon(per_child_test, [1.0] * 5).pvalue, rel=1e-12)
    calls = [(c, n, arm) for c in range(5) for n in range(1, LESIONS_PER_CHILD[c] + 1) for arm in ("standard", "low_activity")]
    seen0 = [int(_seen(0, arm, c, n)) for c, n, arm in calls]
    seen1 = [int(_seen(1, arm, c, n)) for c, n, arm in calls]
    assert det["agreement"] == pytest.approx(_kappa_by_hand(seen0, seen1, [0, 1]), abs=1e-12)

    conf = by["lesion_confidence"]
    test_conf = [mean(_confidence(r, "low_activity", c, n) for r in (0, 1) for n in range(1, LESIONS_PER_CHILD[c] + 1))
                 for c in range(5)]
    assert conf["reference_median"] == 5.0 and conf["test_median"] == median(test_conf)

    url = reverse("lowdose-protocol-reader-results", args=[world["protocol"].pk])
    client = client_for(actors.data_manager)
    with django_assert_max_num_queries(14):
        body = client.get(url).json()
    assert body["session"] == session.pk and [c["criterion"] for c in body["criteria"]] == list(by)
    assert body["criteria"][0]["wilcoxon_p"] == pytest.approx(oq["wilcoxon_p"])


def test_the_case_page_takes_the_lesion_calls(actors, world, client) -> None:  # type: ignore[no-untyped-def]
    session = _create(actors, world)
    reader = world["readers"][0]
    assignment = session.assignments.get(reader=reader)
    case = assignment.cases.filter(item__patient=world["patients"][4]).first()
    client.force_login(reader)
    url = reverse("web-reading-case", args=[assignment.pk, case.position])
    page = client.get(url)
    assert page.status_code == 200 and b"lesion_1_seen" in page.content and b"site 1" in page.content
    scores = {s: "4" for s in SCALES}
    assert client.post(url, scores).status_code == 400  # the lesion call is required
    assert client.post(url, {**scores, "lesion_1_seen": "no", "lesion_1_confidence": "4"}).status_code == 302
    read = CaseLesionRead.objects.get(case=case)
    assert (read.seen, read.confidence) == (False, 4)
    assert SessionLesion.objects.get(pk=read.lesion_id).patient_id == world["patients"][4].pk
