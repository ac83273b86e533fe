"""The registry API as its users drive it: bad input, consent enforcement, withdrawal, query counts, no identifiers."""
import json
import logging
from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import Actors, api_client
from registry import selectors
from registry.api.patients import PatientSerializer
from registry.models import AuditEvent, ConsentRecord, FollowUpVisit, Patient, PatientIdentity
from registry.selectors import patient_list
from registry.services.consent import consent_document_create, consent_record_create
from registry.services.followup import followup_mark_statuses
from registry.services.patients import patient_register

NAME, RECORD = "王小明", "ZY-778899"


def payload(**overrides: Any) -> dict[str, Any]:
    body = {"hospital": "AAA", "identity": {"name": NAME, "record_number": RECORD, "guardian1_phone": "13912345678"},
            "sex": "M", "birth_date": "2022-03-01", "diagnosis_date": "2023-09-15", "primary_site": "adrenal",
            "inrgss_stage": "M", "inrg_risk": "high", "mycn": "amplified", "aberration_11q": "no", "ploidy": "diploid",
            "histology": "unfavourable"}
    body.update(overrides)
    return body


@pytest.fixture
def document(actors: Actors):  # type: ignore[no-untyped-def]
    return consent_document_create(actor=actors.data_manager, scope="registry", version="1.0", title="Registry",
                                   ethics_approval_number="EC-2015-01", ethics_approval_date=date(2015, 1, 1),
                                   effective_from=date(2015, 1, 1))


def register(actors: Actors, n: int = 1, hospital=None, consent_document=None) -> list[Patient]:  # type: ignore[no-untyped-def]
    hospital = hospital or actors.hospital_a
    patients = []
    for i in range(n):
        p = patient_register(actor=actors.data_manager, hospital=hospital,
                             identity={"name": f"Child {i}", "record_number": f"R{hospital.code}{i}"},
                             sex="F" if i % 2 else "M", birth_date=date(2021, 1, 1), diagnosis_date=date(2022, 1 + i % 12, 1),
                             primary_site="adrenal", inrgss_stage="L1" if i % 3 else "M", inrg_risk="low",
                             mycn="not_amplified", aberration_11q="no", ploidy="hyperdiploid", histology="favourable")
        if consent_document is not None:
            consent_record_create(actor=actors.data_manager, patient=p, document=consent_document,
                                  assent="not_applicable", signed_date=p.diagnosis_date, guardian1_relationship="mother")
        patients.append(p)
    return patients


def _written() -> tuple[int, int, int]:
    return Patient.objects.count(), PatientIdentity.objects.count(), AuditEvent.objects.count()


def test_register_returns_study_id_and_no_identifier(actors: Actors) -> None:
    response = api_client(actors.coordinator_a).post("/api/v1/patients/", payload(), format="json")
    assert response.status_code == 201, response.json()
    body = response.content.decode()
    assert response.json()["study_id"] == "AAA-00001" and NAME not in body and RECORD not in body
    assert response.json()["age_at_diagnosis_months"] == 18


@pytest.mark.parametrize(("change", "field"), [
    ({"diagnosis_date": "2021-01-01"}, "diagnosis_date"),  # before birth
    ({"diagnosis_date": "2099-01-01"}, "diagnosis_date"),  # in the future
    ({"birth_date": "2099-01-01", "diagnosis_date": "2099-02-01"}, "birth_date"),
    ({"inrgss_stage": "Z9"}, "inrgss_stage"),  # unknown code
    ({"mycn": "maybe"}, "mycn"),
    ({"birth_date": "2022-02-30"}, "birth_date"),  # not a date
])
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(actors: Actors, change: dict, field: str) -> None:
    before = _written()
    response = api_client(actors.coordinator_a).post("/api/v1/patients/", payload(**change), format="json")
    assert response.status_code == 400 and field in response.json()["fields"], response.json()
    assert _written() == before


def test_duplicate_record_number_is_refused_and_nothing_written(actors: Actors) -> None:
    client = api_client(actors.coordinator_a)
    assert client.post("/api/v1/patients/", payload(), format="json").status_code == 201
    before = _written()
    again = client.post("/api/v1/patients/", payload(identity={"name": "Other", "record_number": " zy-778899 "}),
                        format="json")
    assert again.status_code == 400 and again.json()["code"] == "duplicate_patient"
    assert "record_number" in again.json()["fields"] and RECORD not in again.content.decode()
    assert _written() == before


def test_change_needs_a_reason_and_is_audited(actors: Actors) -> None:
    [patient] = register(actors)
    client = api_client(actors.coordinator_a)
    url = f"/api/v1/patients/{patient.study_id}/"
    refused = client.patch(url, {"inrgss_stage": "L2"}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "reason_required"
    ok = client.patch(url, {"inrgss_stage": "L2", "reason": "pathology review"}, format="json")
    assert ok.status_code == 200 and ok.json()["inrgss_stage"] == "L2"
    event = AuditEvent.objects.filter(object_type="registry.patient", action="update").latest("seq")
    assert event.before["inrgss_stage"] == "M" and event.after["inrgss_stage"] == "L2" and event.reason == "pathology review"


def test_identity_for_own_hospital_only_and_never_in_logs(actors: Actors, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    study_id = api_client(actors.coordinator_a).post("/api/v1/patients/", payload(), format="json").json()["study_id"]
    mine = api_client(actors.investigator_a).get(f"/api/v1/patients/{study_id}/identity/")
    assert mine.status_code == 200 and mine.json()["name"] == NAME
    for outsider in (actors.coordinator_b, actors.monitor_a, actors.data_manager):
        response = api_client(outsider).get(f"/api/v1/patients/{study_id}/identity/")
        assert response.status_code == 404 and NAME not in response.content.decode()
    api_client(actors.coordinator_a).post("/api/v1/patients/", payload(), format="json")  # a refused duplicate
    assert NAME not in caplog.text and RECORD not in caplog.text and "13912345678" not in caplog.text
    events = " ".join(str((e.before, e.after, e.reason)) for e in AuditEvent.objects.all())
    assert NAME not in events and RECORD not in events


def test_follow_up_without_consent_is_refused_naming_what_is_missing(actors: Actors, document) -> None:  # type: ignore[no-untyped-def]
    [patient] = register(actors)
    visit = patient.visits.order_by("number").first()
    client = api_client(actors.coordinator_a)
    data = {"visit_date": "2022-04-02", "vital_status": "alive", "disease_status": "CR"}
    refused = client.post(f"/api/v1/visits/{visit.pk}/record/", data, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "consent_missing"
    assert "registry consent" in refused.json()["detail"] and patient.study_id not in refused.json()["detail"]
    assert FollowUpVisit.objects.get(pk=visit.pk).status == FollowUpVisit.Status.SCHEDULED
    consent = client.post("/api/v1/consents/", {"patient": patient.study_id, "document": document.pk,
                                                "assent": "not_applicable", "signed_date": "2022-01-05",
                                                "guardian1_relationship": "mother"}, format="json")
    assert consent.status_code == 201, consent.json()
    assert client.post(f"/api/v1/visits/{visit.pk}/record/", data, format="json").status_code == 200


def test_withdrawal_of_data_use_removes_patient_from_outcomes_and_deletes_nothing(actors: Actors, document) -> None:  # type: ignore[no-untyped-def]
    patients = register(actors, n=3, consent_document=document)
    client = api_client(actors.coordinator_a)
    assert client.get("/api/v1/outcomes/").json()["count"] == 3
    consent = ConsentRecord.objects.get(patient=patients[0])
    counts = (FollowUpVisit.objects.count(), ConsentRecord.objects.count(), Patient.objects.count())
    response = client.post(f"/api/v1/consents/{consent.pk}/withdraw/",
                           {"withdrawn_on": "2024-02-01", "scope": "withdraw_data_use", "reason": "family request"},
                           format="json")
    assert response.status_code == 201 and response.json()["withdrawal"]["scope"] == "withdraw_data_use"
    outcome_ids = {row["study_id"] for row in client.get("/api/v1/outcomes/").json()["results"]}
    assert outcome_ids == {patients[1].study_id, patients[2].study_id}
    assert (FollowUpVisit.objects.count(), ConsentRecord.objects.count(), Patient.objects.count()) == counts
    listed = client.get("/api/v1/patients/", {"consent_state": "withdrawn"}).json()
    assert [p["study_id"] for p in listed["results"]] == [patients[0].study_id]


def test_worklist_after_the_daily_sweep(actors: Actors, document) -> None:  # type: ignore[no-untyped-def]
    register(actors, n=2, consent_document=document)
    register(actors, n=1, hospital=actors.hospital_b, consent_document=document)
    followup_mark_statuses(today=date(2022, 12, 1))
    items = api_client(actors.coordinator_a).get("/api/v1/worklist/", {"page_size": 500}).json()["results"]
    assert items and {i["hospital_code"] for i in items} == {"AAA"}
    assert {i["kind"] for i in items} <= {"visit_overdue", "visit_due"}
    assert items[0]["kind"] == "visit_overdue"


def test_patient_filters_and_search(actors: Actors, document) -> None:  # type: ignore[no-untyped-def]
    patients = register(actors, n=6, consent_document=document)
    client = api_client(actors.coordinator_a)
    assert client.get("/api/v1/patients/", {"inrgss_stage": "M"}).json()["count"] == 2
    assert client.get("/api/v1/patients/", {"diagnosis_year": 2022, "hospital": "AAA"}).json()["count"] == 6
    assert client.get("/api/v1/patients/", {"search": patients[3].study_id}).json()["results"][0]["study_id"] == \
        patients[3].study_id
    assert client.get("/api/v1/patients/", {"consent_state": "valid"}).json()["count"] == 6
    assert client.get("/api/v1/patients/", {"consent_state": "missing"}).json()["count"] == 0


def _list_queries(client, url: str) -> int:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("url", ["/api/v1/patients/?page_size=100", "/api/v1/visits/?page_size=100",
                                 "/api/v1/consents/?page_size=100", "/api/v1/outcomes/?page_size=100",
                                 "/api/v1/worklist/?page_size=100"])
def test_list_query_count_does_not_grow_with_rows(actors: Actors, document, url: str) -> None:  # type: ignore[no-untyped-def]
    client = api_client(actors.coordinator_a)
    client.get("/api/v1/me/")
    register(actors, n=5, consent_document=document)
    followup_mark_statuses(today=date(2023, 6, 1))
    few = _list_queries(client, url)
    more = register_more(actors, document)
    followup_mark_statuses(today=date(2023, 6, 1))
    # At most as many: the worklist pages in SQL across its groups, and a fuller first group leaves later ones unread.
    assert more >= 100 and _list_queries(client, url) <= few


def register_more(actors: Actors, document) -> int:  # type: ignore[no-untyped-def]
    created = 0
    for i in range(100):
        p = patient_register(actor=actors.data_manager, hospital=actors.hospital_a,
                             identity={"name": f"More {i}", "record_number": f"MORE{i}"}, sex="M",
                             birth_date=date(2020, 1, 1), diagnosis_date=date(2022, 2, 1), primary_site="thorax",
                             inrgss_stage="L2", inrg_risk="intermediate", mycn="not_amplified", aberration_11q="yes",
                             ploidy="diploid", histology="unfavourable")
        consent_record_create(actor=actors.data_manager, patient=p, document=document, assent="not_applicable",
                              signed_date=date(2022, 2, 2), guardian1_relationship="father")
        created += 1
    return created


def test_patient_list_of_100_takes_a_fixed_number_of_queries(actors: Actors, document, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    register_more(actors, document)
    client = api_client(actors.coordinator_a)
    client.get("/api/v1/me/")
    selectors._page_sql.clear()  # the page query's SQL is compiled once per process and key: start cold
    # session, user, scope (hospital and trial memberships), the in-force re-consent version, count, page (the page's
    # keys are its subquery, the consent flags subqueries of its rows), then the sliding session's save (savepoint,
    # update, release): 10. The first request also builds the page SQL, whose consent flags read the version: 11.
    with django_assert_max_num_queries(11):
        first = client.get("/api/v1/patients/", {"page_size": 100})
    with django_assert_max_num_queries(10):
        response = client.get("/api/v1/patients/", {"page_size": 100})
    assert len(first.json()["results"]) == 100 and response.json() == first.json()


def test_patient_list_rows_are_the_serializers_rows(actors: Actors, document) -> None:  # type: ignore[no-untyped-def]
    """The list builds its rows from values() and a page query compiled once; every field must still read as
    PatientSerializer reads the patient (consent flags included), on every page, in every order and with filters."""
    consented = register(actors, n=6, consent_document=document)
    plain = [
        patient_register(actor=actors.data_manager, hospital=actors.hospital_a,
                         identity={"name": f"Plain {i}", "record_number": f"PLAIN{i}"}, sex="F",
                         birth_date=date(2021, 3, 1), diagnosis_date=date(2022, 3, 1), primary_site="adrenal",
                         inrgss_stage="L1", inrg_risk="low", mycn="not_amplified", aberration_11q="no",
                         ploidy="hyperdiploid", histology="favourable") for i in range(2)]
    assert consented and plain
    client = api_client(actors.coordinator_a)
    selectors._page_sql.clear()

    def expected(ordering: list[str], **where: Any) -> list[dict[str, Any]]:
        rows = patient_list(user=actors.coordinator_a).filter(**where).order_by(*ordering, "pk")
        return json.loads(json.dumps(PatientSerializer(rows, many=True).data))

    def listed(**params: Any) -> list[dict[str, Any]]:
        results, page = [], 1
        while True:
            body = client.get("/api/v1/patients/", {"page_size": 4, "page": page, **params}).json()
            results += body["results"]
            if not body["next"]:
                return results
            page += 1

    assert listed() == expected(["study_id"])
    assert listed(ordering="-diagnosis_date") == expected(["-diagnosis_date"])
    assert listed(consent_state="missing") == expected(["study_id"], has_registry_consent=False)
    assert {row["has_registry_consent"] for row in listed()} == {True, False}
    # A version that asks for re-consent changes the key: the flags follow at once (not an earlier compiled query).
    assert not any(row["reconsent_due"] for row in listed())
    consent_document_create(actor=actors.data_manager, scope="registry", version="2.0", title="Registry v2",
                            ethics_approval_number="EC-2024-02", ethics_approval_date=date(2024, 1, 1),
                            effective_from=date(2024, 1, 1), requires_reconsent=True)
    again = listed()
    assert again == expected(["study_id"])
    assert {row["study_id"] for row in again if row["reconsent_due"]} == {p.study_id for p in consented}
    assert client.get("/api/v1/patients/", {"hospital": "NONE"}).json() == {"count": 0, "next": None, "previous": None,
                                                                          "results": []}
