"""The dose check "a reading more than 10 half-lives from the administration" measures elapsed time (issue 15, defect 5).

Europe/Berlin, 25 October 2026: clocks go back from 03:00 CEST (+02:00) to 02:00 CET (+01:00). 18F half-life 6586.2 s,
so 10 half-lives are 65 862 s (18 h 17 min 42 s). Calibration 24 October 12:00 CEST (10:00 UTC); administration
25 October 05:47:42 CET (04:47:42 UTC): 67 662 s have passed (10 half-lives + 30 min), though the wall clocks differ
by 64 062 s (10 half-lives - 30 min). Subtracting the wall clocks let this through.
"""
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from conftest import Actors
from registry.errors import ApplicationError
from trials.models import DosingRecord
from trials.services.dosing import dosing_record_create
from trials.tests.builders import enrol, make_trial

BERLIN = ZoneInfo("Europe/Berlin")
CALIBRATED = datetime(2026, 10, 24, 12, 0, tzinfo=BERLIN)


def _dose(actors: Actors, administered: datetime) -> DosingRecord:
    trial = make_trial(actors.data_manager, [actors.hospital_a], code="NAF-DST", agent_code="F18_NAF", dosage_table="north_america")
    with time_machine.travel(datetime(2026, 6, 30, 8, 0, tzinfo=BERLIN), tick=False):
        subject = enrol(actors.coordinator_a, trial, actors.hospital_a)
    return dosing_record_create(
        actor=actors.coordinator_a, subject=subject, now=administered + timedelta(days=1), lot_number="NAF-2610-01",
        calibrated_activity_mbq=Decimal("5000"), calibrated_at=CALIBRATED, administered_activity_mbq=Decimal("4"),
        administered_at=administered, residual_activity_mbq=Decimal("0"), residual_measured_at=administered + timedelta(minutes=10),
        weight_kg=Decimal("20"))


def test_a_calibration_ten_half_lives_and_half_an_hour_before_across_the_autumn_change_is_refused(actors: Actors) -> None:
    administered = datetime(2026, 10, 25, 5, 47, 42, tzinfo=BERLIN)
    assert (administered - CALIBRATED).total_seconds() == 64_062  # the wall clocks: what the old check measured
    with pytest.raises(ApplicationError) as caught:
        _dose(actors, administered)
    assert "calibrated_at" in caught.value.fields and not DosingRecord.objects.exists()


def test_a_calibration_just_inside_ten_half_lives_of_elapsed_time_is_accepted(actors: Actors) -> None:
    """Administration 25 October 03:47:42 CET (02:47:42 UTC): 60 462 s elapsed, under 65 862 s."""
    record = _dose(actors, datetime(2026, 10, 25, 3, 47, 42, tzinfo=BERLIN))
    assert record.calibrated_at == CALIBRATED
