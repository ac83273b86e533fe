"""E-signatures: password re-entry (refusals audited, counted by the lockout), who may sign, voiding on edit, one valid
signature per signer and meaning."""
import threading

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, connection, transaction
from django.test import override_settings

from conftest import PASSWORD, Actors
from registry.errors import ApplicationError
from registry.models import AuditEvent, Patient
from registry.tests.builders import consented_patient
from trials.oversight.models import Signature
from trials.oversight.services.signatures import (
    require_reason_if_signed,
    signature_matches_record,
    signature_sign,
    valid_signatures,
    void_for_edit,
)

pytestmark = pytest.mark.django_db
MEANING = Signature.Meaning.ASSESSED
URL = "/api/v1/oversight/signatures/"


@pytest.fixture
def patient(actors: Actors) -> Patient:
    return consented_patient(actors.coordinator_a, actors.hospital_a)


def sign(actor, record, password=PASSWORD):  # type: ignore[no-untyped-def]
    return signature_sign(actor=actor, content_type=ContentType.objects.get_for_model(record), object_id=record.pk,
                          meaning=MEANING, password=password)


def test_signing_records_printed_name_time_meaning_and_content_hash(actors: Actors, patient: Patient) -> None:
    actors.investigator_a.first_name, actors.investigator_a.last_name = "Li", "Hua"
    actors.investigator_a.save()
    signature = sign(actors.investigator_a, patient)
    assert signature.printed_name == "Li Hua" and signature.meaning == MEANING and signature.status == "valid"
    assert signature.hospital_id == actors.hospital_a.pk and len(signature.content_hash) == 64
    assert signature_matches_record(signature)
    event = AuditEvent.objects.get(action="sign", object_id=str(signature.pk))
    assert event.actor == actors.investigator_a and event.hospital_id == actors.hospital_a.pk


def test_wrong_password_is_refused_and_audited(actors: Actors, patient: Patient) -> None:
    with pytest.raises(ApplicationError) as refused:
        sign(actors.investigator_a, patient, password="not-my-password")
    assert refused.value.code == "signature_refused"
    assert not Signature.objects.exists()
    event = AuditEvent.objects.get(action="signature_refused")
    assert event.object_type == "registry.patient" and event.object_id == str(patient.pk)
    assert event.after["why"] == "wrong password"


def test_wrong_password_through_the_api_is_400_and_audited(actors: Actors, patient: Patient, client_for) -> None:  # type: ignore[no-untyped-def]
    response = client_for(actors.investigator_a).post(URL, {"record_type": "registry.patient", "object_id": patient.pk,
                                                            "meaning": MEANING, "password": "nope"}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "signature_refused"
    assert AuditEvent.objects.filter(action="signature_refused", actor=actors.investigator_a).count() == 1


@override_settings(AXES_ENABLED=True)
def test_wrong_passwords_count_towards_the_lockout(actors: Actors, patient: Patient, client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for(actors.investigator_a)
    body = {"record_type": "registry.patient", "object_id": patient.pk, "meaning": MEANING}
    for _ in range(5):
        client.post(URL, {**body, "password": "wrong"}, format="json")
    locked = client.post(URL, {**body, "password": PASSWORD}, format="json")
    # Locked out even with the right password: the lock-out page (429), nothing signed, the attempt audited.
    assert locked.status_code == 429
    assert not Signature.objects.exists()
    assert AuditEvent.objects.filter(action="signature_refused").count() == 6
    assert AuditEvent.objects.filter(action="signature_refused").order_by("-seq").first().after["why"] == "locked out"


def test_only_an_investigator_of_the_records_hospital_signs(actors: Actors, patient: Patient) -> None:
    for actor in (actors.coordinator_a, actors.monitor_a, actors.data_manager):
        with pytest.raises(ApplicationError) as refused:
            sign(actor, patient)
        assert refused.value.code == "not_allowed"
    with pytest.raises(ApplicationError) as hidden:
        sign(actors.coordinator_b, patient)
    assert hidden.value.code == "not_found"
    assert not Signature.objects.exists()


def test_api_signing_answers_201_with_the_signature(actors: Actors, patient: Patient, client_for) -> None:  # type: ignore[no-untyped-def]
    response = client_for(actors.investigator_a).post(URL, {"record_type": "registry.patient", "object_id": patient.pk,
                                                            "meaning": MEANING, "password": PASSWORD}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "valid" and response.json()["record_type"] == "registry.patient"
    assert "content" not in response.json()


def test_edit_of_a_signed_record_needs_a_reason_and_voids_the_signature(actors: Actors, patient: Patient) -> None:
    assert require_reason_if_signed(patient, "") == ""  # unsigned: no reason needed
    signature = sign(actors.investigator_a, patient)
    with pytest.raises(ApplicationError) as refused:
        require_reason_if_signed(patient, "  ")
    assert refused.value.code == "reason_required"
    with transaction.atomic():
        assert void_for_edit(patient, actor=actors.coordinator_a, reason="stage corrected") == 1
    signature.refresh_from_db()
    assert signature.status == "voided" and signature.void_reason == "stage corrected" and signature.voided_at
    assert not valid_signatures(patient).exists()
    event = AuditEvent.objects.get(action="void_signature")
    assert event.reason == "stage corrected" and event.before["status"] == "valid" and event.after["status"] == "voided"
    # Voiding twice voids nothing more and writes no second event.
    assert void_for_edit(patient, actor=actors.coordinator_a, reason="again") == 0
    assert AuditEvent.objects.filter(action="void_signature").count() == 1


def test_an_edit_outside_the_services_shows_as_a_content_mismatch(actors: Actors, patient: Patient) -> None:
    signature = sign(actors.investigator_a, patient)
    Patient.objects.filter(pk=patient.pk).update(primary_site="thorax")
    assert not signature_matches_record(Signature.objects.get(pk=signature.pk))


def test_an_investigator_signs_a_subjects_casebook(actors: Actors) -> None:
    from trials.safety.tests.helpers import make_subject, make_trial

    subject = make_subject(actors.coordinator_a, actors.hospital_a, make_trial())
    signature = signature_sign(actor=actors.investigator_a, content_type=ContentType.objects.get_for_model(subject),
                               object_id=subject.pk, meaning=Signature.Meaning.CASEBOOK_APPROVED, password=PASSWORD)
    assert (signature.hospital_id, signature.trial_id) == (actors.hospital_a.pk, subject.trial_id)
    assert signature.get_meaning_display() == "Casebook reviewed and approved by investigator"
    assert signature.content["subject_number"] == subject.subject_number


def test_a_second_signature_with_the_same_meaning_is_refused(actors: Actors, patient: Patient) -> None:
    first = sign(actors.investigator_a, patient)
    with pytest.raises(ApplicationError) as refused:
        sign(actors.investigator_a, patient)
    assert refused.value.code == "already_signed" and "already signed" in refused.value.message
    assert list(valid_signatures(patient)) == [first]
    # Refused before the password check: nothing is audited as a failed attempt.
    assert not AuditEvent.objects.filter(action="signature_refused").exists()


def test_after_an_edit_the_new_version_can_be_signed_again(actors: Actors, patient: Patient) -> None:
    first = sign(actors.investigator_a, patient)
    with transaction.atomic():
        void_for_edit(patient, actor=actors.coordinator_a, reason="stage corrected")
    second = sign(actors.investigator_a, patient)
    first.refresh_from_db()
    assert first.status == Signature.Status.VOIDED and list(valid_signatures(patient)) == [second]


def test_the_database_holds_one_valid_signature_per_signer_and_meaning(actors: Actors, patient: Patient) -> None:
    first = sign(actors.investigator_a, patient)
    first.pk = None
    with pytest.raises(IntegrityError), transaction.atomic():
        first.save()
    first.status = Signature.Status.VOIDED  # voided copies do not count
    first.save()
    assert Signature.objects.filter(object_id=patient.pk).count() == 2


def test_the_api_refuses_a_second_signature_with_its_code(actors: Actors, patient: Patient, client_for) -> None:  # type: ignore[no-untyped-def]
    body = {"record_type": "registry.patient", "object_id": patient.pk, "meaning": MEANING, "password": PASSWORD}
    client = client_for(actors.investigator_a)
    assert client.post(URL, body, format="json").status_code == 201
    response = client.post(URL, body, format="json")
    assert response.status_code == 400 and response.json()["code"] == "already_signed"
    assert Signature.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_threads_signing_at_once_give_one_signature(on_postgres, reference_rows: None, actors: Actors, patient: Patient) -> None:  # type: ignore[no-untyped-def]
    barrier, codes = threading.Barrier(2), []

    def attempt() -> None:
        try:
            barrier.wait()
            sign(actors.investigator_a, patient)
            codes.append("signed")
        except ApplicationError as error:
            codes.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == ["already_signed", "signed"]
    assert valid_signatures(patient).count() == 1
