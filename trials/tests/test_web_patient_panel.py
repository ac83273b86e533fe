"""The patient page's trial-participation panel (trials/web/panels.py, registered through registry's panel hook), and
how trial consent shows on the registry's consent badge."""
import pytest
from django.urls import reverse

from conftest import Actors
from registry.models import Patient
from registry.tests.builders import client_of, make_registry_consent, text
from trials.tests.builders import TODAY, enrol, make_trial

pytestmark = pytest.mark.django_db


def detail(p: Patient) -> str:
    return reverse("web-patient-detail", args=[p.study_id])


def test_trial_panel_shows_subject_number_and_trial_code(actors: Actors) -> None:
    trial = make_trial(actors.data_manager, [actors.hospital_a], code="NB-WEB")
    subject = enrol(actors.coordinator_a, trial, actors.hospital_a)
    body = text(client_of(actors.coordinator_a).get(detail(subject.patient)))
    assert "NB-WEB" in body and subject.subject_number in body


def test_consent_for_trial_enrolment_makes_no_registry_consent(actors: Actors) -> None:
    """A trial-consented patient is not registry-consented: the page says so (the badge follows consent_rules)."""
    trial = make_trial(actors.data_manager, [actors.hospital_a], code="NB-WEB2")
    subject = enrol(actors.coordinator_a, trial, actors.hospital_a)
    body = text(client_of(actors.coordinator_a).get(detail(subject.patient)))
    assert "No valid consent" in body
    make_registry_consent(actors.coordinator_a, subject.patient, today=TODAY)
    assert "Valid consent" in text(client_of(actors.coordinator_a).get(detail(subject.patient)))
