"""Visit windows are calendar days on local dates: a first dose given just after local midnight on the night of a
daylight-saving change (the UTC date is still the previous day) anchors the visits on its local date."""
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import override_settings
from django.utils import timezone

from conftest import Actors
from trials.models import SubjectVisit
from trials.services.dosing import dosing_record_create
from trials.tests.builders import enrol, make_trial

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("zone", "given"), [
    ("Europe/Berlin", datetime(2026, 10, 25, 0, 30)),  # 22:30 UTC on 24 Oct; the autumn change follows at 03:00
    ("Europe/Berlin", datetime(2026, 3, 29, 0, 30)),  # 23:30 UTC on 28 Mar; the spring change follows at 02:00
    ("America/New_York", datetime(2026, 11, 1, 0, 30)),  # 04:30 UTC, same date; the autumn change at 02:00
    ("America/New_York", datetime(2026, 3, 8, 0, 30)),
])
def test_first_dose_anchors_visits_on_its_local_date(actors: Actors, zone: str, given: datetime) -> None:
    tz = ZoneInfo(zone)
    trial = make_trial(actors.data_manager, [actors.hospital_a], code="GA-V")
    with time_machine.travel(datetime(2026, 3, 1, 9, 0, tzinfo=tz), tick=False):
        subject = enrol(actors.coordinator_a, trial, actors.hospital_a)
    with override_settings(TIME_ZONE=zone), timezone.override(tz):
        at = given.replace(tzinfo=tz)
        dosing_record_create(actor=actors.coordinator_a, subject=subject, lot_number="L", calibrated_activity_mbq=Decimal("100"),
                             calibrated_at=at, administered_activity_mbq=Decimal("100"), administered_at=at,
                             weight_kg=Decimal("20"), now=datetime(2026, 12, 1, tzinfo=tz))
    day = given.date()
    pet = SubjectVisit.objects.get(subject=subject, definition__code="PET")
    d7 = SubjectVisit.objects.get(subject=subject, definition__code="D7")
    assert pet.target_date == day
    assert (d7.target_date - day).days == 7 and (d7.window_start, d7.window_end) == (date.fromordinal(day.toordinal() + 5),
                                                                                     date.fromordinal(day.toordinal() + 9))
