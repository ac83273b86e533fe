"""The patient page's MIBG response panel (imaging/reading/web/panels.py): the Curie / SIOPEN scores over time with the
INRC 2017 MIBG bone component against the baseline, labelled as the bone component, with its thresholds and their
verification status.

Park JR et al., J Clin Oncol 2017;35(22):2580-2587: relative MIBG score = bone score now / bone score at baseline;
>= 50 % reduction (relative <= 0.5) is a partial response, relative >= 1.2 or a new bone site progressive disease.
"""
from datetime import date

import pytest
from django.conf import settings
from django.urls import reverse

from conftest import Actors
from imaging.reading.tests import helpers as h
from registry.models import Patient
from registry.tests.builders import client_of, text

pytestmark = pytest.mark.django_db


def _page(user, patient: Patient, language: str = "en") -> str:  # type: ignore[no-untyped-def]
    client = client_of(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return text(client.get(reverse("web-patient-detail", args=[patient.study_id])))


def _scored(actors: Actors) -> Patient:
    """Curie bone scores 5 (baseline, soft tissue 3 left out), 2 (relative 0.40: PR), 6 (relative 1.20: PD)."""
    patient = h.patient_at(actors.coordinator_a, actors.hospital_a)
    h.submitted(actors.investigator_a, h.study_of(patient, on=date(2020, 9, 20)), "curie", [2, 2, 1, 0, 0, 0, 0, 0, 0, 3], timepoint="baseline")
    h.submitted(actors.investigator_a, h.study_of(patient, on=date(2021, 2, 20)), "curie", [1, 1, 0, 0, 0, 0, 0, 0, 0, 0], timepoint="post_induction")
    h.submitted(actors.investigator_a, h.study_of(patient, on=date(2021, 6, 20)), "curie", [3, 2, 1, 0, 0, 0, 0, 0, 0, 0], timepoint="follow_up")
    return patient


def test_the_panel_shows_each_follow_up_against_the_baseline(actors: Actors) -> None:
    body = _page(actors.monitor_a, _scored(actors))
    assert 'data-testid="mibg-response-panel"' in body and 'data-testid="mibg-response-curie"' in body
    assert "siopen" not in body.split('data-testid="mibg-response-panel"')[1]  # no SIOPEN sheet: no SIOPEN table
    assert body.count('data-testid="mibg-response-category"') == 2  # the baseline has none
    assert "Partial response (PR)" in body and "Progressive disease (PD)" in body
    assert "0.40" in body and "1.20" in body and "2 (5)" in body and "6 (5)" in body  # relative score, bone score (baseline)
    assert "MIBG bone component of the INRC 2017 criteria only, not an overall INRC response" in body
    assert "Partial response: 0.5 or less" in body and "progressive disease: 1.2 or more" in body
    assert "After induction" in body and "Follow-up / relapse" in body  # the time points by their labels
    assert "2580-2587" in body and "inrc-2017-mibg-bone/" in body
    assert "not yet re-read against the full article" in body  # nucmed.reference lists the thresholds as unverified


def test_a_new_bone_site_is_named_and_called_progression(actors: Actors) -> None:
    patient = h.patient_at(actors.coordinator_a, actors.hospital_a)
    scores = dict.fromkeys(h.values("siopen", 0), 0)
    h.submitted(actors.investigator_a, h.study_of(patient, on=date(2020, 9, 20)), "siopen", {**scores, "skull": 6, "spine": 6})
    h.submitted(actors.investigator_a, h.study_of(patient, on=date(2021, 2, 20)), "siopen", {**scores, "skull": 1, "pelvis": 1})
    body = _page(actors.investigator_a, patient)
    assert 'data-testid="mibg-response-siopen"' in body and "Progressive disease (PD)" in body
    assert "New bone sites: pelvis" in body


def test_disagreeing_reads_are_shown_as_not_assessable(actors: Actors) -> None:
    reader2 = h.investigator(actors.hospital_a, "reader2")
    patient = h.patient_at(actors.coordinator_a, actors.hospital_a)
    h.submitted(actors.investigator_a, h.study_of(patient, on=date(2020, 9, 20)), "curie", [3, 3, 0, 0, 0, 0, 0, 0, 0, 0])
    later = h.study_of(patient, on=date(2021, 2, 20))
    h.submitted(actors.investigator_a, later, "curie", [1, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    h.submitted(reader2, later, "curie", [0, 1, 0, 0, 0, 0, 0, 0, 0, 0])
    body = _page(actors.investigator_a, patient)
    assert "Not assessable:" in body and "no agreed segment scores" in body
    assert 'data-testid="mibg-response-category"' not in body


def test_no_panel_without_a_submitted_sheet(actors: Actors) -> None:
    patient = h.patient_at(actors.coordinator_a, actors.hospital_a)
    h.study_of(patient)
    assert 'data-testid="mibg-response-panel"' not in _page(actors.investigator_a, patient)


def test_the_panel_in_chinese(actors: Actors) -> None:
    body = _page(actors.monitor_a, _scored(actors), "zh-hans")
    assert 'lang="zh-hans"' in body and "检查日期" in body  # the page and the panel's shared column heading in Chinese
    assert 'data-testid="mibg-response-curie"' in body and body.count('data-testid="mibg-response-category"') == 2
