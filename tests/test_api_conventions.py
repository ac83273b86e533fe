"""API conventions: error shape, pagination, schema and docs, health, query counts."""
import threading
from datetime import date, timedelta

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from drf_spectacular.generators import SchemaGenerator
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from conftest import Actors, api_client
from imaging.reading.tests import helpers as reading
from registry.models import ConsentRecord
from registry.tests.builders import make_document, make_patient
from registry.tests.factories import HospitalFactory
from trials.models import Subject
from trials.tests.builders import enrol, make_trial
from trials.tests.test_dosing import ENROLLED, T0, dose


def test_validation_error_has_code_detail_and_fields(actors: Actors) -> None:
    client = api_client(actors.data_manager)
    response = client.patch(f"/api/v1/hospitals/{actors.hospital_a.pk}/", {"city": "Tianjin"}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and "reason" in body["fields"] and body["detail"]


def test_domain_error_from_a_service_is_a_400_with_its_code(actors: Actors) -> None:
    client = api_client(actors.data_manager)
    response = client.patch(f"/api/v1/hospitals/{actors.hospital_a.pk}/", {"city": "x" * 61, "reason": "r"},
                            format="json")
    assert response.status_code == 400 and response.json()["code"] == "invalid" and "city" in response.json()["fields"]


def test_not_found_and_unauthenticated_have_the_same_shape(actors: Actors) -> None:
    response = api_client(actors.coordinator_b).get(f"/api/v1/hospitals/{actors.hospital_a.pk}/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    response = api_client(None).get("/api/v1/hospitals/")
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"


def test_lists_are_paginated_and_filterable(actors: Actors) -> None:
    for i in range(60):
        HospitalFactory(code=f"P{i:02d}", province="Sichuan" if i % 2 else "Hubei")
    client = api_client(actors.data_manager)
    page = client.get("/api/v1/hospitals/").json()
    assert page["count"] == 62 and len(page["results"]) == settings.REST_FRAMEWORK["PAGE_SIZE"] and page["next"]
    filtered = client.get("/api/v1/hospitals/", {"province": "Sichuan", "page_size": 100}).json()
    assert filtered["count"] == 30


def test_hospital_list_query_count_is_fixed(actors: Actors, django_assert_max_num_queries) -> None:
    for i in range(40):
        HospitalFactory(code=f"Q{i:02d}")
    client = api_client(actors.data_manager)
    client.get("/api/v1/me/")  # warm the session
    # session, user, hospital memberships + trial memberships (the scope), count, page; then the sliding
    # session's save (savepoint, UPDATE, release). Forty hospitals or four hundred, the number does not grow.
    with django_assert_max_num_queries(9):
        assert client.get("/api/v1/hospitals/", {"page_size": 100}).status_code == 200


def test_token_authentication(actors: Actors) -> None:
    anon = api_client(None)
    token = anon.post("/api/v1/auth/token/", {"username": "coordinator_a", "password": "correct-horse-battery"}).json()
    anon.credentials(HTTP_AUTHORIZATION=f"Token {token['token']}")
    assert anon.get("/api/v1/me/").json()["memberships"] == [{"hospital": "AAA", "role": "coordinator"}]


def test_schema_and_swagger_ui(client) -> None:  # type: ignore[no-untyped-def]
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/hospitals/" in paths and "/api/v1/audit-events/verify/" in paths
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()


def test_healthz_reports_database_and_broker(client, db) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["database"] == "ok"
    assert body["broker"] == ("eager" if settings.CELERY_TASK_ALWAYS_EAGER else "ok")


@pytest.mark.django_db
def test_healthz_is_503_when_the_broker_is_down(client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["broker"].startswith("error")


# --- Bad input is a 400 naming the field, never a 500 (issue 14: the schemathesis root causes) --------------------------
@pytest.mark.parametrize("year", ["0", "-1", "99999", "1e20", "2020.5"])
def test_an_impossible_diagnosis_year_is_a_400_naming_it(actors: Actors, year: str) -> None:
    response = api_client(actors.data_manager).get("/api/v1/patients/", {"diagnosis_year": year})
    assert response.status_code == 400 and "diagnosis_year" in response.json()["fields"], response.content


@pytest.mark.parametrize("who, path, body, field", [
    ("data_manager", "/api/v1/imaging/unmatched/discard/", {"ids": [2**64], "reason": "x"}, "ids"),
    ("investigator_a", "/api/v1/oversight/signatures/",
     {"record_type": "trials.subject", "object_id": 2**63, "meaning": "approval", "password": "x"}, "object_id"),
])
def test_a_row_id_past_64_bits_is_a_400_naming_it(actors: Actors, who: str, path: str, body: dict, field: str) -> None:
    """schemathesis found ids of 2**64 failing the query (SQLite: "Python int too large"): a 500. An id field takes 1 to
    2**63 - 1 (registry.api.serializers.row_id_field)."""
    response = api_client(actors.by_name(who)).post(path, body, format="json")
    assert response.status_code == 400 and field in response.json()["fields"], response.content


@pytest.mark.parametrize("path, param", [
    ("/api/v1/trials/visits/", "trial"),  # a declared filter through a path (subject__trial): RowIdFilter
    ("/api/v1/trials/visits/", "site"),
    ("/api/v1/trials/arms/", "trial"),  # a filter generated for a foreign key (filterset_fields): RowChoiceFilter
    ("/api/v1/lowdose/dose-savings/", "study"),  # a query serializer's row_id_field
])
def test_a_filter_naming_a_row_past_64_bits_is_a_400_naming_it(actors: Actors, path: str, param: str) -> None:
    response = api_client(actors.data_manager).get(path, {param: str(2**64)})
    assert response.status_code == 400 and param in response.json()["fields"], response.content


def test_a_diagnosis_year_filters(actors: Actors) -> None:
    make_patient(actors.coordinator_a, actors.hospital_a, diagnosis_date=date(2021, 3, 1))
    client = api_client(actors.data_manager)
    assert client.get("/api/v1/patients/", {"diagnosis_year": 2021}).json()["count"] == 1
    assert client.get("/api/v1/patients/", {"diagnosis_year": 2022}).json()["count"] == 0


def test_krenning_agreement_of_one_study_compares_totals(actors: Actors) -> None:
    patient = reading.patient_at(actors.coordinator_a, actors.hospital_a)
    pet = reading.study_of(patient, tracer="GA68_DOTATATE", modality="PT")
    for reader, score in ((actors.investigator_a, 3), (reading.investigator(actors.hospital_a, "reader2"), 2)):
        reading.submitted(reader, pet, "krenning", {"lesions": [{"site": "liver", "score": score}]})
    response = api_client(actors.investigator_a).get(f"/api/v1/reading/studies/{pet.pk}/agreement/", {"kind": "krenning"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["segments"] == [] and body["pairs"] == [{"readers": ["investigator_a", "reader2"], "total_difference": -1}]


@pytest.mark.parametrize(("query", "field"), [({"kind": "bogus"}, "kind"), ({}, "kind"),
                                              ({"kind": "curie", "hospital": "A\x00B"}, "hospital")])
def test_agreement_query_is_checked(actors: Actors, query: dict, field: str) -> None:
    response = api_client(actors.monitor_a).get("/api/v1/reading/agreement/", query)
    assert response.status_code == 400 and field in response.json()["fields"], response.content


@pytest.mark.parametrize("url", ["/api/v1/reading/patients/AAA-0000%00/timeline/?kind=curie",
                                 "/api/v1/imaging/patients/AAA-0000%00/dose-history/",
                                 "/api/v1/imaging/patients/not-a-study-id/dose-history/"])
def test_a_study_id_of_another_shape_is_a_404(actors: Actors, url: str) -> None:
    assert api_client(actors.data_manager).get(url).status_code == 404


def test_a_nul_character_anywhere_in_a_json_body_is_a_400_naming_where(actors: Actors) -> None:
    response = api_client(actors.data_manager).post("/api/v1/reports/runs/", {"kind": "x", "params": {"a": ["ok", "b\x00"]}},
                                                    format="json")
    assert response.status_code == 400 and response.json()["fields"] == {"params.a.1": ["Null characters are not allowed."]}


@pytest.mark.parametrize("fmt", ["multipart", "form"])
def test_a_nul_character_in_a_form_body_is_a_400_naming_the_field(actors: Actors, fmt: str) -> None:
    """schemathesis found it on PostgreSQL: a form-encoded `patient` with NUL reached the study-ID lookup (a 500)."""
    client = api_client(actors.coordinator_a)
    body = {"patient": "BJYY-0\x0001", "trial": "1", "site": "1"}
    if fmt == "form":
        from urllib.parse import urlencode
        response = client.post("/api/v1/trials/screening/", urlencode(body), content_type="application/x-www-form-urlencoded")
    else:
        response = client.post("/api/v1/trials/screening/", body, format="multipart")
    assert response.status_code == 400 and response.json()["fields"] == {"patient": ["Null characters are not allowed."]}


@pytest.mark.parametrize(("field", "value"), [("calibrated_at", "2026-07-01T12:00:00+08:00"),  # far after the injection
                                              ("calibrated_at", "9999-12-31T00:00:00Z")])
def test_a_dose_corrected_over_an_impossible_span_is_a_400_naming_the_time(actors: Actors, field: str, value: str) -> None:
    subject = dosing_subject(actors)
    record = dose(actors, subject)
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        response = api_client(actors.coordinator_a).patch(f"/api/v1/trials/dosing/{record.pk}/", {field: value, "reason": "typo"},
                                                          format="json")
    assert response.status_code == 400 and field in response.json()["fields"], response.content


def dosing_subject(actors: Actors) -> Subject:
    """trials/tests/test_dosing.py's subject: 18F-NaF, enrolled at hospital A."""
    trial = make_trial(actors.data_manager, [actors.hospital_a], code="NAF-3", agent_code="F18_NAF", dosage_table="north_america")
    with time_machine.travel(ENROLLED, tick=False):
        return enrol(actors.coordinator_a, trial, actors.hospital_a)


# --- Consent: the same consent submitted twice at once makes one row and a clean refusal ------------------------------
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_double_submitted_consent_makes_one_row_and_no_500(on_postgres, reference_rows, actors: Actors) -> None:  # type: ignore[no-untyped-def]
    document = make_document(version="9.0", effective_from=date(2010, 1, 1))
    patient = make_patient(actors.coordinator_a, actors.hospital_a, birth_date=date(2016, 5, 10), diagnosis_date=date(2019, 1, 15))
    token = Token.objects.create(user=actors.coordinator_a).key
    body = {"patient": patient.study_id, "document": document.pk, "assent": "not_applicable", "signed_date": "2019-01-20",
            "guardian1_relationship": "mother"}
    rounds, barrier = 5, threading.Barrier(2)
    statuses: list[int] = []
    codes: list[str] = []

    def submit() -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        try:
            barrier.wait()
            response = client.post("/api/v1/consents/", body, format="json")
            statuses.append(response.status_code)
            if response.status_code != 201:
                codes.append(response.json()["code"])
        finally:
            connection.close()

    for _ in range(rounds):  # each round races two submissions; the first round's winner makes the only row
        threads = [threading.Thread(target=submit) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        barrier.reset()
    assert ConsentRecord.objects.filter(patient=patient, document=document).count() == 1
    assert sorted(statuses) == [201] + [400] * (2 * rounds - 1) and set(codes) == {"already_signed"}


# --- The schema says what the API answers (issue 14, reproducer 7; tests/test_schemathesis.py checks real responses) ---
NULLABLE = [("ConsentRecord", "withdrawal"), ("DoseResult", "study_date"), ("Membership", "hospital_code"),
            ("OwnMembership", "hospital"), ("Deviation", "reviewed_by"), ("TrialSite", "principal_investigator"),
            ("Subject", "unblinded_at")]


@pytest.fixture(scope="module")
def openapi() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


@pytest.mark.parametrize(("component", "field"), NULLABLE)
def test_fields_that_may_be_null_are_nullable_in_the_schema(openapi: dict, component: str, field: str) -> None:
    assert openapi["components"]["schemas"][component]["properties"][field].get("nullable") is True


@pytest.mark.parametrize(("path", "shape"), [
    ("/api/v1/safety/ctcae-terms/", {"$ref": "#/components/schemas/TermList"}),  # its own envelope: version, count, results
    ("/api/v1/trials/screening/log/", {"type": "array", "items": {"$ref": "#/components/schemas/ScreeningLogRow"}}),
    ("/api/v1/patients/{study_id}/consent-status/", {"$ref": "#/components/schemas/ConsentStatus"}),
    ("/api/v1/reading/scoring-systems/", {"type": "array", "items": {"$ref": "#/components/schemas/ScoringSystem"}}),
])
def test_lists_and_envelopes_are_documented_as_answered(openapi: dict, path: str, shape: dict) -> None:
    assert openapi["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"] == shape


def test_the_scoring_systems_schema_has_the_fields_they_are_served_with(openapi: dict, actors: Actors) -> None:
    served = api_client(actors.monitor_a).get("/api/v1/reading/scoring-systems/").json()
    documented = openapi["components"]["schemas"]["ScoringSystem"]["properties"]
    assert {kind["kind"] for kind in served} == {"curie", "siopen", "krenning"}
    assert all(set(kind) == set(documented) for kind in served)
