"""Arrangements (no tests) for the trial page tests: a recruiting trial at hospitals A and B with one subject at each,
its sponsor and trial monitor, and an adverse event at each."""
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from django.utils import timezone

from conftest import Actors
from registry.access import TrialRole
from trials.models import Subject, Trial
from trials.safety.models import AdverseEvent
from trials.safety.services.events import adverse_event_report
from trials.safety.tests.helpers import grant
from trials.tests.builders import enrol, make_trial

ANEMIA = "10002272"


def ae_data(**overrides: object) -> dict:
    data = {"meddra_code": ANEMIA, "onset_date": date(2026, 6, 20), "grade": 2, "relatedness": "possible",
            "expectedness": "expected", "action_taken": "not_applicable", "outcome": "recovering"}
    data.update(overrides)
    return data


@dataclass
class World:
    trial: Trial
    subject_a: Subject
    subject_b: Subject
    event_a: AdverseEvent
    event_b: AdverseEvent


@pytest.fixture
def world(actors: Actors) -> World:
    trial = make_trial(actors.data_manager, [actors.hospital_a, actors.hospital_b])
    subject_a = enrol(actors.coordinator_a, trial, actors.hospital_a)
    subject_b = enrol(actors.coordinator_b, trial, actors.hospital_b)
    # Enrolled two hours ago, so a dose "an hour ago" is after the enrolment and not in the future.
    Subject.objects.filter(pk__in=[subject_a.pk, subject_b.pk]).update(enrolled_at=timezone.now() - timedelta(hours=2))
    subject_a.refresh_from_db()
    subject_b.refresh_from_db()
    grant(actors.sponsor, trial, TrialRole.SPONSOR)
    grant(actors.trial_monitor, trial, TrialRole.MONITOR)
    event_a = adverse_event_report(actor=actors.coordinator_a, subject=subject_a, data=ae_data())
    event_b = adverse_event_report(actor=actors.coordinator_b, subject=subject_b, data=ae_data())
    return World(trial, subject_a, subject_b, event_a, event_b)
