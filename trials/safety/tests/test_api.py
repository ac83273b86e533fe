"""Safety API: term search with grade help, de-identified events for sponsors, times shown in Asia/Shanghai and UTC."""
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from conftest import Actors
from registry.models import PatientIdentity
from trials.safety.tests.helpers import grant, make_subject, make_trial

pytestmark = pytest.mark.django_db
API = "/api/v1/safety/"


def test_term_search_with_grade_help_text(actors: Actors, client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for(actors.coordinator_a)
    found = client.get(f"{API}ctcae-terms/", {"search": "disseminated"}).json()
    assert found["version"] == "5.0" and found["count"] == 1
    dic = found["results"][0]
    assert dic["meddra_code"] == "10013442" and [g["grade"] for g in dic["grades"]] == [2, 3, 4, 5]
    assert dic["grades"][0]["text"] == "Laboratory findings with no bleeding"
    others = client.get(f"{API}ctcae-terms/", {"search": "other, specify", "soc": "Blood and lymphatic system disorders"})
    assert [t["needs_specify"] for t in others.json()["results"]] == [True]
    assert client.get(f"{API}ctcae-terms/10002272/").json()["term"] == "Anemia"
    assert client.get(f"{API}ctcae-terms/123/").status_code == 404


@pytest.fixture
def world(actors: Actors):  # type: ignore[no-untyped-def]
    trial = make_trial("API-T")
    grant(actors.sponsor, trial, "sponsor")
    return [make_subject(actors.coordinator_a, actors.hospital_a, trial) for _ in range(3)]


def _serious_body(subject, hours_ago: float = 2) -> dict:  # type: ignore[no-untyped-def]
    aware = timezone.now() - timedelta(hours=hours_ago)
    return {"subject": subject.pk, "meddra_code": "10002272", "onset_date": timezone.localdate(aware).isoformat(),
            "grade": 3, "serious_hospitalisation": True, "site_awareness_at": aware.isoformat(),
            "relatedness": "possible", "expectedness": "unexpected", "action_taken": "not_applicable",
            "outcome": "recovering"}


def test_report_shows_clock_in_shanghai_and_utc(actors: Actors, world, client_for) -> None:  # type: ignore[no-untyped-def]
    response = client_for(actors.coordinator_a).post(f"{API}adverse-events/", _serious_body(world[0]), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    clock = body["clocks"][0]
    assert clock["kind"] == "site_24h" and clock["status"] == "open"
    assert clock["due_at"].endswith("+08:00") and clock["due_at_utc"].endswith("+00:00")
    assert 21 * 3600 < clock["seconds_left"] <= 22 * 3600
    assert body["subject_number"] == world[0].subject_number and body["current"]["version_number"] == 1


def test_impossible_input_is_a_400_naming_the_field(actors: Actors, world, client_for) -> None:  # type: ignore[no-untyped-def]
    body = {**_serious_body(world[0]), "grade": 5}
    response = client_for(actors.coordinator_a).post(f"{API}adverse-events/", body, format="json")
    assert response.status_code == 400 and response.json()["fields"] == {
        "outcome": ["Grade 5 (death related to the AE) requires the outcome \"fatal\"."]}


def test_sponsor_sees_subject_numbers_and_no_identifiers(actors: Actors, world, client_for,  # type: ignore[no-untyped-def]
                                                         django_assert_max_num_queries) -> None:
    coordinator = client_for(actors.coordinator_a)
    for subject in world:
        for _ in range(2):
            assert coordinator.post(f"{API}adverse-events/", _serious_body(subject), format="json").status_code == 201
    sponsor = client_for(actors.sponsor)
    with django_assert_max_num_queries(10):
        listed = sponsor.get(f"{API}adverse-events/")
    assert listed.json()["count"] == 6
    with django_assert_max_num_queries(10):
        clocks = sponsor.get(f"{API}clocks/")
    assert clocks.json()["count"] == 6
    text = json.dumps([listed.json(), clocks.json(), sponsor.get(f"{API}adverse-events/{listed.json()['results'][0]['id']}/").json()])
    for subject in world:
        patient = subject.patient
        assert patient.study_id not in text
        identity = PatientIdentity.objects.get(patient=patient)
        assert identity.pk  # the identity exists; none of it may appear
    assert "Zhang" not in text and "MRN-" not in text
    assert {row["subject_number"] for row in listed.json()["results"]} == {s.subject_number for s in world}


def test_follow_up_and_versions_through_the_api(actors: Actors, world, client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for(actors.coordinator_a)
    event = client.post(f"{API}adverse-events/", _serious_body(world[0]), format="json").json()
    followed = client.post(f"{API}adverse-events/{event['id']}/follow-up/", {"grade": 4, "serious_life_threatening": True},
                           format="json")
    assert followed.status_code == 200, followed.content
    versions = client.get(f"{API}adverse-events/{event['id']}/versions/").json()
    assert [(v["version_number"], v["grade"]) for v in versions] == [(1, 3), (2, 4)]
    report = client.post(f"{API}clocks/{event['clocks'][0]['id']}/report/", {}, format="json")
    assert report.status_code == 200 and report.json()["status"] == "met" and report.json()["seconds_left"] is None
    assessed = client_for(actors.sponsor).post(f"{API}adverse-events/{event['id']}/sponsor-assessment/",
                                               {"expectedness": "unexpected", "causality": "probable"}, format="json")
    assert assessed.status_code == 200 and assessed.json()["is_susar"]
    assert {c["kind"] for c in assessed.json()["clocks"]} == {"site_24h", "susar_7d"}
    assert assessed.json()["signatures"] == []


def test_event_detail_shows_its_signatures_voided_ones_too(actors: Actors, world, client_for) -> None:  # type: ignore[no-untyped-def]
    from conftest import PASSWORD

    client = client_for(actors.coordinator_a)
    event = client.post(f"{API}adverse-events/", _serious_body(world[0]), format="json").json()
    signed = client_for(actors.investigator_a).post("/api/v1/oversight/signatures/", {
        "record_type": "safety.adverseevent", "object_id": event["id"], "meaning": "assessed_as_investigator",
        "password": PASSWORD}, format="json")
    assert signed.status_code == 201
    refused = client.post(f"{API}adverse-events/{event['id']}/follow-up/", {"grade": 4}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "reason_required"
    client.post(f"{API}adverse-events/{event['id']}/follow-up/", {"grade": 4, "reason": "Hb 6.1"}, format="json")
    shown = client_for(actors.sponsor).get(f"{API}adverse-events/{event['id']}/").json()["signatures"]
    assert [(s["status"], s["void_reason"]) for s in shown] == [("voided", "Hb 6.1")]


@pytest.mark.parametrize("params", [{}, {"page_size": 2, "page": 2}, {"is_serious": "true", "ordering": "-grade"},
                                    {"trial": "NONE"}])
def test_event_list_rows_are_the_serializers_rows(actors: Actors, world, client_for, params) -> None:  # type: ignore[no-untyped-def]
    """The list is built from values() (issue 19 item 2): it must read exactly as AdverseEventSerializer reads each
    event (its current version nested), in the default order (trial, subject number, event number) too."""
    from trials.safety.api.serializers import AdverseEventSerializer
    from trials.safety.selectors import adverse_event_list

    coordinator = client_for(actors.coordinator_a)
    for subject in reversed(world):  # created out of the listing's order
        assert coordinator.post(f"{API}adverse-events/", _serious_body(subject), format="json").status_code == 201
        body = {**_serious_body(subject), "grade": 1, "serious_hospitalisation": False}
        body.pop("site_awareness_at")
        assert coordinator.post(f"{API}adverse-events/", body, format="json").status_code == 201
    sponsor = client_for(actors.sponsor)
    events = adverse_event_list(user=actors.sponsor)
    if params.get("is_serious"):
        events = events.filter(is_serious=True).order_by("-grade")
    if params.get("trial"):
        events = events.filter(subject__trial__code=params["trial"])
    size, page = params.get("page_size", 50), params.get("page", 1)
    expected = json.loads(json.dumps(AdverseEventSerializer(events[(page - 1) * size:page * size], many=True).data))
    listed = sponsor.get(f"{API}adverse-events/", params).json()
    assert listed["count"] == events.count() and listed["results"] == expected
    assert params.get("trial") or all(row["current"]["version_number"] == 1 for row in listed["results"])
