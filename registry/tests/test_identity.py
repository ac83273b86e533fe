"""Personal identifiers: encrypted at rest, readable only by own-hospital staff, never in the trail or the logs."""
import json
import logging

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import Actors
from registry import identity_crypto
from registry.errors import ApplicationError
from registry.identity_crypto import IdentityKeyError
from registry.models import AuditEvent, Patient, PatientIdentity
from registry.services.patients import identity_read, identity_update
from registry.tests.builders import counts, events_after, identity, last_seq, make_patient, refresh

NAME = "王小明"
NAME_LATIN = "Wang Xiaoming"
RECORD = "ZY-20240117-88"
PHONE = "13912345678"


@pytest.fixture(autouse=True)
def _fresh_fernet_cache():  # type: ignore[no-untyped-def]
    identity_crypto._fernet.cache_clear()
    yield
    identity_crypto._fernet.cache_clear()


@pytest.fixture
def ident() -> dict[str, str]:
    return {"name": NAME, "record_number": RECORD, "national_id": "110101201801010011",
            "guardian1_name": NAME_LATIN, "guardian1_phone": PHONE}


@pytest.fixture
def patient(actors: Actors, ident: dict[str, str]) -> Patient:
    return make_patient(actors.coordinator_a, actors.hospital_a, ident=ident)


def _raw_rows(sql: str, params: list[object]) -> str:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return " ".join(str(value) for row in cursor.fetchall() for value in row)


SECRETS = (NAME, NAME_LATIN, RECORD, PHONE, "110101201801010011")


def _assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"identifier {secret!r} leaked"


def test_database_holds_only_ciphertext(patient: Patient) -> None:
    stored = _raw_rows("SELECT ciphertext FROM registry_patientidentity WHERE patient_id = %s", [patient.pk])
    assert stored.startswith("gAAAA")  # a Fernet token
    _assert_no_secret(stored)
    # Nor does the patient row carry the record number (only its keyed hash).
    _assert_no_secret(_raw_rows("SELECT * FROM registry_patient WHERE id = %s", [patient.pk]))
    assert identity_crypto.decrypt(stored)["name"] == NAME


def test_record_number_hash_is_keyed_and_normalised(settings) -> None:  # type: ignore[no-untyped-def]
    h = identity_crypto.record_number_hash("AAA", "zy-20240117-88")
    assert h == identity_crypto.record_number_hash("AAA", "ＺＹ－２０２４０１１７－８８")
    assert h == identity_crypto.record_number_hash("AAA", " zy-2024 0117-88 ")
    assert h != identity_crypto.record_number_hash("BBB", "ZY-20240117-88")
    assert RECORD not in h
    settings.PATIENT_HASH_KEY = "another-key"
    assert identity_crypto.record_number_hash("AAA", RECORD) != h


def test_a_wrong_key_fails_loudly(actors: Actors, patient: Patient, settings) -> None:  # type: ignore[no-untyped-def]
    settings.PATIENT_IDENTITY_KEYS = [Fernet.generate_key().decode()]
    identity_crypto._fernet.cache_clear()
    start = last_seq()
    with pytest.raises(IdentityKeyError) as err:
        identity_read(actor=actors.coordinator_a, patient=patient)
    _assert_no_secret(str(err.value))
    assert events_after(start) == []  # the read event rolls back with the failed read


def test_a_malformed_key_is_a_configuration_error(settings) -> None:  # type: ignore[no-untyped-def]
    from django.core.exceptions import ImproperlyConfigured

    settings.PATIENT_IDENTITY_KEYS = ["not-a-fernet-key"]
    with pytest.raises(ImproperlyConfigured):
        identity_crypto.encrypt({"name": NAME})
    settings.PATIENT_IDENTITY_KEYS = []
    with pytest.raises(ImproperlyConfigured):
        identity_crypto.encrypt({"name": NAME})


def test_key_rotation(actors: Actors, patient: Patient, ident: dict[str, str], settings) -> None:  # type: ignore[no-untyped-def]
    old_key = settings.PATIENT_IDENTITY_KEYS[0]
    new_key = Fernet.generate_key().decode()
    old_token = PatientIdentity.objects.get(patient=patient).ciphertext

    settings.PATIENT_IDENTITY_KEYS = [new_key, old_key]  # new one first: encrypts; both decrypt
    assert identity_read(actor=actors.coordinator_a, patient=patient)["name"] == NAME
    new_token = identity_crypto.rotate(old_token)
    assert new_token != old_token
    assert identity_crypto.decrypt(new_token) == identity_crypto.decrypt(old_token)

    settings.PATIENT_IDENTITY_KEYS = [new_key]  # old key dropped
    assert identity_crypto.decrypt(new_token)["record_number"] == RECORD
    with pytest.raises(IdentityKeyError):
        identity_crypto.decrypt(old_token)
    with pytest.raises(IdentityKeyError):
        identity_crypto.rotate(old_token)
    # New writes are encrypted under the first key only.
    assert Fernet(new_key.encode()).decrypt(identity_crypto.encrypt({"x": "y"}).encode()) == b'{"x": "y"}'


def test_identity_never_appears_in_the_audit_trail(actors: Actors, patient: Patient, ident: dict[str, str]) -> None:
    identity_read(actor=actors.coordinator_a, patient=patient)
    identity_update(actor=actors.coordinator_a, patient=patient, reason="typo",
                    changes={"guardian1_phone": "13800000000", "record_number": RECORD + "-X"})
    with pytest.raises(ApplicationError):  # a failed duplicate registration
        make_patient(actors.coordinator_a, actors.hospital_a, ident={**ident, "record_number": RECORD + "-X"})
    events = list(AuditEvent.objects.all())
    assert {e.action for e in events} >= {"create", "view_identity", "update", "schedule"}
    text = " ".join(json.dumps([e.before, e.after, e.reason, e.object_id], ensure_ascii=False) for e in events)
    _assert_no_secret(text)
    assert "13800000000" not in text
    assert PatientIdentity.objects.get(patient=patient).ciphertext not in text
    update = AuditEvent.objects.get(action="update", object_type="registry.patientidentity")
    assert update.before == {"fields": ["guardian1_phone", "record_number"]}
    assert update.after == {"fields": ["guardian1_phone", "record_number"], "values": "[redacted]"}


@pytest.mark.parametrize("reader", ["coordinator_a", "investigator_a"])
def test_own_hospital_staff_read_the_identity_and_each_read_is_recorded(actors: Actors, patient: Patient,
                                                                         ident: dict[str, str], reader: str) -> None:
    user = getattr(actors, reader)
    start = last_seq()
    data = identity_read(actor=user, patient=patient)
    assert data["name"] == NAME and data["record_number"] == RECORD and data["guardian1_phone"] == PHONE
    identity_read(actor=user, patient=patient)
    events = events_after(start)
    assert [e.action for e in events] == ["view_identity", "view_identity"]
    assert all(e.actor == user and e.object_type == "registry.patientidentity" for e in events)
    assert all(e.hospital_id == actors.hospital_a.pk for e in events)


@pytest.mark.parametrize("reader", ["coordinator_b", "monitor_a", "data_manager", "nobody"])
def test_others_cannot_read_the_identity(actors: Actors, patient: Patient, reader: str) -> None:
    start = last_seq()
    with pytest.raises(ApplicationError) as err:
        identity_read(actor=getattr(actors, reader), patient=patient)
    assert err.value.code == "not_found"
    assert events_after(start) == []


def _capture_everything(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django.db.backends")


def test_identity_not_in_logs_during_registration(actors: Actors, ident: dict[str, str],
                                                  caplog: pytest.LogCaptureFixture) -> None:
    _capture_everything(caplog)
    with CaptureQueriesContext(connection):  # also log every SQL statement with its parameters
        make_patient(actors.coordinator_a, actors.hospital_a, ident=ident)
    assert "registry_patientidentity" in caplog.text  # the statements were captured...
    _assert_no_secret(caplog.text)  # ...and carry no identifier


def test_identity_not_in_logs_during_a_failed_duplicate_registration(actors: Actors, patient: Patient,
                                                                     ident: dict[str, str],
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    _capture_everything(caplog)
    with CaptureQueriesContext(connection), pytest.raises(ApplicationError) as err:
        make_patient(actors.investigator_a, actors.hospital_a, ident={**ident, "record_number": RECORD.lower()})
    assert err.value.code == "duplicate_patient"
    assert "registry_patient" in caplog.text
    _assert_no_secret(caplog.text)
    _assert_no_secret(f"{err.value} {err.value.fields}")


# --- identity_update -------------------------------------------------------------------------------

def test_changing_the_record_number_moves_the_duplicate_check(actors: Actors, patient: Patient) -> None:
    old_hash = patient.record_number_hash
    identity_update(actor=actors.coordinator_a, patient=patient, changes={"record_number": "ZY-NEW-1"},
                    reason="wrong chart")
    assert refresh(patient).record_number_hash == identity_crypto.record_number_hash("AAA", "ZY-NEW-1") != old_hash
    assert identity_read(actor=actors.coordinator_a, patient=patient)["record_number"] == "ZY-NEW-1"
    # The new number (however typed) is now taken; the old one is free again.
    with pytest.raises(ApplicationError) as err:
        make_patient(actors.coordinator_a, actors.hospital_a, ident=identity(record_number="ｚｙ-new-1 "))
    assert err.value.code == "duplicate_patient"
    assert make_patient(actors.coordinator_a, actors.hospital_a, ident=identity(record_number=RECORD)).study_id == "AAA-00002"


def test_changing_the_record_number_to_anothers_is_refused(actors: Actors, patient: Patient) -> None:
    other = make_patient(actors.coordinator_a, actors.hospital_a, ident=identity(record_number="ZY-OTHER"))
    stored = PatientIdentity.objects.get(patient=patient).ciphertext
    before = counts()
    with pytest.raises(ApplicationError) as err:
        identity_update(actor=actors.coordinator_a, patient=patient, changes={"record_number": "zy-other"},
                        reason="merge")
    assert err.value.code == "duplicate_patient" and "record_number" in err.value.fields
    assert other.study_id in err.value.message
    assert PatientIdentity.objects.get(patient=patient).ciphertext == stored
    assert refresh(patient).record_number_hash == patient.record_number_hash
    assert counts() == before


def test_identity_update_of_a_name_keeps_the_hash_and_records_the_field(actors: Actors, patient: Patient) -> None:
    start = last_seq()
    identity_update(actor=actors.coordinator_a, patient=patient, changes={"name": "王晓明"}, reason="spelling")
    assert identity_read(actor=actors.coordinator_a, patient=patient)["name"] == "王晓明"
    assert refresh(patient).record_number_hash == patient.record_number_hash
    update, _read = events_after(start)
    assert update.before == {"fields": ["name"]} and update.reason == "spelling"


def test_identity_update_rules(actors: Actors, patient: Patient) -> None:
    with pytest.raises(ApplicationError) as err:
        identity_update(actor=actors.coordinator_a, patient=patient, changes={"name": "x"}, reason=" ")
    assert err.value.code == "reason_required"
    with pytest.raises(ApplicationError) as err:
        identity_update(actor=actors.coordinator_a, patient=patient, changes={"address": "x"}, reason="r")
    assert "address" in err.value.fields
    with pytest.raises(ApplicationError) as err:
        identity_update(actor=actors.coordinator_a, patient=patient, changes={"name": ""}, reason="r")
    assert "name" in err.value.fields
    start = last_seq()
    identity_update(actor=actors.coordinator_a, patient=patient, changes={"name": NAME}, reason="no change")
    assert events_after(start) == []


@pytest.mark.parametrize("actor", ["coordinator_b", "monitor_a", "data_manager", "investigator_a", "nobody"])
def test_identity_update_is_for_own_hospital_coordinators(actors: Actors, patient: Patient, actor: str) -> None:
    stored = PatientIdentity.objects.get(patient=patient).ciphertext
    with pytest.raises(ApplicationError) as err:
        identity_update(actor=getattr(actors, actor), patient=patient, changes={"name": "X"}, reason="r")
    assert err.value.code == "out_of_scope"
    assert PatientIdentity.objects.get(patient=patient).ciphertext == stored
