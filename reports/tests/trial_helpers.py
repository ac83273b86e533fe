"""A small randomised trial with screening, dosing, adverse events, SAE clocks, queries and an image-quality session."""
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from imaging.reading.tests import helpers as reading
from registry.access import TrialRole, forget_scope
from registry.services.consent import consent_withdraw
from registry.tests.builders import make_patient, make_registry_consent
from trials.models import Subject, Trial, TrialMembership
from trials.oversight.models import DataQuery
from trials.safety.models import AdverseEvent, AdverseEventVersion, ReportingClock
from trials.services.dosing import dosing_record_create
from trials.tests.builders import enrol, make_trial, make_trial_consent, screen, site_of


@dataclass
class TrialWorld:
    trial: Trial
    subjects: list[Subject]  # included in the report
    withdrawn: Subject  # patient withdrew data use


def _ae(subject: Subject, number: int, *, term: str, soc: str, grade: int, relatedness: str, serious: bool = False,
        recorder: Any) -> AdverseEvent:
    event = AdverseEvent.objects.create(subject=subject, number=number, created_by=recorder, is_serious=serious, grade=grade)
    version = AdverseEventVersion.objects.create(
        event=event, version_number=1, meddra_code="10000000", term=term, soc=soc, onset_date=date(2026, 7, 1), grade=grade,
        serious_hospitalisation=serious, is_serious=serious, relatedness=relatedness, expectedness="expected",
        action_taken="not_applicable", outcome="recovered", recorded_by=recorder, recorded_at=timezone.now())
    event.current_version = version
    event.save(update_fields=["current_version"])
    return event


def _dose(actor: Any, subject: Subject, activity: str) -> None:
    now = timezone.now()
    dosing_record_create(actor=actor, subject=subject, lot_number="L1", calibrated_activity_mbq=Decimal(activity),
                         calibrated_at=now - timedelta(minutes=5), administered_activity_mbq=Decimal(activity), administered_at=now,
                         weight_kg=Decimal("20"))


def make_trial_world(actors: Any, *, code: str = "NB-R1", blinded: bool = False) -> TrialWorld:
    a = actors
    trial = make_trial(a.data_manager, [a.hospital_a, a.hospital_b], code=code, randomised=True, blinded=blinded,
                       arms=(("LOW", 50), ("STD", 100)), agent_code="F18_NAF", dosage_table="north_america", target_accrual=10)
    subjects = [enrol(a.coordinator_a, trial, a.hospital_a) for _ in range(2)]
    subjects += [enrol(a.coordinator_b, trial, a.hospital_b) for _ in range(2)]
    failed = make_patient(a.coordinator_a, a.hospital_a)
    make_trial_consent(a.coordinator_a, failed, trial)
    screen(a.coordinator_a, trial, site_of(trial, a.hospital_a), failed, failing=("I2",))
    # Enrolled, then the family withdrew the use of the child's data: gone from every section.
    withdrawn = enrol(a.coordinator_a, trial, a.hospital_a)
    consent = make_registry_consent(a.coordinator_a, withdrawn.patient)
    consent_withdraw(actor=a.coordinator_a, consent=consent, withdrawn_on=date(2026, 7, 1), scope="withdraw_data_use",
                     reason="family request")
    _dose(a.coordinator_a, subjects[0], "390")  # far above the recommendation: a protocol deviation
    _dose(a.coordinator_b, subjects[2], "40")
    _dose(a.coordinator_a, withdrawn, "390")
    _ae(subjects[0], 1, term="Nausea", soc="Gastrointestinal disorders", grade=1, relatedness="possible", recorder=a.coordinator_a)
    _ae(subjects[0], 2, term="Nausea", soc="Gastrointestinal disorders", grade=2, relatedness="unrelated", recorder=a.coordinator_a)
    sae = _ae(subjects[2], 1, term="Febrile neutropenia", soc="Blood and lymphatic system disorders", grade=3,
              relatedness="probable", serious=True, recorder=a.coordinator_b)
    _ae(withdrawn, 1, term="Vomiting", soc="Gastrointestinal disorders", grade=2, relatedness="possible", recorder=a.coordinator_a)
    start = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
    ReportingClock.objects.create(event=sae, kind=ReportingClock.Kind.SITE_24H, started_at=start, due_at=start + timedelta(hours=24),
                                  status=ReportingClock.Status.LATE, reported_at=start + timedelta(hours=30))
    ReportingClock.objects.create(event=sae, kind=ReportingClock.Kind.SUSAR_15D, started_at=start, due_at=start + timedelta(days=15),
                                  status=ReportingClock.Status.MET, reported_at=start + timedelta(days=3))
    subject_type = ContentType.objects.get_for_model(Subject)
    for subject, hospital, status in ((subjects[0], a.hospital_a, "open"), (subjects[1], a.hospital_a, "open"),
                                      (subjects[2], a.hospital_b, "answered"), (subjects[3], a.hospital_b, "closed")):
        DataQuery.objects.create(content_type=subject_type, object_id=subject.pk, hospital=hospital, trial_id=trial.pk,
                                 field_name="weight_kg", text="Please confirm", status=status, raised_by=a.data_manager,
                                 raised_at=timezone.now())
    TrialMembership.objects.create(user=a.sponsor, trial=trial, role=TrialRole.SPONSOR)
    forget_scope(a.sponsor)
    return TrialWorld(trial, subjects, withdrawn)


def image_quality_session(actors: Any, world: TrialWorld):  # type: ignore[no-untyped-def]
    """Hospital-B subjects' PET read blind by two readers at hospital A; low-dose scored 3, standard 4."""
    patients = [s.patient for s in world.subjects[2:]]
    readers = [actors.investigator_a, reading.investigator(actors.hospital_a, "reader2")]
    session = reading.paired_session(actors.data_manager, readers, patients)
    scores = {"low-dose": 3, "standard-dose": 4}
    reading.score_all(session, lambda reader, item: dict.fromkeys(reading_scales(), scores[item.arm]))
    return session


def reading_scales() -> tuple[str, ...]:
    from imaging.reading.models.sessions import SCALES

    return SCALES
