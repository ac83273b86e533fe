from datetime import date

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command

from conftest import Actors
from registry import identity_crypto
from registry.models import AuditEvent, PatientIdentity
from registry.services.patients import identity_read, patient_register


@pytest.fixture
def fresh_keys():  # type: ignore[no-untyped-def]
    identity_crypto._fernet.cache_clear()
    yield
    identity_crypto._fernet.cache_clear()


def test_rotation_command_re_encrypts_under_the_new_key(actors: Actors, settings, fresh_keys) -> None:  # type: ignore[no-untyped-def]
    old = settings.PATIENT_IDENTITY_KEYS[0]
    patient = patient_register(actor=actors.coordinator_a, hospital=actors.hospital_a,
                               identity={"name": "Rotating Child", "record_number": "ROT-1"}, sex="M",
                               birth_date=date(2020, 1, 1), diagnosis_date=date(2021, 1, 1), primary_site="adrenal",
                               inrgss_stage="M", inrg_risk="high", mycn="amplified", aberration_11q="no", ploidy="diploid",
                               histology="unfavourable")
    before = PatientIdentity.objects.get(patient=patient).ciphertext
    new = Fernet.generate_key().decode()
    settings.PATIENT_IDENTITY_KEYS = [new, old]
    call_command("rotate_identity_keys")
    after = PatientIdentity.objects.get(patient=patient).ciphertext
    assert after != before and AuditEvent.objects.filter(action="rotate_key").count() == 1
    settings.PATIENT_IDENTITY_KEYS = [new]  # the old key is gone and the identity still reads
    assert identity_read(actor=actors.coordinator_a, patient=patient)["name"] == "Rotating Child"
    settings.PATIENT_IDENTITY_KEYS = [old]  # and the old key alone no longer does
    with pytest.raises(identity_crypto.IdentityKeyError):
        identity_read(actor=actors.coordinator_a, patient=patient)
