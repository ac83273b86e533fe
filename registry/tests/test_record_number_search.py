"""Finding a patient by hospital record number (issue 17): for the patient's own hospital staff, through the keyed hash
(the typed number is hashed as at registration and compared; there is no plaintext column), never in the address
bar, the logs or the audit trail."""
import json
import logging

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conftest import Actors
from registry.models import AuditEvent, Patient
from registry.services.patients import patient_find_by_record_number
from registry.tests.builders import identity, make_patient

pytestmark = pytest.mark.django_db
NUMBER = "MRN-0042137"
FIND = reverse("web-patient-find")


@pytest.fixture
def patient_a(actors: Actors) -> Patient:
    return make_patient(actors.coordinator_a, actors.hospital_a, ident=identity(record_number=NUMBER))


def _client(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def test_own_hospital_staff_find_the_patient_typed_loosely(actors: Actors, patient_a: Patient) -> None:
    for actor in (actors.coordinator_a, actors.investigator_a):
        # Full-width digits and spaces, lower case: normalised as at registration, then hashed.
        response = _client(actor).post(FIND, {"record_number": " mrn-００４２１３７ "})
        assert response.status_code == 302 and response["Location"] == reverse("web-patient-detail", args=[patient_a.study_id])
    found = AuditEvent.objects.filter(action="find_by_record_number", object_id=str(patient_a.pk))
    assert found.count() == 2 and NUMBER not in json.dumps(list(found.values("before", "after", "reason")))


def test_the_list_offers_the_form_to_identity_readers_only(actors: Actors, patient_a: Patient) -> None:
    listing = reverse("web-patient-list")
    assert 'data-testid="record-number-form"' in _client(actors.coordinator_a).get(listing).content.decode()
    for actor in (actors.monitor_a, actors.data_manager, actors.sponsor):
        assert 'data-testid="record-number-form"' not in _client(actor).get(listing).content.decode()


def test_other_hospitals_and_other_roles_do_not_find_it(actors: Actors, patient_a: Patient) -> None:
    other = _client(actors.coordinator_b).post(FIND, {"record_number": NUMBER})
    assert other.status_code == 404 and "No patient with this hospital record number at your hospitals." in other.content.decode()
    assert patient_a.study_id not in other.content.decode()
    # The same number at hospital B is another child: B's coordinator finds theirs, A's staff theirs.
    patient_b = make_patient(actors.coordinator_b, actors.hospital_b, ident=identity(record_number=NUMBER))
    assert patient_find_by_record_number(actor=actors.coordinator_b, record_number=NUMBER) == [patient_b]
    assert patient_find_by_record_number(actor=actors.coordinator_a, record_number=NUMBER) == [patient_a]
    # A data manager of every hospital, a monitor and a sponsor read no identifiers: refused before any lookup.
    for actor in (actors.data_manager, actors.monitor_a, actors.sponsor, actors.nobody):
        assert _client(actor).post(FIND, {"record_number": NUMBER}).status_code == 403
        assert patient_find_by_record_number(actor=actor, record_number=NUMBER) == []


def test_bad_input_and_methods(actors: Actors, patient_a: Patient) -> None:
    client = _client(actors.coordinator_a)
    empty = client.post(FIND, {"record_number": "  "})
    assert empty.status_code == 400 and 'id="id_record_number_error"' in empty.content.decode()
    assert client.get(FIND).status_code == 405  # never a GET: the number would be in the address and the access log


def test_the_number_is_nowhere_in_clear(actors: Actors, patient_a: Patient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = _client(actors.coordinator_a)
    with CaptureQueriesContext(connection) as queries:
        response = client.post(FIND, {"record_number": NUMBER})
    assert response.status_code == 302
    assert len(queries.captured_queries) <= 16  # session, user, roles; hospital codes, the match; its audit event; session
    # Not in any SQL sent (the hash is compared), any log line, or any stored row of the patient or the trail.
    assert not [q["sql"] for q in queries.captured_queries if NUMBER in q["sql"]]
    assert NUMBER not in caplog.text
    stored = json.dumps([list(Patient.objects.values())[0], list(AuditEvent.objects.values("before", "after", "reason"))],
                        default=str)
    assert NUMBER not in stored and NUMBER.lower() not in stored
