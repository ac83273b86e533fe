"""The patient pages with Django's test client: list, registration, patient page, consent and follow-up actions.

Each refusal of a service must show the API's message on the page with status 400 and keep what was typed;
a patient of another hospital is a 404 on every patient URL, and nothing is written.
"""
from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from conftest import Actors
from registry.models import ConsentRecord, FollowUpVisit, Patient
from registry.tests.builders import (
    client_of,
    consented_patient,
    counts,
    default_document,
    identity,
    make_document,
    make_patient,
    make_registry_consent,
    record_visit,
    refresh,
    text,
    visit,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def document(actors: Actors):  # type: ignore[no-untyped-def]
    return default_document()


@pytest.fixture
def patient(actors: Actors, document) -> Patient:  # type: ignore[no-untyped-def]
    return consented_patient(actors.coordinator_a, actors.hospital_a, ident=identity(name="Li Xiaohong", record_number="MRN-A1"))


def detail(p: Patient) -> str:
    return reverse("web-patient-detail", args=[p.study_id])


# --- list ----------------------------------------------------------------------------------------------------

def test_list_shows_own_hospitals_patients_only_and_the_register_button(actors: Actors, patient: Patient) -> None:
    other = make_patient(actors.coordinator_b, actors.hospital_b)
    response = client_of(actors.coordinator_a).get(reverse("web-patient-list"))
    assert response.status_code == 200
    assert patient.study_id in text(response) and other.study_id not in text(response)
    assert reverse("web-patient-register") in text(response)
    # A monitor reads the list but registers nobody: no button.
    monitor_page = client_of(actors.monitor_a).get(reverse("web-patient-list"))
    assert patient.study_id in text(monitor_page) and reverse("web-patient-register") not in text(monitor_page)


def test_list_search_and_filters(actors: Actors, document) -> None:  # type: ignore[no-untyped-def]
    high = consented_patient(actors.coordinator_a, actors.hospital_a, inrgss_stage="M", inrg_risk="high")
    low = make_patient(actors.coordinator_a, actors.hospital_a, inrgss_stage="L1", inrg_risk="low")  # no consent
    withdrawn = consented_patient(actors.coordinator_a, actors.hospital_a, inrgss_stage="L2", inrg_risk="intermediate")
    from registry.services.consent import consent_withdraw
    consent_withdraw(actor=actors.coordinator_a, consent=withdrawn.consents.get(), withdrawn_on=date(2021, 1, 1),
                     scope="no_further_contact", reason="family moved")
    client = client_of(actors.coordinator_a)

    def listed(**params: str) -> set[str]:
        body = text(client.get(reverse("web-patient-list"), params))
        return {p.study_id for p in (high, low, withdrawn) if f">{p.study_id}</a>" in body}

    assert listed() == {high.study_id, low.study_id, withdrawn.study_id}
    assert listed(q=low.study_id) == {low.study_id}
    assert listed(q=low.study_id.lower()) == {low.study_id}
    assert listed(stage="M") == {high.study_id}
    assert listed(risk="intermediate") == {withdrawn.study_id}
    assert listed(consent="valid") == {high.study_id}
    assert listed(consent="missing") == {low.study_id}
    assert listed(consent="withdrawn") == {withdrawn.study_id}
    assert listed(stage="nonsense") == {high.study_id, low.study_id, withdrawn.study_id}  # an invalid filter is ignored


def test_list_is_paginated_and_its_queries_do_not_grow(actors: Actors, document, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    for _ in range(30):
        make_patient(actors.coordinator_a, actors.hospital_a)
    client = client_of(actors.coordinator_a)
    # Session, user, scope (2), re-consent document, count, page: the same for 25 rows as for 1.
    with django_assert_max_num_queries(12):
        first = client.get(reverse("web-patient-list"), {"risk": "high"})
    assert text(first).count('href="/patients/AAA-') == 25
    assert "page=2" in text(first) and "risk=high" in text(first)  # the next page keeps the filters
    second = client.get(reverse("web-patient-list"), {"risk": "high", "page": 2})
    assert text(second).count('href="/patients/AAA-') == 5


def test_htmx_filter_request_gets_only_the_results(actors: Actors, patient: Patient, document) -> None:  # type: ignore[no-untyped-def]
    other = make_patient(actors.coordinator_a, actors.hospital_a, inrgss_stage="L1")
    response = client_of(actors.coordinator_a).get(reverse("web-patient-list"), {"stage": "M"}, headers={"hx-request": "true"})
    body = text(response)
    assert "<html" not in body and 'data-testid="patient-table"' in body
    assert patient.study_id in body and other.study_id not in body
    assert "HX-Request" in response["Vary"]


def test_anonymous_is_sent_to_login(actors: Actors, patient: Patient) -> None:
    for url in (reverse("web-patient-list"), reverse("web-patient-register"), detail(patient)):
        response = Client().get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --- registration --------------------------------------------------------------------------------------------

def registration(**overrides: str) -> dict[str, str]:
    data = {"hospital": "AAA", "name": "Wang Fang", "record_number": "MRN-NEW-1", "guardian1_name": "Wang Lei",
            "guardian1_phone": "13900001111", "sex": "F", "birth_date": "2019-03-15", "birth_date_precision": "day",
            "diagnosis_date": "2020-09-15", "primary_site": "adrenal", "inrgss_stage": "M", "inrg_risk": "high",
            "mycn": "amplified", "aberration_11q": "no", "ploidy": "diploid", "histology": "unfavourable"}
    data.update(overrides)
    return data


def test_registration_creates_the_patient_with_a_schedule_and_opens_its_page(actors: Actors) -> None:
    response = client_of(actors.coordinator_a).post(reverse("web-patient-register"), registration())
    patient = Patient.objects.get()
    assert response.status_code == 302 and response["Location"] == detail(patient)
    assert patient.hospital == actors.hospital_a and patient.inss_stage == "" and patient.visits.count() > 0


def test_duplicate_registration_is_refused_on_the_form_keeping_the_input(actors: Actors, patient: Patient) -> None:
    before = counts()
    response = client_of(actors.coordinator_a).post(reverse("web-patient-register"),
                                                    registration(record_number="MRN-A1", name="Typed Name"))
    assert response.status_code == 400
    body = text(response)
    assert f"Already registered as {patient.study_id}." in body  # the API's field message, next to the field
    assert 'id="id_record_number_error"' in body
    assert 'value="Typed Name"' in body and 'value="2019-03-15"' in body
    assert counts() == before


def test_registration_date_refusal_is_shown_next_to_the_field(actors: Actors) -> None:
    response = client_of(actors.coordinator_a).post(reverse("web-patient-register"),
                                                    registration(diagnosis_date="2018-01-01"))
    assert response.status_code == 400
    assert "The diagnosis date is before the date of birth." in text(response)
    assert 'id="id_diagnosis_date_error"' in text(response)
    assert not Patient.objects.exists()


def test_registration_offers_only_ones_own_hospitals(actors: Actors) -> None:
    response = client_of(actors.coordinator_a).post(reverse("web-patient-register"), registration(hospital="BBB"))
    assert response.status_code == 400 and not Patient.objects.exists()
    assert 'value="BBB"' not in text(client_of(actors.coordinator_a).get(reverse("web-patient-register")))


def test_roles_that_cannot_register_get_403(actors: Actors) -> None:
    for user in (actors.monitor_a, actors.nobody, actors.sponsor):
        assert client_of(user).get(reverse("web-patient-register")).status_code == 403
        assert client_of(user).post(reverse("web-patient-register"), registration()).status_code == 403
    assert not Patient.objects.exists()


# --- the patient page ----------------------------------------------------------------------------------------

def test_patient_page_shows_identity_demographics_disease_consent_and_timeline(actors: Actors, patient: Patient) -> None:
    record_visit(actors.coordinator_a, patient, 1)
    response = client_of(actors.coordinator_a).get(detail(patient))
    assert response.status_code == 200
    body = text(response)
    assert "Li Xiaohong" in body and "MRN-A1" in body
    assert "Adrenal" in body and "High" in body and "Amplified" in body
    assert "Valid consent" in body and "Registry consent v1.0" in body
    assert "window closed" in body  # visit 2's window (2021) closed long ago, before any daily sweep
    assert "Done" in body and f"?visit={visit(patient, 2).pk}" in body  # the next open visit can be entered
    assert 'data-testid="outcome"' in body


@pytest.mark.parametrize("name", ["monitor_a", "data_manager"])
def test_identifiers_only_for_the_patients_own_hospital_staff(actors: Actors, patient: Patient, name: str) -> None:
    response = client_of(getattr(actors, name)).get(detail(patient))
    assert response.status_code == 200
    assert "Li Xiaohong" not in text(response) and "MRN-A1" not in text(response)
    assert 'data-testid="identity-hidden"' in text(response)


def test_investigator_of_the_hospital_sees_identifiers(actors: Actors, patient: Patient) -> None:
    assert "Li Xiaohong" in text(client_of(actors.investigator_a).get(detail(patient)))


def test_patient_page_in_chinese_uses_the_code_lists_chinese_labels(actors: Actors, patient: Patient) -> None:
    client = client_of(actors.coordinator_a)
    body = text(client.get(detail(patient), headers={"accept-language": "zh-hans"}))
    assert "肾上腺" in body and "高危" in body  # code lists
    assert "知情同意记录" in body and "录入随访" in body  # the page's own strings, from the registry catalogue


def test_patient_page_queries_do_not_grow_with_visits_and_consents(actors: Actors, patient: Patient,
                                                                    django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    for number in range(1, 6):
        record_visit(actors.coordinator_a, patient, number)
    make_registry_consent(actors.coordinator_a, patient, document=make_document(version="2.0", effective_from=date(2015, 1, 1)),
                          signed_date=date(2021, 5, 1))
    client = client_of(actors.coordinator_a)
    with django_assert_max_num_queries(29):  # incl. the audited identity read, the imaging, trials and MIBG response panels
        assert client.get(detail(patient)).status_code == 200


def test_reconsent_and_adult_consent_indicators(actors: Actors, document) -> None:  # type: ignore[no-untyped-def]
    adult = consented_patient(actors.coordinator_a, actors.hospital_a, birth_date=date(2005, 1, 10),
                              diagnosis_date=date(2010, 2, 1))
    client = client_of(actors.coordinator_a)
    body = text(client.get(detail(adult)))
    assert 'data-testid="adult-consent-due"' in body and 'data-testid="reconsent-due"' not in body
    make_document(version="2.0", effective_from=date(2024, 1, 1), requires_reconsent=True)
    body = text(client.get(detail(adult)))
    assert 'data-testid="reconsent-due"' in body
    assert "Re-consent due" in text(client.get(reverse("web-patient-list"), {"consent": "reconsent_due"}))


# --- other hospitals: 404 everywhere, nothing written --------------------------------------------------------

@pytest.mark.parametrize("name", ["coordinator_b", "sponsor", "nobody"])
def test_other_hospitals_get_404_on_every_patient_url(actors: Actors, patient: Patient, name: str) -> None:
    record = patient.consents.get()
    client = client_of(getattr(actors, name))
    before = counts()
    urls = [detail(patient), reverse("web-patient-consent-record", args=[patient.study_id]),
            reverse("web-patient-consent-withdraw", args=[patient.study_id, record.pk]),
            reverse("web-patient-visit-enter", args=[patient.study_id]),
            reverse("web-patient-visit-missed", args=[patient.study_id, visit(patient, 1).pk])]
    for url in urls:
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"reason": "x", "visit_date": "2021-01-01", "vital_status": "alive",
                                 "withdrawn_on": "2021-01-01", "scope": "no_further_contact"}).status_code == 404, url
    assert counts() == before


def test_withdraw_url_of_another_patients_consent_is_404(actors: Actors, patient: Patient, document) -> None:  # type: ignore[no-untyped-def]
    other = consented_patient(actors.coordinator_a, actors.hospital_a)
    url = reverse("web-patient-consent-withdraw", args=[patient.study_id, other.consents.get().pk])
    assert client_of(actors.coordinator_a).get(url).status_code == 404


def test_monitor_may_read_but_not_act(actors: Actors, patient: Patient) -> None:
    client = client_of(actors.monitor_a)
    body = text(client.get(detail(patient)))
    assert reverse("web-patient-visit-enter", args=[patient.study_id]) not in body
    assert client.get(reverse("web-patient-visit-enter", args=[patient.study_id])).status_code == 403


# --- consent actions -----------------------------------------------------------------------------------------

def consent_data(document, **overrides: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    data = {"document": str(document.pk), "signer": "guardian", "guardian1_relationship": "mother",
            "guardian2_relationship": "father", "assent": "not_applicable", "signed_date": "2020-09-20",
            "witnessed_by": "Nurse Chen"}
    data.update(overrides)
    return data


def test_record_consent(actors: Actors, document) -> None:  # type: ignore[no-untyped-def]
    patient = make_patient(actors.coordinator_a, actors.hospital_a)
    url = reverse("web-patient-consent-record", args=[patient.study_id])
    assert client_of(actors.coordinator_a).get(url).status_code == 200
    response = client_of(actors.coordinator_a).post(url, consent_data(document))
    assert response.status_code == 302 and response["Location"] == detail(patient)
    record = ConsentRecord.objects.get(patient=patient)
    assert (record.guardian2_relationship, record.witnessed_by, record.signed_date) == ("father", "Nurse Chen", date(2020, 9, 20))


def test_consent_refusal_is_shown_next_to_the_field_keeping_the_input(actors: Actors, document) -> None:  # type: ignore[no-untyped-def]
    patient = make_patient(actors.coordinator_a, actors.hospital_a, birth_date=date(2010, 1, 1), diagnosis_date=date(2020, 1, 1))
    url = reverse("web-patient-consent-record", args=[patient.study_id])
    response = client_of(actors.coordinator_a).post(url, consent_data(document, signed_date="2020-02-01"))
    assert response.status_code == 400
    body = text(response)
    assert "assent is required from age 8" in body and 'id="id_assent_error"' in body
    assert 'value="Nurse Chen"' in body
    assert not ConsentRecord.objects.filter(patient=patient).exists()


def test_withdraw_consent_and_its_refusals(actors: Actors, patient: Patient) -> None:
    record = patient.consents.get()
    url = reverse("web-patient-consent-withdraw", args=[patient.study_id, record.pk])
    client = client_of(actors.coordinator_a)
    missing_reason = client.post(url, {"withdrawn_on": "2021-01-01", "scope": "no_further_contact", "reason": ""})
    assert missing_reason.status_code == 400 and 'id="id_reason_error"' in text(missing_reason)
    too_early = client.post(url, {"withdrawn_on": "2019-01-01", "scope": "no_further_contact", "reason": "moved away"})
    assert too_early.status_code == 400
    assert "The withdrawal date is before the consent was signed." in text(too_early)
    assert "moved away" in text(too_early)
    done = client.post(url, {"withdrawn_on": "2021-01-01", "scope": "withdraw_data_use", "reason": "moved away"})
    assert done.status_code == 302
    patient = refresh(patient)
    assert patient.contact_withdrawn_on == date(2021, 1, 1) and patient.data_use_withdrawn_on == date(2021, 1, 1)
    again = client.post(url, {"withdrawn_on": "2021-01-02", "scope": "no_further_contact", "reason": "again"})
    assert again.status_code == 400 and "already been withdrawn" in text(again)


# --- follow-up -----------------------------------------------------------------------------------------------

def test_enter_a_scheduled_visit(actors: Actors, patient: Patient) -> None:
    target = visit(patient, 1)
    url = reverse("web-patient-visit-enter", args=[patient.study_id])
    client = client_of(actors.coordinator_a)
    form_page = client.get(url, {"visit": target.pk})
    assert f'<option value="{target.pk}" selected>' in text(form_page)
    response = client.post(url, {"visit": str(target.pk), "visit_date": target.target_date.isoformat(),
                                 "vital_status": "alive", "disease_status": "CR"})
    assert response.status_code == 302
    target.refresh_from_db()
    assert (target.status, target.disease_status) == (FollowUpVisit.Status.DONE, "CR")


def test_enter_an_unscheduled_visit(actors: Actors, patient: Patient) -> None:
    before = patient.visits.count()
    response = client_of(actors.coordinator_a).post(reverse("web-patient-visit-enter", args=[patient.study_id]),
                                                    {"visit": "", "visit_date": "2021-02-02", "vital_status": "alive"})
    assert response.status_code == 302 and patient.visits.count() == before + 1


def test_visit_without_consent_is_refused_on_the_page(actors: Actors, document) -> None:  # type: ignore[no-untyped-def]
    patient = make_patient(actors.coordinator_a, actors.hospital_a)
    response = client_of(actors.coordinator_a).post(reverse("web-patient-visit-enter", args=[patient.study_id]),
                                                    {"visit": str(visit(patient, 1).pk), "visit_date": "2020-12-15",
                                                     "vital_status": "alive", "event_site": "typed site"})
    assert response.status_code == 400
    body = text(response)
    assert "Cannot accept follow-up entry: no registry consent has been recorded" in body
    assert 'data-testid="form-errors"' in body and 'value="typed site"' in body
    assert visit(patient, 1).status != FollowUpVisit.Status.DONE


def test_visit_field_refusal_names_the_field(actors: Actors, patient: Patient) -> None:
    response = client_of(actors.coordinator_a).post(reverse("web-patient-visit-enter", args=[patient.study_id]),
                                                    {"visit": "", "visit_date": "2021-02-02", "vital_status": "dead"})
    assert response.status_code == 400
    assert "A death date is required when the patient has died." in text(response)
    assert 'id="id_death_date_error"' in text(response)


def test_mark_a_visit_missed_needs_a_reason_and_only_an_open_visit(actors: Actors, patient: Patient) -> None:
    target = visit(patient, 1)
    url = reverse("web-patient-visit-missed", args=[patient.study_id, target.pk])
    client = client_of(actors.coordinator_a)
    assert url in text(client.get(detail(patient)))
    blank = client.post(url, {"reason": " "})
    assert blank.status_code == 400 and 'id="id_reason_error"' in text(blank)
    assert client.post(url, {"reason": "family unreachable"}).status_code == 302
    target.refresh_from_db()
    assert (target.status, target.missed_reason) == (FollowUpVisit.Status.MISSED, "family unreachable")
    again = client.post(url, {"reason": "twice"})
    assert again.status_code == 400 and "Only an open visit can be marked missed" in text(again)
