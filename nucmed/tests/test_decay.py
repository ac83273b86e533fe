from datetime import UTC, datetime, timedelta, timezone

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
