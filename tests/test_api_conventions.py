"""API conventions: error shape, pagination, schema and docs, health, query counts."""
import pytest
from django.conf import settings

from conftest import Actors, api_client
from registry.tests.factories import HospitalFactory


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
