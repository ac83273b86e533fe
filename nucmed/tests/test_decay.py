from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from nucmed.decay import decay_correct, decay_factor, net_administered_activity

F18 = 6586.2
SHANGHAI = timezone(timedelta(hours=8))


def test_one_half_life_halves() -> None:
    assert decay_factor(F18, F18) == pytest.approx(0.5)
    assert decay_factor(2 * F18, F18) == pytest.approx(0.25)
    assert decay_factor(0, F18) == 1.0
    assert decay_factor(-F18, F18) == pytest.approx(2.0)


def test_hand_computed_one_hour_f18() -> None:
    # 2^(-3600/6586.2) = exp(-ln2 x 0.546597) = 0.684633...
    assert decay_factor(3600, F18) == pytest.approx(0.6846, abs=1e-4)


def test_decay_correct_both_directions_and_time_zones() -> None:
    calibrated = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    administered = datetime(2026, 3, 1, 17, 0, tzinfo=SHANGHAI)  # = 09:00 UTC, one hour later
    forward = decay_correct(200.0, measured_at=calibrated, to=administered, half_life_s=F18)
    assert forward == pytest.approx(200 * 0.684633, rel=1e-5)
    back = decay_correct(forward, measured_at=administered, to=calibrated, half_life_s=F18)
    assert back == pytest.approx(200.0)


def test_naive_datetimes_and_bad_numbers_refused() -> None:
    aware = datetime(2026, 3, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="timezone-aware"):
        decay_correct(1.0, measured_at=datetime(2026, 3, 1), to=aware, half_life_s=F18)
    with pytest.raises(ValueError, match="half-life"):
        decay_factor(10, 0)
    with pytest.raises(ValueError, match="activity"):
        decay_correct(-1.0, measured_at=aware, to=aware, half_life_s=F18)


def test_net_administered_activity() -> None:
    t0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    admin = t0 + timedelta(seconds=F18)  # one half-life after calibration
    residual_at = admin + timedelta(seconds=F18)  # residual measured one half-life after administration
    net = net_administered_activity(calibrated_mbq=100.0, calibrated_at=t0, administered_at=admin, half_life_s=F18,
                                    residual_mbq=5.0, residual_at=residual_at)
    assert net == pytest.approx(50.0 - 10.0)
    assert net_administered_activity(calibrated_mbq=100.0, calibrated_at=t0, administered_at=t0, half_life_s=F18) == 100.0
    with pytest.raises(ValueError, match="residual"):
        net_administered_activity(calibrated_mbq=10.0, calibrated_at=t0, administered_at=t0, half_life_s=F18, residual_mbq=11.0)


GA68 = 4062.6  # 67.71 min (reference section 1)
BERLIN, NEW_YORK = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")


@pytest.mark.parametrize(("zone", "calibrated", "administered", "elapsed_h"), [
    # Europe/Berlin, spring: 02:00 CET -> 03:00 CEST on 29 March 2026; 01:30 -> 03:30 local is one hour.
    (BERLIN, datetime(2026, 3, 29, 1, 30), datetime(2026, 3, 29, 3, 30), 1),
    # Europe/Berlin, autumn: 03:00 CEST -> 02:00 CET on 25 October 2026; 01:30 -> 03:30 local is three hours.
    (BERLIN, datetime(2026, 10, 25, 1, 30), datetime(2026, 10, 25, 3, 30), 3),
    # America/New_York, spring: 02:00 EST -> 03:00 EDT on 8 March 2026.
    (NEW_YORK, datetime(2026, 3, 8, 1, 30), datetime(2026, 3, 8, 3, 30), 1),
    # America/New_York, autumn: 02:00 EDT -> 01:00 EST on 1 November 2026.
    (NEW_YORK, datetime(2026, 11, 1, 0, 30), datetime(2026, 11, 1, 2, 30), 3),
])
def test_decay_across_daylight_saving_uses_elapsed_time(zone: ZoneInfo, calibrated: datetime, administered: datetime,
                                                        elapsed_h: int) -> None:
    """68Ga across a daylight-saving change: A = A0 x 2^(-t/T½) with t the elapsed time (reference section 1,
    T½ 67.71 min). Over the Berlin spring change, 01:30 CET to 03:30 CEST is 1 h: 100 MBq -> 54.11 MBq; the
    wall-clock difference (2 h) gave 29.27 MBq, 46 % low (issue 15, defect 5). Both datetimes carry the same
    ZoneInfo, which is what Django hands a service when the platform zone has daylight saving."""
    measured_at, to = calibrated.replace(tzinfo=zone), administered.replace(tzinfo=zone)
    expected = 100.0 * 2 ** (-elapsed_h * 3600 / GA68)
    assert decay_correct(100.0, measured_at=measured_at, to=to, half_life_s=GA68) == pytest.approx(expected, rel=1e-9)
    assert net_administered_activity(calibrated_mbq=100.0, calibrated_at=measured_at, administered_at=to,
                                     half_life_s=GA68) == pytest.approx(expected, rel=1e-9)


def test_berlin_spring_case_value() -> None:
    """The worked example of docs/physics.md: 100 MBq 68Ga at 01:30 CET, given at 03:30 CEST on 29 March 2026."""
    at = decay_correct(100.0, measured_at=datetime(2026, 3, 29, 1, 30, tzinfo=BERLIN),
                       to=datetime(2026, 3, 29, 3, 30, tzinfo=BERLIN), half_life_s=GA68)
    assert at == pytest.approx(54.106, abs=0.0005)
