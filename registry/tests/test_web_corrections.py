"""Corrections on the patient pages with Django's test client: a recorded follow-up visit, the clinical data, and
the consent renewal buttons ("Record re-consent", "Record adult consent").

As for the other patient pages: the write goes through the service the API uses (followup_visit_record on a done
visit, patient_update), the reason is required and lands in the audit event, a refusal is shown next to its field
with status 400 and the typed input kept (and nothing written), another hospital's patient is a 404 and a monitor
gets a 403.
"""
from datetime import date

import pytest
from django.urls import reverse

from conftest import Actors
from registry.models import ConsentRecord, FollowUpVisit, Patient
from registry.tests.builders import (
    client_of,
    consented_patient,
    counts,
    default_document,
    events_after,
    identity,
    last_seq,
    make_document,
    record_visit,
    refresh,
    text,
    visit,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def patient(actors: Actors) -> Patient:
    default_document()
    return consented_patient(actors.coordinator_a, actors.hospital_a, ident=identity(name="Li Xiaohong"))


@pytest.fixture
def recorded(actors: Actors, patient: Patient) -> FollowUpVisit:
    return record_visit(actors.coordinator_a, patient, 1, disease_status="PR", treatment_phase="maintenance")


def detail(p: Patient) -> str:
    return reverse("web-patient-detail", args=[p.study_id])


def correct_url(v: FollowUpVisit) -> str:
    return reverse("web-patient-visit-correct", args=[v.patient.study_id, v.pk])


def edit_url(p: Patient) -> str:
    return reverse("web-patient-edit", args=[p.study_id])


def correction(v: FollowUpVisit, **overrides: str) -> dict[str, str]:
    data = {"visit_date": v.visit_date.isoformat(), "vital_status": "alive", "disease_status": "PR",
            "event_date": "", "event_site": "", "treatment_phase": "maintenance", "last_contact_date": "",
            "death_date": "", "death_cause": "", "reason": "response misread"}
    data.update(overrides)
    return data


def clinical(p: Patient, **overrides: str) -> dict[str, str]:
    data = {name: (value.isoformat() if isinstance(value, date) else value) for name in (
        "sex", "birth_date", "birth_date_precision", "diagnosis_date", "primary_site", "inrgss_stage", "inss_stage",
        "inrg_risk", "cog_risk", "mycn", "aberration_11q", "ploidy", "histology") for value in [getattr(p, name)]}
    data["reason"] = "pathology review"
    data.update(overrides)
    return data


# --- correcting a recorded visit -----------------------------------------------------------------------------

def test_timeline_offers_correct_on_recorded_visits_only(actors: Actors, patient: Patient,
                                                         recorded: FollowUpVisit) -> None:
    body = text(client_of(actors.coordinator_a).get(detail(patient)))
    assert correct_url(recorded) in body and 'data-testid="correct-visit-1"' in body
    assert correct_url(visit(patient, 2)) not in body  # an open visit is entered, not corrected


def test_correct_form_is_prefilled_with_the_recorded_values(actors: Actors, recorded: FollowUpVisit) -> None:
    response = client_of(actors.coordinator_a).get(correct_url(recorded))
    assert response.status_code == 200
    body = text(response)
    assert f'value="{recorded.visit_date.isoformat()}"' in body
    assert '<option value="PR" selected>' in body and 'value="maintenance"' in body
    assert 'name="reason"' in body and "coordinator_a" in body  # who recorded it


def test_correcting_a_visit_saves_it_and_audits_the_reason(actors: Actors, patient: Patient,
                                                           recorded: FollowUpVisit) -> None:
    seq = last_seq()
    response = client_of(actors.coordinator_a).post(correct_url(recorded), correction(
        recorded, disease_status="CR", event_site="typed"))
    assert response.status_code == 302 and response["Location"] == detail(patient)
    recorded.refresh_from_db()
    assert (recorded.status, recorded.disease_status, recorded.event_site) == (FollowUpVisit.Status.DONE, "CR", "typed")
    [event] = [e for e in events_after(seq) if e.object_type == "registry.followupvisit"]
    assert (event.action, event.object_id, event.reason) == ("update", str(recorded.pk), "response misread")
    assert (event.before["disease_status"], event.after["disease_status"]) == ("PR", "CR")
    assert event.actor == actors.coordinator_a


def test_correction_without_a_reason_is_refused_keeping_the_input(actors: Actors, recorded: FollowUpVisit) -> None:
    before = counts()
    response = client_of(actors.coordinator_a).post(correct_url(recorded), correction(
        recorded, reason=" ", disease_status="CR", event_site="typed site"))
    assert response.status_code == 400
    body = text(response)
    assert 'id="id_reason_error"' in body and 'value="typed site"' in body and '<option value="CR" selected>' in body
    assert counts() == before
    recorded.refresh_from_db()
    assert recorded.disease_status == "PR"


def test_service_refusal_shows_next_to_the_field_and_writes_nothing(actors: Actors, recorded: FollowUpVisit) -> None:
    before = counts()
    response = client_of(actors.coordinator_a).post(correct_url(recorded), correction(
        recorded, death_date="2021-01-01", death_cause="typed cause", reason="typed reason"))
    assert response.status_code == 400
    body = text(response)
    assert "A death date was given for a patient recorded alive." in body and 'id="id_death_date_error"' in body
    assert 'value="typed cause"' in body and "typed reason" in body
    assert counts() == before
    recorded.refresh_from_db()
    assert recorded.death_date is None and recorded.death_cause == ""


def test_an_open_visit_has_no_correction_page(actors: Actors, patient: Patient) -> None:
    assert client_of(actors.coordinator_a).get(correct_url(visit(patient, 2))).status_code == 404


# --- correcting the clinical data ----------------------------------------------------------------------------

def test_edit_page_is_linked_and_prefilled(actors: Actors, patient: Patient) -> None:
    client = client_of(actors.coordinator_a)
    assert edit_url(patient) in text(client.get(detail(patient)))
    body = text(client.get(edit_url(patient)))
    assert '<option value="M" selected>' in body and '<option value="amplified" selected>' in body
    assert 'value="2019-03-15"' in body and 'id="id_reason"' in body


def test_editing_clinical_data_saves_it_and_audits_the_reason(actors: Actors, patient: Patient) -> None:
    seq = last_seq()
    response = client_of(actors.coordinator_a).post(edit_url(patient), clinical(
        patient, inrgss_stage="L2", inrg_risk="intermediate", inss_stage="3"))
    assert response.status_code == 302 and response["Location"] == detail(patient)
    patient = refresh(patient)
    assert (patient.inrgss_stage, patient.inrg_risk, patient.inss_stage) == ("L2", "intermediate", "3")
    [event] = events_after(seq)
    assert (event.action, event.object_type, event.object_id) == ("update", "registry.patient", str(patient.pk))
    assert event.reason == "pathology review" and event.actor == actors.coordinator_a
    assert (event.before["inrgss_stage"], event.after["inrgss_stage"]) == ("M", "L2")


def test_unchanged_clinical_data_writes_nothing(actors: Actors, patient: Patient) -> None:
    client = client_of(actors.coordinator_a)
    before = counts()
    response = client.post(edit_url(patient), clinical(patient))
    assert response.status_code == 302
    assert counts() == before  # patient_update writes (and audits) only a change
    assert "Nothing was changed." in text(client.get(detail(patient)))


def test_clinical_refusals_show_next_to_the_field_keeping_the_input(actors: Actors, patient: Patient) -> None:
    client = client_of(actors.coordinator_a)
    before = counts()
    dates = client.post(edit_url(patient), clinical(patient, diagnosis_date="2018-01-01", inrgss_stage="L1",
                                                    reason="typed reason"))
    assert dates.status_code == 400
    body = text(dates)
    assert "The diagnosis date is before the date of birth." in body and 'id="id_diagnosis_date_error"' in body
    assert 'value="2018-01-01"' in body and '<option value="L1" selected>' in body and "typed reason" in body
    no_reason = client.post(edit_url(patient), clinical(patient, inrgss_stage="L1", reason=""))
    assert no_reason.status_code == 400 and 'id="id_reason_error"' in text(no_reason)
    assert counts() == before
    assert refresh(patient).inrgss_stage == "M" and refresh(patient).diagnosis_date == date(2020, 9, 15)


# --- scope: 404 outside it, 403 for a monitor, nothing written -----------------------------------------------

@pytest.mark.parametrize("name", ["coordinator_b", "sponsor", "nobody"])
def test_other_hospitals_get_404_and_nothing_is_written(actors: Actors, patient: Patient, recorded: FollowUpVisit,
                                                        name: str) -> None:
    client = client_of(getattr(actors, name))
    before = counts()
    for url, data in ((correct_url(recorded), correction(recorded, disease_status="CR")),
                      (edit_url(patient), clinical(patient, inrgss_stage="L1"))):
        assert client.get(url).status_code == 404, url
        assert client.post(url, data).status_code == 404, url
    assert counts() == before


def test_monitor_sees_no_correction_actions_and_gets_403(actors: Actors, patient: Patient,
                                                          recorded: FollowUpVisit) -> None:
    make_document(version="2.0", effective_from=date(2024, 1, 1), requires_reconsent=True)
    client = client_of(actors.monitor_a)
    body = text(client.get(detail(patient)))
    assert correct_url(recorded) not in body and edit_url(patient) not in body
    assert 'data-testid="reconsent-due"' in body and 'data-testid="record-reconsent"' not in body
    before = counts()
    for url, data in ((correct_url(recorded), correction(recorded, disease_status="CR")),
                      (edit_url(patient), clinical(patient, inrgss_stage="L1"))):
        assert client.get(url).status_code == 403, url
        assert client.post(url, data).status_code == 403, url
    assert counts() == before


# --- consent renewal buttons ---------------------------------------------------------------------------------

def test_record_reconsent_opens_the_consent_form_with_the_new_version(actors: Actors, patient: Patient) -> None:
    client = client_of(actors.coordinator_a)
    assert 'data-testid="consent-renewal"' not in text(client.get(detail(patient)))
    new = make_document(version="2.0", effective_from=date(2024, 1, 1), requires_reconsent=True)
    body = text(client.get(detail(patient)))
    url = reverse("web-patient-consent-record", args=[patient.study_id]) + f"?document={new.pk}"
    assert 'data-testid="record-reconsent"' in body and f'href="{url}"' in body
    assert "signer=participant" not in body
    form = text(client.get(url))
    assert f'<option value="{new.pk}" selected>' in form and '<option value="guardian" selected>' in form
    response = client.post(url, {"document": str(new.pk), "signer": "guardian", "guardian1_relationship": "mother",
                                 "assent": "not_applicable", "signed_date": "2024-02-01"})
    assert response.status_code == 302
    assert ConsentRecord.objects.filter(patient=patient, document=new).exists()
    assert 'data-testid="reconsent-due"' not in text(client.get(detail(patient)))


def test_record_adult_consent_preselects_the_participant_and_the_version_in_force(actors: Actors) -> None:
    default_document()
    adult = consented_patient(actors.coordinator_a, actors.hospital_a, birth_date=date(2005, 1, 10),
                              diagnosis_date=date(2010, 2, 1))
    new = make_document(version="2.0", effective_from=date(2024, 1, 1), requires_reconsent=True)
    client = client_of(actors.coordinator_a)
    body = text(client.get(detail(adult)))
    # Both are due; an adult signs themselves, so one button: the participant signing the newest version.
    assert 'data-testid="adult-consent-due"' in body and 'data-testid="reconsent-due"' in body
    assert 'data-testid="record-adult-consent"' in body and 'data-testid="record-reconsent"' not in body
    url = reverse("web-patient-consent-record", args=[adult.study_id]) + f"?document={new.pk}&amp;signer=participant"
    assert f'href="{url}"' in body
    form = text(client.get(url.replace("&amp;", "&")))
    assert f'<option value="{new.pk}" selected>' in form and '<option value="participant" selected>' in form
    response = client.post(url.replace("&amp;", "&"), {"document": str(new.pk), "signer": "participant",
                                                       "assent": "not_applicable", "signed_date": "2024-03-01"})
    assert response.status_code == 302
    assert ConsentRecord.objects.get(patient=adult, document=new).signer == ConsentRecord.Signer.PARTICIPANT
    body = text(client.get(detail(adult)))
    assert 'data-testid="adult-consent-due"' not in body and 'data-testid="consent-renewal"' not in body


def test_a_preselection_outside_the_offered_versions_is_ignored(actors: Actors, patient: Patient) -> None:
    url = reverse("web-patient-consent-record", args=[patient.study_id])
    response = client_of(actors.coordinator_a).get(url, {"document": "999999", "signer": "nonsense"})
    body = text(response)
    assert response.status_code == 200
    assert '<option value="" selected>---------</option>' in body and '<option value="guardian" selected>' in body


# --- Chinese -------------------------------------------------------------------------------------------------

def test_new_pages_and_actions_in_chinese(actors: Actors, patient: Patient, recorded: FollowUpVisit) -> None:
    make_document(version="2.0", effective_from=date(2024, 1, 1), requires_reconsent=True)
    client = client_of(actors.coordinator_a)
    zh = {"accept-language": "zh-hans"}
    body = text(client.get(detail(patient), headers=zh))
    assert "更正第 1 次随访" in body and "编辑临床资料" in body and "记录重新知情同意" in body
    assert "更正原因" in text(client.get(correct_url(recorded), headers=zh))
    assert "修改原因" in text(client.get(edit_url(patient), headers=zh))
