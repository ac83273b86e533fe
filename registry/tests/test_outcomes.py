"""Survival outcomes from diagnosis: OS (death) and EFS (relapse, progression or death), censored at last contact."""
from datetime import date

import pytest

from conftest import Actors
from registry.models import Patient
from registry.selectors import Outcome, outcomes, patients_for_research
from registry.services.consent import consent_withdraw
from registry.tests.builders import consented_patient, make_document, record_visit

DX = date(2020, 1, 10)


def days(d: date) -> int:
    return (d - DX).days


@pytest.fixture
def new_patient(actors: Actors):  # type: ignore[no-untyped-def]
    make_document()

    def build() -> Patient:
        return consented_patient(actors.coordinator_a, actors.hospital_a, birth_date=date(2018, 6, 1), diagnosis_date=DX)

    return build


def outcome_of(patient: Patient) -> Outcome:
    [result] = outcomes(Patient.objects.filter(pk=patient.pk))
    assert (result.patient_id, result.study_id) == (patient.pk, patient.study_id)
    return result


def test_alive_is_censored_at_last_contact(actors: Actors, new_patient) -> None:  # type: ignore[no-untyped-def]
    patient = new_patient()
    record_visit(actors.coordinator_a, patient, 1, visit_date=date(2020, 4, 10), disease_status="PR")
    record_visit(actors.coordinator_a, patient, 2, visit_date=date(2020, 7, 10), disease_status="CR",
                 last_contact_date=date(2020, 8, 1))
    result = outcome_of(patient)
    assert (result.os_days, result.os_event) == (days(date(2020, 8, 1)), False)
    assert (result.efs_days, result.efs_event) == (days(date(2020, 8, 1)), False)


def test_not_yet_followed_is_censored_at_diagnosis(new_patient) -> None:  # type: ignore[no-untyped-def]
    result = outcome_of(new_patient())
    assert (result.os_days, result.os_event, result.efs_days, result.efs_event) == (0, False, 0, False)


def test_death_is_an_event_for_both(actors: Actors, new_patient) -> None:  # type: ignore[no-untyped-def]
    patient = new_patient()
    record_visit(actors.coordinator_a, patient, 1, visit_date=date(2020, 4, 10), disease_status="SD")
    record_visit(actors.coordinator_a, patient, None, visit_date=date(2020, 6, 5), vital_status="dead",
                 death_date=date(2020, 6, 1), death_cause="sepsis")
    result = outcome_of(patient)
    assert (result.os_days, result.os_event) == (days(date(2020, 6, 1)), True)
    assert (result.efs_days, result.efs_event) == (days(date(2020, 6, 1)), True)


def test_relapse_then_alive(actors: Actors, new_patient) -> None:  # type: ignore[no-untyped-def]
    patient = new_patient()
    record_visit(actors.coordinator_a, patient, 1, visit_date=date(2020, 4, 10), disease_status="CR")
    record_visit(actors.coordinator_a, patient, 2, visit_date=date(2020, 7, 12), disease_status="relapse",
                 event_date=date(2020, 6, 28), event_site="bone marrow")
    record_visit(actors.coordinator_a, patient, 3, visit_date=date(2020, 10, 9), disease_status="PR")
    result = outcome_of(patient)
    assert (result.efs_days, result.efs_event) == (days(date(2020, 6, 28)), True)  # at the relapse, not the visit
    assert (result.os_days, result.os_event) == (days(date(2020, 10, 9)), False)  # censored at last contact


def test_progression_without_a_date_counts_at_the_visit(actors: Actors, new_patient) -> None:  # type: ignore[no-untyped-def]
    patient = new_patient()
    record_visit(actors.coordinator_a, patient, 1, visit_date=date(2020, 4, 14), disease_status="PD")
    record_visit(actors.coordinator_a, patient, 2, visit_date=date(2020, 7, 10), disease_status="SD")
    result = outcome_of(patient)
    assert (result.efs_days, result.efs_event) == (days(date(2020, 4, 14)), True)
    assert (result.os_days, result.os_event) == (days(date(2020, 7, 10)), False)


def test_relapse_then_death(actors: Actors, new_patient) -> None:  # type: ignore[no-untyped-def]
    patient = new_patient()
    record_visit(actors.coordinator_a, patient, 1, visit_date=date(2020, 4, 10), disease_status="relapse",
                 event_date=date(2020, 3, 30))
    record_visit(actors.coordinator_a, patient, 2, visit_date=date(2020, 7, 20), vital_status="dead",
                 death_date=date(2020, 7, 2), disease_status="PD")
    result = outcome_of(patient)
    assert (result.efs_days, result.efs_event) == (days(date(2020, 3, 30)), True)
    assert (result.os_days, result.os_event) == (days(date(2020, 7, 2)), True)


def test_outcomes_for_a_cohort_and_the_research_filter(actors: Actors, new_patient) -> None:  # type: ignore[no-untyped-def]
    alive, dead, withdrawn = new_patient(), new_patient(), new_patient()
    record_visit(actors.coordinator_a, alive, 1, visit_date=date(2020, 4, 10))
    record_visit(actors.coordinator_a, dead, 1, visit_date=date(2020, 4, 10), vital_status="dead",
                 death_date=date(2020, 4, 1))
    consent_withdraw(actor=actors.coordinator_a, consent=withdrawn.consents.get(), withdrawn_on=date(2020, 2, 1),
                     scope="withdraw_data_use", reason="parents' request")
    results = {o.study_id: o for o in outcomes(patients_for_research(user=actors.coordinator_a, on=date(2024, 1, 1)))}
    assert set(results) == {alive.study_id, dead.study_id}
    assert (results[alive.study_id].os_event, results[dead.study_id].os_event) == (False, True)
    assert outcomes(patients_for_research(user=actors.coordinator_b, on=date(2024, 1, 1))) == []
