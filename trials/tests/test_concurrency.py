"""Concurrent enrolments in one stratum take distinct slots and numbers (PostgreSQL row locks)."""
import threading

import pytest
from django.db import connection

from conftest import Actors
from trials.models import AllocationSlot, Subject
from trials.services.enrolment import subject_enrol
from trials.tests.builders import TODAY, make_trial, ready_patient, site_of


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_enrolments_take_the_list_in_order(on_postgres, reference_rows, actors: Actors) -> None:  # type: ignore[no-untyped-def]
    trial = make_trial(actors.data_manager, [actors.hospital_a], code="RACE", randomised=True, arms=(("X", 100), ("Y", 100)))
    site = site_of(trial, actors.hospital_a)
    patients = [ready_patient(actors.coordinator_a, trial, actors.hospital_a, inrg_risk="high") for _ in range(6)]
    barrier = threading.Barrier(len(patients))
    errors: list[BaseException] = []

    def enrol(patient) -> None:  # type: ignore[no-untyped-def]
        try:
            barrier.wait()
            subject_enrol(actor=actors.coordinator_a, trial=trial, site=site, patient=patient, today=TODAY)
        except BaseException as exc:  # noqa: BLE001 - surfaced in the main thread below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=enrol, args=(p,)) for p in patients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    numbers = sorted(Subject.objects.filter(trial=trial).values_list("subject_number", flat=True))
    assert numbers == [f"RACE-01-{n:03d}" for n in range(1, 7)]
    used = AllocationSlot.objects.filter(subject__isnull=False).order_by("position")
    assert [s.position for s in used] == [1, 2, 3, 4, 5, 6]  # the first six slots of the stratum, each once
    assert all(s.subject.arm_id == s.arm_id for s in used.select_related("subject"))
