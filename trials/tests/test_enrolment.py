"""Enrolment: every refusal names its reason; a successful one numbers the subject and generates its visits."""
from datetime import date

import pytest
from django.utils import timezone

from conftest import Actors
from registry.errors import ApplicationError
from registry.models import AuditEvent, ConsentRecord
from registry.services.consent import consent_withdraw
from registry.tests.builders import make_patient, make_registry_consent
from trials.models import Subject, SubjectVisit, Trial
from trials.services import setup
from trials.services.enrolment import subject_enrol, subject_status_change
from trials.tests.builders import TODAY, enrol, make_trial, make_trial_consent, ready_patient, screen, site_of, trial_document


@pytest.fixture
def trial(actors: Actors) -> Trial:
    return make_trial(actors.data_manager, [actors.hospital_a, actors.hospital_b])


def refusal(actors: Actors, trial: Trial, patient, hospital=None, **kwargs) -> ApplicationError:  # type: ignore[no-untyped-def]
    hospital = hospital or actors.hospital_a
    before = Subject.objects.count()
    with pytest.raises(ApplicationError) as caught:
        subject_enrol(actor=actors.coordinator_a, trial=trial, site=site_of(trial, hospital), patient=patient,
                      today=kwargs.pop("today", TODAY), **kwargs)
    assert Subject.objects.count() == before
    return caught.value


def test_enrolment_numbers_the_subject_and_generates_visits(actors: Actors, trial: Trial) -> None:
    subject = enrol(actors.coordinator_a, trial, actors.hospital_a)
    assert subject.subject_number == "NB-T1-01-001" and subject.arm.code == "A" and subject.status == "enrolled"
    second = enrol(actors.coordinator_b, trial, actors.hospital_b)
    assert second.subject_number == "NB-T1-02-002"
    visits = {v.definition.code: v for v in SubjectVisit.objects.filter(subject=subject).select_related("definition")}
    enrolled = timezone.localdate(subject.enrolled_at)  # the visit plan counts in the hospital's days
    assert visits["SCR"].target_date == enrolled and visits["SCR"].status == "scheduled"
    w4 = visits["W4"]
    assert (w4.target_date - enrolled).days == 28
    assert ((w4.target_date - w4.window_start).days, (w4.window_end - w4.target_date).days) == (3, 3)
    assert visits["PET"].target_date is None and visits["PET"].status == "awaiting_dosing"
    assert AuditEvent.objects.filter(object_type="trials.subject", action="enrol", object_id=str(subject.pk)).count() == 1


def test_refused_when_the_site_is_not_active(actors: Actors, trial: Trial) -> None:
    patient = ready_patient(actors.coordinator_a, trial, actors.hospital_a)
    setup.trial_site_update(actor=actors.data_manager, site=site_of(trial, actors.hospital_a),
                            data={"closed_on": date(2026, 6, 20)}, reason="site closed")
    error = refusal(actors, trial, patient)
    assert error.code == "site_not_active" and "site 01" in error.message


def test_refused_before_the_site_is_activated(actors: Actors) -> None:
    trial = make_trial(actors.data_manager, [actors.hospital_a], activated_on=date(2026, 7, 15))
    patient = ready_patient(actors.coordinator_a, trial, actors.hospital_a)
    assert refusal(actors, trial, patient).code == "site_not_active"


def test_refused_when_the_trial_is_not_recruiting(actors: Actors, trial: Trial) -> None:
    patient = ready_patient(actors.coordinator_a, trial, actors.hospital_a)
    setup.trial_transition(actor=actors.data_manager, trial=trial, to="suspended", reason="safety review")
    error = refusal(actors, trial, patient)
    assert error.code == "trial_not_recruiting" and "suspended" in error.message


def test_refused_without_screening(actors: Actors, trial: Trial) -> None:
    patient = make_patient(actors.coordinator_a, actors.hospital_a)
    make_registry_consent(actors.coordinator_a, patient)
    make_trial_consent(actors.coordinator_a, patient, trial)
    error = refusal(actors, trial, patient)
    assert error.code == "no_eligible_screening" and "not been screened" in error.message


def test_refused_after_a_screen_failure_naming_the_failed_criteria(actors: Actors, trial: Trial) -> None:
    patient = make_patient(actors.coordinator_a, actors.hospital_a)
    make_registry_consent(actors.coordinator_a, patient)
    make_trial_consent(actors.coordinator_a, patient, trial)
    screen(actors.coordinator_a, trial, site_of(trial, actors.hospital_a), patient, failing=("I2", "E1"))
    error = refusal(actors, trial, patient)
    assert error.code == "no_eligible_screening" and "I2, E1" in error.message


def test_refused_without_a_consent_of_this_trial(actors: Actors, trial: Trial) -> None:
    other = make_trial(actors.data_manager, [actors.hospital_a], code="NB-T2")
    patient = make_patient(actors.coordinator_a, actors.hospital_a)
    make_registry_consent(actors.coordinator_a, patient)
    make_trial_consent(actors.coordinator_a, patient, other)  # consent to another trial does not count
    screen(actors.coordinator_a, trial, site_of(trial, actors.hospital_a), patient)
    error = refusal(actors, trial, patient)
    assert error.code == "consent_missing" and "no trial consent" in error.message


def test_refused_after_the_trial_consent_was_withdrawn(actors: Actors, trial: Trial) -> None:
    patient = ready_patient(actors.coordinator_a, trial, actors.hospital_a)
    record = ConsentRecord.objects.get(patient=patient, document__trial_id=trial.pk)
    consent_withdraw(actor=actors.coordinator_a, consent=record, withdrawn_on=date(2026, 6, 15),
                     scope="no_further_contact", reason="family decision", today=TODAY)
    error = refusal(actors, trial, patient)
    assert error.code == "consent_missing" and "withdrawn" in error.message


def test_refused_when_the_child_reached_the_assent_age_after_signing(actors: Actors, trial: Trial) -> None:
    # 7 when the guardian signed (assent not applicable), 8 at enrolment: version 1.0 needs assent from 8.
    patient = make_patient(actors.coordinator_a, actors.hospital_a, birth_date=date(2018, 6, 20), diagnosis_date=date(2020, 1, 1))
    make_registry_consent(actors.coordinator_a, patient)
    make_trial_consent(actors.coordinator_a, patient, trial, signed_date=date(2026, 6, 1), assent="not_applicable")
    screen(actors.coordinator_a, trial, site_of(trial, actors.hospital_a), patient)
    error = refusal(actors, trial, patient)
    assert error.code == "assent_missing" and "from age 8" in error.message


def test_assent_given_at_signing_is_enough(actors: Actors, trial: Trial) -> None:
    patient = make_patient(actors.coordinator_a, actors.hospital_a, birth_date=date(2014, 1, 1), diagnosis_date=date(2020, 1, 1))
    make_registry_consent(actors.coordinator_a, patient)
    make_trial_consent(actors.coordinator_a, patient, trial, document=trial_document(trial), assent="given")
    screen(actors.coordinator_a, trial, site_of(trial, actors.hospital_a), patient)
    assert subject_enrol(actor=actors.coordinator_a, trial=trial, site=site_of(trial, actors.hospital_a), patient=patient,
                         today=TODAY).pk


def test_refused_when_already_enrolled(actors: Actors, trial: Trial) -> None:
    subject = enrol(actors.coordinator_a, trial, actors.hospital_a)
    error = refusal(actors, trial, subject.patient)
    assert error.code == "already_enrolled"


def test_refused_at_a_site_of_another_hospital(actors: Actors, trial: Trial) -> None:
    patient = ready_patient(actors.coordinator_a, trial, actors.hospital_a)
    error = refusal(actors, trial, patient, hospital=actors.hospital_b)
    assert error.code == "patient_not_at_site"


def test_a_coordinator_cannot_enrol_at_another_hospital(actors: Actors, trial: Trial) -> None:
    patient = ready_patient(actors.coordinator_b, trial, actors.hospital_b)
    with pytest.raises(ApplicationError) as caught:
        subject_enrol(actor=actors.coordinator_a, trial=trial, site=site_of(trial, actors.hospital_b), patient=patient, today=TODAY)
    assert caught.value.code == "out_of_scope"
    assert not Subject.objects.exists()


def test_error_messages_name_no_identifier(actors: Actors, trial: Trial) -> None:
    patient = make_patient(actors.coordinator_a, actors.hospital_a, ident={"name": "Li Lei", "record_number": "MRN-LEAK-1"})
    error = refusal(actors, trial, patient)
    assert "Li Lei" not in error.message and "MRN-LEAK-1" not in error.message


def test_a_subject_ends_participation_once_with_a_reason(actors: Actors, trial: Trial) -> None:
    subject = enrol(actors.coordinator_a, trial, actors.hospital_a)
    with pytest.raises(ApplicationError) as caught:
        subject_status_change(actor=actors.coordinator_a, subject=subject, to="withdrawn", reason="")
    assert caught.value.code == "reason_required"
    with pytest.raises(ApplicationError) as caught:
        subject_status_change(actor=actors.coordinator_b, subject=subject, to="withdrawn", reason="moved")
    assert caught.value.code == "out_of_scope"
    assert subject_status_change(actor=actors.coordinator_a, subject=subject, to="withdrawn", reason="moved").status == "withdrawn"
    with pytest.raises(ApplicationError) as caught:
        subject_status_change(actor=actors.coordinator_a, subject=subject, to="completed", reason="done")
    assert caught.value.code == "invalid_transition"
    assert AuditEvent.objects.filter(object_type="trials.subject", action="status", reason="moved").count() == 1
