"""SUV decay time between aware header date-times is the elapsed time (issue 15, defect 5): 18F-FDG injected at
01:30 CET and scanned at 03:30 CEST on 29 March 2026 (Europe/Berlin spring change) decayed for 1 h, not 2 h."""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from nucmed.suv import SuvHeader, suv_factor

BERLIN = ZoneInfo("Europe/Berlin")
F18 = 6586.2


def test_suv_decay_across_the_berlin_spring_change() -> None:
    """SUVbw factor = weight (g) / (dose x 2^(-t/T½)) (QIBA; reference section 5): 20 kg, 100 MBq, t = 3600 s."""
    header = SuvHeader(units="BQML", decay_correction="START", corrected_image=("ATTN", "DECY"), series_date=None, series_time=None,
                       acquisition_datetimes=(datetime(2026, 3, 29, 3, 30, tzinfo=BERLIN),),
                       injection_datetime=datetime(2026, 3, 29, 1, 30, tzinfo=BERLIN), injection_time=None,
                       total_dose_bq=100e6, half_life_s=F18, weight_kg=20.0)
    result = suv_factor(header)
    assert result.decay_s == 3600.0
    assert result.factor == pytest.approx(20_000 / (100e6 * 2 ** (-3600 / F18)), rel=1e-12)
