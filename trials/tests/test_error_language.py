"""Service refusals speak the request's language: the same code, the message in Chinese for a zh-Hans request and in
English otherwise (the API's detail and field messages, and the message next to the field on a page). What is stored
(the audited refused signature) stays English whoever triggered it."""
from datetime import date

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from conftest import Actors, api_client, refused_in_both_languages
from registry.models import AuditEvent
from registry.tests.builders import make_patient
from trials.models import Trial
from trials.oversight.models import Signature
from trials.oversight.services.queries import data_query_close, data_query_raise
from trials.services import setup
from trials.tests.builders import make_trial, make_trial_consent, ready_patient, screen, site_of
from trials.tests.test_web_fixtures import World, ae_data, world  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def trial(actors: Actors) -> Trial:
    return make_trial(actors.data_manager, [actors.hospital_a, actors.hospital_b])



def enrol_body(trial: Trial, actors: Actors, study_id: str) -> dict:
    return {"trial": trial.pk, "site": site_of(trial, actors.hospital_a).pk, "patient": study_id}


def test_enrolment_at_an_inactive_site(actors: Actors, trial: Trial) -> None:
    patient = ready_patient(actors.coordinator_a, trial, actors.hospital_a)
    setup.trial_site_update(actor=actors.data_manager, site=site_of(trial, actors.hospital_a),
                            data={"closed_on": date(2026, 6, 20)}, reason="site closed")
    english, chinese = refused_in_both_languages(api_client(actors.coordinator_a), reverse("subject-enrol"),
                                                 enrol_body(trial, actors, patient.study_id))
    assert english["code"] == chinese["code"] == "site_not_active"
    assert english["detail"] == "Cannot enrol: site 01 of trial NB-T1 is not active."
    assert chinese["detail"] == "无法入组：试验 NB-T1 的中心 01 未启动。"


def test_enrolment_without_a_screening(actors: Actors, trial: Trial) -> None:
    patient = make_patient(actors.coordinator_a, actors.hospital_a, birth_date=date(2019, 3, 15))
    make_trial_consent(actors.coordinator_a, patient, trial)
    english, chinese = refused_in_both_languages(api_client(actors.coordinator_a), reverse("subject-enrol"),
                                                 enrol_body(trial, actors, patient.study_id))
    assert english["code"] == chinese["code"] == "no_eligible_screening"
    assert english["detail"] == "Cannot enrol: the patient has not been screened for this trial at this site."
    assert chinese["detail"] == "无法入组：患者尚未在本中心接受本试验的筛选。"
    assert patient.study_id not in chinese["detail"]


def test_enrolment_without_a_trial_consent_names_no_patient(actors: Actors, trial: Trial) -> None:
    patient = make_patient(actors.coordinator_a, actors.hospital_a, birth_date=date(2019, 3, 15))
    screen(actors.coordinator_a, trial, site_of(trial, actors.hospital_a), patient)
    english, chinese = refused_in_both_languages(api_client(actors.coordinator_a), reverse("subject-enrol"),
                                                 enrol_body(trial, actors, patient.study_id))
    assert english["code"] == chinese["code"] == "consent_missing"
    assert english["detail"] == "Cannot enrol: no trial consent has been recorded for this patient."
    assert chinese["detail"] == "无法入组：此患者尚无试验知情同意记录。"
    assert patient.study_id not in english["detail"] + chinese["detail"]


def test_adverse_event_with_impossible_dates(actors: Actors, world: World) -> None:  # noqa: F811
    body = {**ae_data(outcome="recovered", resolution_date="2026-06-10"), "onset_date": "2026-06-20",
            "subject": world.subject_a.pk}
    english, chinese = refused_in_both_languages(api_client(actors.coordinator_a), reverse("adverse-event-list"), body)
    assert english["code"] == chinese["code"] == "invalid"
    assert english["detail"] == "The resolution date is before the onset date."
    assert english["fields"] == {"resolution_date": ["The resolution date is before the onset date."]}
    assert chinese["detail"] == "结束日期早于发生日期。"
    assert chinese["fields"] == {"resolution_date": ["结束日期早于发生日期。"]}


def test_adverse_event_with_a_fatal_outcome_but_no_death_date(actors: Actors, world: World) -> None:  # noqa: F811
    body = {**ae_data(outcome="fatal", grade=5, serious_death=True), "onset_date": "2026-06-20", "subject": world.subject_a.pk}
    english, chinese = refused_in_both_languages(api_client(actors.coordinator_a), reverse("adverse-event-list"), body)
    assert english["fields"] == {"death_date": ["A grade 5 event requires the date of death."]}
    assert chinese["fields"] == {"death_date": ["5 级事件需要填写死亡日期。"]}


def test_wrong_signature_password_and_the_audit_stays_english(actors: Actors, world: World) -> None:  # noqa: F811
    body = {"record_type": "safety.adverseevent", "object_id": world.event_a.pk, "meaning": Signature.Meaning.ASSESSED,
            "password": "not-my-password"}
    english, chinese = refused_in_both_languages(api_client(actors.investigator_a), "/api/v1/oversight/signatures/", body)
    assert english["code"] == chinese["code"] == "signature_refused"
    assert english["detail"] == "The password is not correct: the record was not signed."
    assert english["fields"] == {"password": ["Incorrect password."]}
    assert chinese["detail"] == "密码不正确：记录未签名。"
    assert chinese["fields"] == {"password": ["密码错误。"]}
    assert not Signature.objects.exists()
    refusals = AuditEvent.objects.filter(action="signature_refused", actor=actors.investigator_a)
    assert [e.after for e in refusals] == [{"meaning": Signature.Meaning.ASSESSED.value, "why": "wrong password"}] * 2


def test_data_query_state_error(actors: Actors, world: World) -> None:  # noqa: F811
    query = data_query_raise(actor=actors.monitor_a, content_type=ContentType.objects.get_for_model(world.event_a),
                             object_id=world.event_a.pk, field_name="grade", text="Please check the grade.")
    data_query_close(actor=actors.monitor_a, query=query, text="")
    english, chinese = refused_in_both_languages(api_client(actors.monitor_a), reverse("data-query-close", args=[query.pk]), {"text": ""})
    assert english["code"] == chinese["code"] == "invalid_transition"
    assert english["detail"] == "This query is already closed."
    assert chinese["detail"] == "此质疑已关闭。"
    english, chinese = refused_in_both_languages(api_client(actors.coordinator_a), reverse("data-query-answer", args=[query.pk]), {"text": "Done."})
    assert english["code"] == chinese["code"] == "invalid_transition"
    assert english["detail"] == "Only an open query can be answered (status: Closed)."
    assert chinese["detail"] == "只有未解决的质疑可以回复（状态：已关闭）。"


def test_the_sign_dialog_shows_the_wrong_password_in_chinese(client, actors: Actors, world: World) -> None:  # noqa: F811
    client.force_login(actors.investigator_a)
    client.cookies["django_language"] = "zh-hans"
    response = client.post(reverse("web-ae-sign", args=[world.event_a.pk]),
                           {"meaning": Signature.Meaning.ASSESSED, "password": "wrong"})
    text = response.content.decode()
    assert response.status_code == 400 and "密码错误。" in text
    assert "Incorrect password." not in text
    assert not Signature.objects.exists()
    assert AuditEvent.objects.get(action="signature_refused").after["why"] == "wrong password"
