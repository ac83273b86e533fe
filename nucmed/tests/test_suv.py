from dataclasses import replace
from datetime import date, datetime, time

import numpy as np
import pytest

from nucmed.body_size import bsa_du_bois, lbm_james, lbm_janmahasatian, lbm_peters
from nucmed.suv import METHOD_VERSION, SuvHeader, suv_factor, to_suv

CORRECTED = ("NORM", "DTIM", "ATTN", "SCAT", "DECY", "RAN")
DAY = date(2026, 3, 1)


def header(**overrides: object) -> SuvHeader:
    """A BQML/START header: 100 MBq injected 09:00, series 10:00 (one hour), 20 kg child, half-life 3600 s."""
    values: dict[str, object] = {
        "units": "BQML", "decay_correction": "START", "corrected_image": CORRECTED,
        "series_date": DAY, "series_time": time(10, 0), "acquisition_datetimes": [datetime(2026, 3, 1, 10, 0, 5), datetime(2026, 3, 1, 10, 2)],
        "injection_datetime": datetime(2026, 3, 1, 9, 0), "injection_time": time(9, 0),
        "total_dose_bq": 100e6, "half_life_s": 3600.0, "weight_kg": 20.0, "height_m": 1.10, "sex": "F",
    }
    values.update(overrides)
    return SuvHeader(**values)  # type: ignore[arg-type]


def test_bqml_start_hand_computed() -> None:
    # one half-life: decayed dose 50 MBq; 20 000 g / 50e6 Bq = 4e-4
    result = suv_factor(header())
    assert result.factor == pytest.approx(4e-4) and result.not_quantifiable_reason is None
    assert result.decay_s == 3600 and result.decayed_dose_bq == pytest.approx(50e6)
    assert result.scan_time_source == "series" and result.injection_source == "start_datetime"
    assert result.method_version == METHOD_VERSION


def test_bqml_admin_has_no_decay_term() -> None:
    result = suv_factor(header(decay_correction="ADMIN"))
    assert result.factor == pytest.approx(2e-4) and result.decay_s == 0


def test_cnts_philips_factors() -> None:
    direct = suv_factor(header(units="CNTS", philips_suv_scale=0.000728, philips_activity_scale=4.7))
    assert direct.factor == 0.000728  # (7053,1000) wins when present
    activity = suv_factor(header(units="CNTS", philips_activity_scale=2.0, rescale_slope=3.0))
    assert activity.factor == pytest.approx(2.0 * 4e-4)  # the slope stays outside the factor
    refused = suv_factor(header(units="CNTS"))
    assert refused.factor is None and "7053" in refused.not_quantifiable_reason


def test_gml_is_already_suv() -> None:
    assert suv_factor(header(units="GML", total_dose_bq=None, injection_datetime=None)).factor == 1.0


def test_scan_time_rule() -> None:
    # series time after an acquisition (reset by reprocessing): the earliest acquisition is the scan time
    late_series = header(series_time=time(10, 30))
    result = suv_factor(late_series)
    assert result.scan_time_source == "earliest_acquisition" and result.scan_datetime == datetime(2026, 3, 1, 10, 0, 5)
    assert result.factor == pytest.approx(20000 / (100e6 * 2 ** (-3605 / 3600)))
    ge = suv_factor(replace(late_series, ge_scan_datetime=datetime(2026, 3, 1, 10, 0)))
    assert ge.scan_time_source == "ge_private" and ge.factor == pytest.approx(4e-4)


def test_injection_before_midnight_scan_after() -> None:
    result = suv_factor(header(series_date=date(2026, 3, 2), series_time=time(0, 30), acquisition_datetimes=[datetime(2026, 3, 2, 0, 31)],
                               injection_datetime=None, injection_time=time(23, 30)))
    assert result.injection_datetime == datetime(2026, 3, 1, 23, 30) and result.injection_source == "previous_day_start_time"
    assert result.decay_s == 3600 and result.factor == pytest.approx(4e-4)
    same_day = suv_factor(header(injection_datetime=None))
    assert same_day.injection_source == "series_date_start_time" and same_day.factor == pytest.approx(4e-4)


@pytest.mark.parametrize(("overrides", "reason"), [
    ({"decay_correction": "NONE"}, "NONE"),
    ({"decay_correction": ""}, "not START or ADMIN"),
    ({"weight_kg": None}, "weight"),
    ({"weight_kg": 0.0}, "weight"),
    ({"corrected_image": ("ATTN", "SCAT")}, "lacks DECY"),
    ({"corrected_image": ()}, "lacks ATTN and DECY"),
    ({"units": "CPS"}, "Units"),
    ({"total_dose_bq": None}, "RadionuclideTotalDose"),
    ({"half_life_s": 0.0}, "RadionuclideHalfLife"),
    ({"injection_datetime": datetime(2026, 3, 1, 11, 0)}, "decay time is negative"),
    ({"injection_datetime": None, "injection_time": None}, "injection time unknown"),
    ({"series_date": None, "series_time": None, "acquisition_datetimes": []}, "scan time unknown"),
])
def test_refusals_give_reasons(overrides: dict, reason: str) -> None:
    result = suv_factor(header(**overrides))
    assert result.factor is None and reason in result.not_quantifiable_reason
    assert result.lbm_james_factor is None and result.bsa_factor is None


def test_qiba_digital_reference_object() -> None:
    """QIBA PET/CT DRO: 370 MBq, T½ 6586 s, injection 13:01, series 14:01, 59.94 kg: stored 32767 x 0.5300818 -> SUVbw 4.11."""
    dro = header(series_time=time(14, 1), acquisition_datetimes=[datetime(2026, 3, 1, 14, 1)], injection_datetime=None,
                 injection_time=time(13, 1), total_dose_bq=370e6, half_life_s=6586.0, weight_kg=59.94, height_m=None, sex="")
    result = suv_factor(dro)
    assert to_suv(32767, slope=0.5300818, intercept=0.0, factor=result.factor) == pytest.approx(4.11, abs=0.01)
    assert result.variant_reasons["bsa_factor"] == "patient height (PatientSize) missing"


def test_suvlbm_and_suvbsa_factors() -> None:
    result = suv_factor(header())
    assert result.lbm_james_factor == pytest.approx(4e-4 * lbm_james(20, 1.10, "F") / 20)
    assert result.lbm_janmahasatian_factor == pytest.approx(4e-4 * lbm_janmahasatian(20, 1.10, "F") / 20)
    assert result.bsa_factor == pytest.approx(4e-4 * bsa_du_bois(20, 1.10) * 1e4 / 20000)
    unknown_sex = suv_factor(header(sex="O"))
    assert unknown_sex.lbm_james_factor is None and "sex" in unknown_sex.variant_reasons["lbm_james_factor"]
    assert unknown_sex.bsa_factor is not None  # Du Bois does not need sex


def test_sul_factor_by_the_childrens_formula() -> None:
    """SUL (Peters 2011 eLBM, Br J Anaesth 106:719) = SUVbw factor x eLBM / W; one formula for both sexes."""
    result = suv_factor(header())
    assert result.lbm_peters_factor == pytest.approx(4e-4 * lbm_peters(20, 1.10) / 20)
    assert suv_factor(header(sex="O")).lbm_peters_factor == result.lbm_peters_factor


def test_to_suv_per_slice_arrays() -> None:
    stored = np.array([[0, 100], [200, 300]])
    slopes = np.array([0.5, 2.0])[:, None]  # a different slope per slice (GE)
    assert np.allclose(to_suv(stored, slope=slopes, intercept=0.0, factor=1e-3), [[0, 0.05], [0.4, 0.6]])


# Independent vectors: cornerstonejs/calculate-suv test/metadata/*-instances.json and the expected factors of
# test/calculateSUV_SampleData.test.ts (transcribed: header values of the first instance of each series).
CORNERSTONE = [
    ("SIEMENS", dict(units="BQML", series_time=time(10, 48, 29), acquisition_datetimes=[datetime(2020, 12, 17, 10, 48, 30, 351370)],
                     injection_datetime=datetime(2020, 12, 17, 8, 30, 45), injection_time=time(8, 30, 45), total_dose_bq=374e6,
                     half_life_s=6586.2, weight_kg=67.0, sex="M", height_m=None), 0.00042748316187197236),
    ("GE_MEDICAL_AND_BQML", dict(units="BQML", series_time=time(9, 56, 21), acquisition_datetimes=[datetime(2020, 12, 17, 9, 56, 21)],
                                 injection_datetime=datetime(2020, 12, 17, 8, 45), injection_time=time(8, 45), total_dose_bq=152022720.0,
                                 half_life_s=6586.2001953125, weight_kg=52.0, sex="F", height_m=1.65), 0.0005367387681819742),
    ("PHILIPS_BQML", dict(units="BQML", series_time=time(11, 1, 55), acquisition_datetimes=[datetime(2020, 12, 17, 11, 1, 56)],
                          injection_datetime=datetime(2020, 12, 17, 10, 0, 58), injection_time=time(10, 0, 58), total_dose_bq=126e6,
                          half_life_s=6586.199707, weight_kg=64.0, sex="F", height_m=1.75, philips_suv_scale=0.003515736,
                          philips_activity_scale=4.709921), 0.0007463747013889488),
    ("PHILIPS_CNTS_AND_SUV", dict(units="CNTS", series_time=time(13, 45, 51), acquisition_datetimes=[datetime(2020, 12, 17, 14, 13, 36)],
                                  injection_datetime=None, injection_time=time(12, 30), total_dose_bq=208230000.0, half_life_s=6588.0,
                                  weight_kg=47.0, sex="F", height_m=None, philips_suv_scale=0.000728), 0.000728),
    ("BQML_AC_DT_BEFORE_S_DT_SIEMENS", dict(units="BQML", series_time=time(12, 35, 15),
                                            acquisition_datetimes=[datetime(2020, 12, 17, 12, 35, 14, 999995)], injection_datetime=None,
                                            injection_time=time(11, 41), total_dose_bq=225e6, half_life_s=6586.2, weight_kg=65.0, sex="M",
                                            height_m=None), 0.0004069156854009332),
    ("RADIOPHARM_DATETIME_UNDEFINED", dict(units="BQML", series_time=time(13, 54, 31, 843000),
                                           acquisition_datetimes=[datetime(2020, 12, 17, 14, 15, 55, 687000)], injection_datetime=None,
                                           injection_time=time(12, 50), total_dose_bq=412e6, half_life_s=6586.2, weight_kg=102.0, sex="M",
                                           height_m=None), 0.0003721089202818729),
]


@pytest.mark.parametrize(("name", "values", "expected"), CORNERSTONE, ids=[c[0] for c in CORNERSTONE])
def test_cornerstone_calculate_suv_vectors(name: str, values: dict, expected: float) -> None:
    result = suv_factor(header(series_date=date(2020, 12, 17), corrected_image=("DECY", "ATTN", "SCAT"), **values))
    assert result.factor == pytest.approx(expected, abs=1e-6 * 0.01)  # the vectors carry ~10 significant digits
