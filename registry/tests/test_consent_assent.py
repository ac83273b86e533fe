"""Registration and consent (issue 17): "assent refused" is an outcome that is recorded (audited) and makes the consent
not valid (follow-up entry refused, the patient not counted as consented); every problem of a consent is named at once,
each next to its field; the consent page shows the child's age and each version's assent age before submitting."""
import re
from datetime import date

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import Actors
from registry.consent_rules import consent_state, require_consent
from registry.dates import age_years
from registry.errors import ApplicationError
from registry.models import AuditEvent, ConsentDocument, ConsentRecord, Patient
from registry.selectors import patient_list
from registry.tests.builders import make_document, make_patient, make_registry_consent

pytestmark = pytest.mark.django_db

BORN, SIGNED = date(2010, 1, 1), date(2020, 2, 1)  # ten at signing: above the default assent age of 8


@pytest.fixture
def child(actors: Actors) -> Patient:
    make_document(assent_age_years=8)
    return make_patient(actors.coordinator_a, actors.hospital_a, birth_date=BORN, diagnosis_date=date(2020, 1, 1))


def test_assent_refused_is_recorded_audited_and_blocks(actors: Actors, child: Patient) -> None:
    record = make_registry_consent(actors.coordinator_a, child, signed_date=SIGNED, assent="refused")
    assert record.assent == ConsentRecord.Assent.REFUSED and record.get_assent_display() == "Refused by the child"
    event = AuditEvent.objects.get(action="create", object_type="registry.consentrecord", object_id=str(record.pk))
    assert event.after["assent"] == "refused"
    state = consent_state(child, on=timezone.localdate())
    assert not state.valid and "refused assent" in state.problem and state.record == record
    with pytest.raises(ApplicationError) as refused:
        require_consent(child, on=timezone.localdate(), action="follow-up entry")
    assert refused.value.code == "consent_missing" and "refused assent" in refused.value.message
    assert not patient_list(user=actors.coordinator_a).get(pk=child.pk).has_registry_consent


def test_a_later_version_with_assent_given_makes_the_consent_valid_again(actors: Actors, child: Patient) -> None:
    make_registry_consent(actors.coordinator_a, child, signed_date=SIGNED, assent="refused")
    v2 = make_document(version="2.0", effective_from=date(2020, 6, 1))
    make_registry_consent(actors.coordinator_a, child, document=v2, signed_date=date(2020, 7, 1), assent="given")
    assert consent_state(child, on=timezone.localdate()).valid
    assert patient_list(user=actors.coordinator_a).get(pk=child.pk).has_registry_consent


def test_every_problem_of_a_consent_is_named_at_once(actors: Actors, child: Patient) -> None:
    with pytest.raises(ApplicationError) as refused:
        make_registry_consent(actors.coordinator_a, child, signed_date=date(2009, 6, 1), assent="not_applicable",
                              guardian1_relationship="")
    fields = refused.value.fields
    assert set(fields) == {"signed_date", "document", "guardian1_relationship"}, fields
    with pytest.raises(ApplicationError) as assent:
        make_registry_consent(actors.coordinator_a, child, signed_date=SIGNED, assent="not_applicable", guardian1_relationship="")
    assert set(assent.value.fields) == {"assent", "guardian1_relationship"}
    assert "given or refused" in assent.value.fields["assent"][0]
    assert assent.value.message in [m for messages in assent.value.fields.values() for m in messages]  # shown once
    assert not ConsentRecord.objects.filter(patient=child).exists()


def _client(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def test_the_consent_page_shows_the_ages_and_all_errors_at_once(actors: Actors, child: Patient) -> None:
    url = reverse("web-patient-consent-record", args=[child.study_id])
    client = _client(actors.coordinator_a)
    page = client.get(url).content.decode()
    age = age_years(BORN, timezone.localdate())
    assert f"The child is {age} years old today." in page
    assert "Version 1.0: the child's assent is needed from age 8." in page
    assert re.search(r"<option value=\"\d+\"[^>]*>Registry consent v1.0 \(v1.0, zh-hans\), assent from age 8</option>", page)
    assert 'data-testid="age-at-signing"' in page and 'id="assent-ages-data"' in page
    document = ConsentDocument.objects.get(version="1.0")
    response = client.post(url, {"document": document.pk, "signer": "guardian", "guardian1_relationship": "", "assent": "not_applicable",
                                 "signed_date": SIGNED.isoformat()})
    body = response.content.decode()
    assert response.status_code == 400
    assert 'id="id_assent_error"' in body and 'id="id_guardian1_relationship_error"' in body
    assert body.count("assent is required from age 8") == 1  # once, next to the field, not again at the top
    assert 'value="refused"' in body
    ok = client.post(url, {"document": document.pk, "signer": "guardian", "guardian1_relationship": "mother", "assent": "refused",
                           "signed_date": SIGNED.isoformat()})
    assert ok.status_code == 302 and ConsentRecord.objects.get(patient=child).assent == "refused"
    detail = client.get(reverse("web-patient-detail", args=[child.study_id])).content.decode()
    assert "Refused by the child" in detail

