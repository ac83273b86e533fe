"""A pair's evaluation runs through the one work engine: a requester who lost their role since queueing is refused
(access_revoked, audited) and nothing is computed; a redelivered message claims nothing."""
from datetime import date

import pytest

from conftest import Actors
from imaging.lowdose.models import EvaluationPair, PairMetrics
from imaging.lowdose.services import pair_assign, protocol_create
from imaging.lowdose.tasks import evaluate_pair
from imaging.models import ImagingStudy, Series
from registry.models import AuditEvent, HospitalMembership
from registry.tests.builders import consented_patient
from registry.tests.factories import MembershipFactory, UserFactory


@pytest.fixture
def pair(actors: Actors, django_capture_on_commit_callbacks) -> EvaluationPair:  # type: ignore[no-untyped-def]
    patient = consented_patient(actors.coordinator_a, actors.hospital_a, sex="M", birth_date=date(2018, 1, 1),
                                diagnosis_date=date(2020, 1, 1))
    study = ImagingStudy.objects.create(patient=patient, study_uid="2.25.91", study_date=date(2021, 1, 1), tracer="F18_FDG",
                                        modality_group="pet_ct", status=ImagingStudy.Status.READY)
    ref, test = (Series.objects.create(study=study, series_uid=f"2.25.91{k}", modality="PT", series_number=k, frame_of_reference_uid="1.2.3")
                 for k in (1, 2))
    manager = UserFactory(username="dm_a")
    MembershipFactory(user=manager, hospital=actors.hospital_a, role="data_manager")
    protocol = protocol_create(actor=actors.data_manager, name="one sixth", test_role="low_activity")
    with django_capture_on_commit_callbacks(execute=False):  # queued, not yet run
        return pair_assign(actor=manager, protocol=protocol, reference=ref, test=test)


def test_a_revoked_requester_is_refused_when_the_work_runs(pair: EvaluationPair) -> None:
    HospitalMembership.objects.filter(user=pair.requested_by).delete()
    evaluate_pair(pair.pk)  # what the worker runs
    pair.refresh_from_db()
    assert (pair.status, pair.error_code) == ("failed", "access_revoked")
    assert not PairMetrics.objects.exists()
    assert AuditEvent.objects.filter(action="work_refused", object_id=str(pair.pk)).exists()
    evaluate_pair(pair.pk)  # a redelivered message: nothing to claim
    pair.refresh_from_db()
    assert pair.attempts == 1


def test_an_unanalysed_series_is_refused_with_the_reason(pair: EvaluationPair) -> None:
    evaluate_pair(pair.pk)
    pair.refresh_from_db()
    assert (pair.status, pair.error_code) == ("failed", "not_quantifiable")
    assert "not quantifiable in SUV" in pair.error
