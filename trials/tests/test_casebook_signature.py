"""A signed casebook: every change to the subject's data needs a reason and voids the signature, audited."""
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from conftest import PASSWORD, Actors
from registry.errors import ApplicationError
from registry.models import AuditEvent
from trials.models import ProtocolDeviation, Subject, SubjectVisit
from trials.oversight.models import Signature
from trials.oversight.services.signatures import signature_sign
from trials.safety.services.events import adverse_event_report
from trials.services.dosing import dosing_record_create, protocol_deviation_review
from trials.services.enrolment import subject_status_change
from trials.services.visits import subject_visit_record
from trials.tests.builders import enrol, make_trial

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
ENROLLED = datetime(2026, 6, 30, 8, 0, tzinfo=SH)


@pytest.fixture
def subject(actors: Actors) -> Subject:
    trial = make_trial(actors.data_manager, [actors.hospital_a], code="CB-1", agent_code="F18_NAF", dosage_table="north_america")
    with time_machine.travel(ENROLLED, tick=False):
        return enrol(actors.coordinator_a, trial, actors.hospital_a)


def sign_casebook(actors: Actors, subject: Subject) -> Signature:
    return signature_sign(actor=actors.investigator_a, content_type=ContentType.objects.get_for_model(subject), object_id=subject.pk,
                          meaning=Signature.Meaning.CASEBOOK_APPROVED,
                          password=PASSWORD)


def scr_visit(subject: Subject) -> SubjectVisit:
    return SubjectVisit.objects.get(subject=subject, definition__code="SCR")


def assert_voided(signature: Signature, reason: str) -> None:
    signature.refresh_from_db()
    assert signature.status == Signature.Status.VOIDED and signature.void_reason == reason
    event = AuditEvent.objects.get(action="void_signature", object_id=str(signature.pk))
    assert event.reason == reason


def test_recording_a_visit_through_the_api_needs_a_reason_and_voids_the_signature(actors: Actors, subject: Subject,
                                                                                   client_for) -> None:  # type: ignore[no-untyped-def]
    signature = sign_casebook(actors, subject)
    visit = scr_visit(subject)
    url = reverse("subject-visit-record", args=[visit.pk])
    body = {"status": "done", "done_on": subject.enrolled_at.astimezone(SH).date().isoformat()}
    refused = client_for(actors.coordinator_a).post(url, body, format="json")
    assert refused.status_code == 400, refused.content
    assert refused.json()["code"] == "reason_required" and "reason" in refused.json()["fields"]
    visit.refresh_from_db()
    assert visit.status == SubjectVisit.Status.SCHEDULED  # nothing half-written
    signature.refresh_from_db()
    assert signature.status == Signature.Status.VALID

    done = client_for(actors.coordinator_a).post(url, {**body, "reason": "late entry of the screening visit"}, format="json")
    assert done.status_code == 200, done.content
    assert_voided(signature, "late entry of the screening visit")
    assert AuditEvent.objects.filter(action="record", object_id=str(visit.pk), reason="late entry of the screening visit").exists()


def test_an_unsigned_casebook_needs_no_reason(actors: Actors, subject: Subject) -> None:
    visit = subject_visit_record(actor=actors.coordinator_a, visit=scr_visit(subject), status="missed")
    assert visit.status == SubjectVisit.Status.MISSED
    assert not AuditEvent.objects.filter(action="void_signature").exists()


def test_status_change_voids_the_casebook_signature(actors: Actors, subject: Subject) -> None:
    signature = sign_casebook(actors, subject)
    subject_status_change(actor=actors.coordinator_a, subject=subject, to=Subject.Status.WITHDRAWN, reason="parents withdrew")
    assert_voided(signature, "parents withdrew")


def test_a_dose_on_a_signed_casebook_needs_a_reason(actors: Actors, subject: Subject) -> None:
    signature = sign_casebook(actors, subject)
    t0 = datetime(2026, 6, 30, 9, 0, tzinfo=SH)
    fields = {"lot_number": "NAF-1", "calibrated_activity_mbq": Decimal("100"), "calibrated_at": t0,
              "administered_activity_mbq": Decimal("50"), "administered_at": t0 + timedelta(hours=1), "weight_kg": Decimal("20"),
              "now": t0 + timedelta(days=1)}
    with pytest.raises(ApplicationError) as refused:
        dosing_record_create(actor=actors.coordinator_a, subject=subject, **fields)
    assert refused.value.code == "reason_required" and "reason" in refused.value.fields
    dosing_record_create(actor=actors.coordinator_a, subject=subject, reason="dose entered after signing", **fields)
    assert_voided(signature, "dose entered after signing")


def test_a_deviation_review_on_a_signed_casebook_needs_a_reason(actors: Actors, subject: Subject) -> None:
    deviation = ProtocolDeviation.objects.create(subject=subject, kind=ProtocolDeviation.Kind.VISIT_OUT_OF_WINDOW,
                                                 detected_at=ENROLLED, description="test")
    signature = sign_casebook(actors, subject)
    with pytest.raises(ApplicationError) as refused:
        protocol_deviation_review(actor=actors.investigator_a, deviation=deviation, note="minor")
    assert refused.value.code == "reason_required"
    protocol_deviation_review(actor=actors.investigator_a, deviation=deviation, note="minor", reason="reviewed after signing")
    assert_voided(signature, "reviewed after signing")


def test_an_adverse_event_report_is_not_held_up_but_voids_the_casebook_signature(actors: Actors, subject: Subject) -> None:
    signature = sign_casebook(actors, subject)
    with time_machine.travel(datetime(2026, 7, 2, 9, 0, tzinfo=SH), tick=False):
        adverse_event_report(actor=actors.coordinator_a, subject=subject, data={
            "meddra_code": "10002272", "onset_date": datetime(2026, 7, 1).date(), "grade": 2, "relatedness": "possible",
            "expectedness": "expected", "action_taken": "not_applicable", "outcome": "recovering"})
    assert_voided(signature, "adverse event reported after the casebook was signed")


def test_a_deviation_review_through_the_api_takes_the_reason(actors: Actors, subject: Subject, client_for) -> None:  # type: ignore[no-untyped-def]
    deviation = ProtocolDeviation.objects.create(subject=subject, kind=ProtocolDeviation.Kind.VISIT_OUT_OF_WINDOW,
                                                 detected_at=ENROLLED, description="test")
    signature = sign_casebook(actors, subject)
    url = reverse("protocol-deviation-review", args=[deviation.pk])
    refused = client_for(actors.investigator_a).post(url, {"review_note": "minor"}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "reason_required"
    done = client_for(actors.investigator_a).post(url, {"review_note": "minor", "reason": "reviewed after signing"}, format="json")
    assert done.status_code == 200, done.content
    assert_voided(signature, "reviewed after signing")
