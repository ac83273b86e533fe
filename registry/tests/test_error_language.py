"""Registry refusals speak the request's language: the same code, the message in Chinese for a zh-Hans request and in
English otherwise; a consent refusal names no patient in either language."""

import pytest

from conftest import ZH, Actors, api_client, refused_in_both_languages
from registry.tests.test_api_registry import RECORD, document, payload, register  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db



def test_duplicate_registration(actors: Actors) -> None:
    client = api_client(actors.coordinator_a)
    first = client.post("/api/v1/patients/", payload(), format="json")
    assert first.status_code == 201
    study_id = first.json()["study_id"]
    english, chinese = refused_in_both_languages(client, "/api/v1/patients/", payload(identity={"name": "Other", "record_number": RECORD}))
    assert english["code"] == chinese["code"] == "duplicate_patient"
    assert english["detail"] == f"This hospital record number is already registered at this hospital as {study_id}."
    assert english["fields"] == {"record_number": [f"Already registered as {study_id}."]}
    assert chinese["detail"] == f"此病历号已在本医院登记为 {study_id}。"
    assert chinese["fields"] == {"record_number": [f"已登记为 {study_id}。"]}
    assert RECORD not in str(english) + str(chinese)


def test_follow_up_without_consent_names_no_patient(actors: Actors) -> None:
    [patient] = register(actors)
    visit = patient.visits.order_by("number").first()
    body = {"visit_date": "2022-04-02", "vital_status": "alive", "disease_status": "CR"}
    english, chinese = refused_in_both_languages(api_client(actors.coordinator_a), f"/api/v1/visits/{visit.pk}/record/", body)
    assert english["code"] == chinese["code"] == "consent_missing"
    assert english["detail"] == "Cannot accept follow-up entry: no registry consent has been recorded for this patient."
    assert chinese["detail"] == "无法接受随访录入：此患者尚无登记知情同意记录。"
    assert patient.study_id not in english["detail"] + chinese["detail"]


def test_visit_field_message(actors: Actors, document) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    [patient] = register(actors, consent_document=document)
    visit = patient.visits.order_by("number").first()
    body = {"visit_date": "2022-04-02", "vital_status": "dead"}
    english, chinese = refused_in_both_languages(api_client(actors.coordinator_a), f"/api/v1/visits/{visit.pk}/record/", body)
    assert english["code"] == chinese["code"] == "invalid"
    assert english["fields"]["death_date"] == ["A death date is required when the patient has died."]
    assert chinese["fields"]["death_date"] == ["患者已死亡时必须填写死亡日期。"]


def test_without_a_header_the_answer_is_english(actors: Actors) -> None:
    client = api_client(actors.coordinator_a)
    client.post("/api/v1/patients/", payload(), format="json", **ZH)
    again = client.post("/api/v1/patients/", payload(), format="json")
    assert again.status_code == 400 and again.json()["detail"].startswith("This hospital record number")
