"""Dosing: decay correction, recommendation, deviation and effective dose against hand-computed cases; one
protocol deviation per dose above the threshold; visits anchored on the first dose."""
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from conftest import Actors
from registry.errors import ApplicationError
from registry.models import AuditEvent
from trials.models import DosingRecord, ProtocolDeviation, Subject, SubjectVisit
from trials.services.dosing import dosing_record_create, dosing_record_update, protocol_deviation_review
from trials.services.visits import subject_visit_record
from trials.tests.builders import enrol, make_trial

SH = ZoneInfo("Asia/Shanghai")
ENROLLED = datetime(2026, 6, 30, 8, 0, tzinfo=SH)
T0 = datetime(2026, 6, 30, 9, 0, tzinfo=SH)
F18_HALF_LIFE = timedelta(seconds=6586.2)  # 109.77 min (nucmed catalogue)


@pytest.fixture
def subject(actors: Actors) -> Subject:
    # 18F-NaF on the North American table: 2.22 MBq/kg, so 44.4 MBq for 20 kg. Born 2019-03-15: 7 at dosing (ICRP 5 y band,
    # 0.086 mSv/MBq for 18F-NaF).
    trial = make_trial(actors.data_manager, [actors.hospital_a], code="NAF-3", agent_code="F18_NAF", dosage_table="north_america")
    with time_machine.travel(ENROLLED, tick=False):
        return enrol(actors.coordinator_a, trial, actors.hospital_a)


def dose(actors: Actors, subject: Subject, *, calibrated: str = "100", residual: str = "4", weight: str = "20",
         **overrides) -> DosingRecord:  # type: ignore[no-untyped-def]
    fields = {
        "lot_number": "NAF-2606-01", "calibrated_activity_mbq": Decimal(calibrated), "calibrated_at": T0,
        "administered_activity_mbq": Decimal("50"), "administered_at": T0 + F18_HALF_LIFE,
        "residual_activity_mbq": Decimal(residual), "residual_measured_at": T0 + 2 * F18_HALF_LIFE, "weight_kg": Decimal(weight),
    }
    fields.update(overrides)
    return dosing_record_create(actor=actors.coordinator_a, subject=subject, now=T0 + timedelta(days=1), **fields)


def test_net_activity_recommendation_deviation_and_effective_dose(actors: Actors, subject: Subject) -> None:
    record = dose(actors, subject)
    # 100 MBq one half-life before the injection -> 50 MBq; 4 MBq residual one half-life after -> 8 MBq at injection.
    assert record.net_activity_mbq == Decimal("42.000")
    assert record.recommended_activity_mbq == Decimal("44.400")
    assert record.deviation_percent == Decimal("-5.41")  # (42 - 44.4) / 44.4
    assert record.effective_dose_msv == Decimal("3.612")  # 42 x 0.086
    assert record.effective_dose_age_band == "5y" and record.age_years == Decimal("7.29")
    assert record.dosage_table == "north_america" and record.dosage_table_version.startswith("snmmi-spr-2016")
    assert record.effective_dose_table_version.startswith("icrp-coefficients") and record.agent_code == "F18_NAF"
    assert not ProtocolDeviation.objects.exists()


def test_residual_measured_at_injection_is_subtracted_as_is(actors: Actors, subject: Subject) -> None:
    record = dose(actors, subject, calibrated="80", residual="5", residual_measured_at=None)
    assert record.net_activity_mbq == Decimal("35.000")  # 80 / 2 - 5


def test_calibration_after_injection_is_corrected_backwards(actors: Actors, subject: Subject) -> None:
    record = dose(actors, subject, calibrated="25", residual="0", calibrated_at=T0 + 2 * F18_HALF_LIFE)
    assert record.net_activity_mbq == Decimal("50.000")


def test_a_dose_above_the_threshold_raises_exactly_one_deviation(actors: Actors, subject: Subject) -> None:
    record = dose(actors, subject, calibrated="120", residual="0")  # 60 MBq: +35.14 % against 44.4
    assert record.deviation_percent == Decimal("35.14")
    deviation = ProtocolDeviation.objects.get()
    assert (deviation.kind, deviation.status, deviation.dosing_record_id) == ("dose_above_threshold", "open", record.pk)
    assert "35.14 %" in deviation.description and "+10.0 %" in deviation.description
    # Re-saving (a correction that stays above the threshold) raises nothing new.
    dosing_record_update(actor=actors.coordinator_a, record=record, data={"lot_number": "NAF-2606-02"}, reason="typo in lot",
                         now=T0 + timedelta(days=1))
    dosing_record_update(actor=actors.coordinator_a, record=record, data={"calibrated_activity_mbq": Decimal("130")},
                         reason="calibrator reading", now=T0 + timedelta(days=1))
    assert ProtocolDeviation.objects.count() == 1
    update = AuditEvent.objects.filter(object_type="trials.dosingrecord", action="update").latest("seq")
    assert update.reason == "calibrator reading" and update.before["net_activity_mbq"] == "60.000"


def test_a_dose_at_the_threshold_raises_none(actors: Actors, subject: Subject) -> None:
    # 44.4 x 1.10 = 48.84 MBq net: exactly +10 %, not over it.
    dose(actors, subject, calibrated="97.68", residual="0")
    assert not ProtocolDeviation.objects.exists()


def test_the_trial_threshold_is_the_trials_choice(actors: Actors) -> None:
    trial = make_trial(actors.data_manager, [actors.hospital_a], code="NAF-4", agent_code="F18_NAF", dosage_table="north_america",
                       deviation_threshold_percent=Decimal("40"))
    with time_machine.travel(ENROLLED, tick=False):
        subject = enrol(actors.coordinator_a, trial, actors.hospital_a)
    dose(actors, subject, calibrated="120", residual="0")  # +35 % is within 40 %
    assert not ProtocolDeviation.objects.exists()


def test_a_low_dose_arm_is_checked_against_its_share_of_the_table(actors: Actors) -> None:
    trial = make_trial(actors.data_manager, [actors.hospital_a], code="NAF-LD", agent_code="F18_NAF", dosage_table="north_america",
                       arms=(("LOW", 50), ("STD", 100)))
    with time_machine.travel(ENROLLED, tick=False):
        low = enrol(actors.coordinator_a, trial, actors.hospital_a, arm=trial.arms.get(code="LOW"))
    record = dose(actors, low, calibrated="50", residual="0")  # 25 MBq against 22.2
    assert record.recommended_activity_mbq == Decimal("22.200") and record.deviation_percent == Decimal("12.61")
    assert ProtocolDeviation.objects.count() == 1


def test_first_dose_dates_the_visits_counted_from_it(actors: Actors, subject: Subject) -> None:
    dose(actors, subject)
    visits = {v.definition.code: v for v in SubjectVisit.objects.filter(subject=subject).select_related("definition")}
    injected = (T0 + F18_HALF_LIFE).date()
    assert visits["PET"].target_date == injected and visits["PET"].status == "scheduled"
    assert (visits["D7"].target_date, visits["D7"].window_start) == (injected + timedelta(days=7), injected + timedelta(days=5))


def test_a_visit_done_outside_its_window_raises_one_deviation(actors: Actors, subject: Subject) -> None:
    dose(actors, subject)
    d7 = SubjectVisit.objects.get(subject=subject, definition__code="D7")
    late = d7.window_end + timedelta(days=1)
    subject_visit_record(actor=actors.coordinator_a, visit=d7, status="done", done_on=late, out_of_window_reason="scanner down", today=late)
    subject_visit_record(actor=actors.coordinator_a, visit=d7, status="done", done_on=late, reason="re-entered",
                         out_of_window_reason="scanner down", today=late)
    deviation = ProtocolDeviation.objects.get()
    assert deviation.kind == "visit_out_of_window" and deviation.subject_visit_id == d7.pk


@pytest.mark.parametrize(("overrides", "field"), [
    ({"administered_at": T0 + timedelta(days=3)}, "administered_at"),  # after `now`
    ({"administered_at": ENROLLED - timedelta(hours=1), "calibrated_at": ENROLLED - timedelta(hours=2)}, "administered_at"),
    ({"weight": "0"}, "weight_kg"),
    ({"residual_measured_at": T0}, "residual_measured_at"),
    ({"administered_at": datetime(2026, 6, 30, 11, 0)}, "administered_at"),  # naive
])
def test_impossible_doses_are_refused_and_nothing_is_written(actors: Actors, subject: Subject, overrides, field) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ApplicationError) as caught:
        dose(actors, subject, **overrides)
    assert field in caught.value.fields
    assert not DosingRecord.objects.exists()


def test_a_residual_above_the_syringe_activity_is_refused(actors: Actors, subject: Subject) -> None:
    with pytest.raises(ApplicationError) as caught:
        dose(actors, subject, calibrated="10", residual="9")  # 5 MBq given, 18 MBq left: a data-entry error
    assert "residual" in caught.value.message and not DosingRecord.objects.exists()


def test_other_hospitals_cannot_record_doses(actors: Actors, subject: Subject) -> None:
    with pytest.raises(ApplicationError) as caught:
        dosing_record_create(actor=actors.coordinator_b, subject=subject, lot_number="x", calibrated_activity_mbq=Decimal(1),
                             calibrated_at=T0, administered_activity_mbq=Decimal(1), administered_at=T0, weight_kg=Decimal(20))
    assert caught.value.code == "out_of_scope"


def test_deviation_review_by_an_investigator_is_audited_and_final(actors: Actors, subject: Subject) -> None:
    dose(actors, subject, calibrated="120", residual="0")
    deviation = ProtocolDeviation.objects.get()
    with pytest.raises(ApplicationError):
        protocol_deviation_review(actor=actors.coordinator_a, deviation=deviation, note="seen")
    protocol_deviation_review(actor=actors.investigator_a, deviation=deviation, note="extravasation check: none; reported")
    assert ProtocolDeviation.objects.get().status == "reviewed"
    with pytest.raises(ApplicationError) as caught:
        protocol_deviation_review(actor=actors.investigator_a, deviation=deviation, note="again")
    assert caught.value.code == "already_reviewed"
    assert AuditEvent.objects.filter(object_type="trials.protocoldeviation", action="review").count() == 1
