"""SUV decay time on instants read from the PET headers (issue 15, defect 5; docs/physics.md, "Time" and "SUV").

Every case: 18F-FDG (T½ 6586.2 s), 100 MBq (RadionuclideTotalDose), 20 kg, BQML, DecayCorrection START. The
QIBA SUVbw factor is weight (g) / (dose x 2^(-t/T½)), t from injection to the series time:
- t = 3600 s: 100e6 x 2^(-3600/6586.2) = 68 463 291.96 Bq, factor 20 000 / that = 2.921273e-4 g/ml per Bq/ml;
- t = 7200 s: 100e6 x 2^(-7200/6586.2) = 46 872 223.46 Bq, factor 4.266919e-4.
Europe/Berlin, 29 March 2026: clocks go from 02:00 CET (+01:00) to 03:00 CEST (+02:00).
"""
from datetime import UTC, datetime

import pytest
from django.test import override_settings
from pydicom.dataset import Dataset

from imaging.dicom.suv_headers import pet_header, time_offsets
from imaging.services.suv import suv_factors
from nucmed.suv import suv_factor

F18 = 6586.2
ONE_HOUR_FACTOR = 20_000 / (100e6 * 2 ** (-3600 / F18))
TWO_HOURS_FACTOR = 20_000 / (100e6 * 2 ** (-7200 / F18))
ACQUISITIONS = ["20260329033000", "20260329033300", "20260329033600"]  # three bed positions on the CEST wall clock


def pet(*, injection: str | None = "20260329013000", injection_time: str | None = None, offset: str | None = None,
        series_time: str = "033000") -> Dataset:
    rp = Dataset()
    if injection:
        rp.RadiopharmaceuticalStartDateTime = injection
    if injection_time:
        rp.RadiopharmaceuticalStartTime = injection_time
    rp.RadionuclideTotalDose, rp.RadionuclideHalfLife = "100000000", str(F18)
    ds = Dataset()
    ds.RadiopharmaceuticalInformationSequence = [rp]
    ds.Units, ds.DecayCorrection, ds.CorrectedImage = "BQML", "START", ["ATTN", "DECY"]
    ds.SeriesDate, ds.SeriesTime, ds.PatientWeight, ds.Manufacturer = "20260329", series_time, "20", "SIEMENS"
    if offset:
        ds.TimezoneOffsetFromUTC = offset
    return ds


@override_settings(TIME_ZONE="Europe/Berlin")
def test_only_the_zone_decay_across_the_berlin_spring_change() -> None:
    """No offset anywhere: each wall-clock time gets Europe/Berlin's offset at that time. Injection 01:30 CET
    (00:30 UTC), scan 03:30 CEST (01:30 UTC): 3600 s of decay, factor 2.921273e-4 (the wall clock says 2 h: 4.266919e-4, 46 % high)."""
    ds = pet()
    header = pet_header(ds, acquisitions=ACQUISITIONS)
    result = suv_factor(header)
    assert result.decay_s == 3600.0 and result.scan_time_source == "series"
    assert result.factor == pytest.approx(ONE_HOUR_FACTOR, rel=1e-12)
    assert result.injection_datetime.astimezone(UTC) == datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # type: ignore[union-attr]
    offsets = time_offsets(ds, header)
    assert (offsets["injection"], offsets["scan"], offsets["zone"], offsets["note"]) == ("platform_zone", "platform_zone", "Europe/Berlin", None)


@override_settings(TIME_ZONE="Europe/Berlin")
def test_only_the_zone_with_the_injection_time_of_day() -> None:
    """RadiopharmaceuticalStartTime only (QIBA: on the series date): 01:30 on 29 March in Berlin is still CET, so 3600 s again."""
    header = pet_header(pet(injection=None, injection_time="013000"), acquisitions=ACQUISITIONS)
    result = suv_factor(header)
    assert (result.injection_source, result.decay_s) == ("series_date_start_time", 3600.0)
    assert result.factor == pytest.approx(ONE_HOUR_FACTOR, rel=1e-12)


@override_settings(TIME_ZONE="Europe/Berlin")
def test_the_files_offset_governs_an_injection_date_time_without_offset() -> None:
    """Injection DT "20260329013000" without offset in a file with TimezoneOffsetFromUTC +0200 (written after the change).
    DICOM (PS3.3 C.12.1) applies the file's offset to every DT without its own: injection 01:30+02:00 (23:30 UTC on the
    28th), scan 03:30+02:00 (01:30 UTC): 7200 s, factor 4.266919e-4. The site's zone would give 01:30 +01:00, so the
    result carries a note; the file's offset is applied because only the site knows which clock the time was typed from."""
    ds = pet(offset="+0200")
    header = pet_header(ds, acquisitions=ACQUISITIONS)
    result = suv_factor(header)
    assert result.decay_s == 7200.0
    assert result.factor == pytest.approx(TWO_HOURS_FACTOR, rel=1e-12)
    offsets = time_offsets(ds, header)
    assert (offsets["injection"], offsets["scan"], offsets["timezone_offset_from_utc"]) == (
        "timezone_offset_from_utc", "timezone_offset_from_utc", "+0200")
    assert "+01:00 in Europe/Berlin" in offsets["note"] and "declares +02:00" in offsets["note"]


@override_settings(TIME_ZONE="Europe/Berlin")
def test_the_injection_date_times_own_offset_comes_first() -> None:
    """Injection DT "20260329013000+0100" in a file declaring +0200: the DT's own offset wins (00:30 UTC), the scan times
    take the file's (03:30+02:00 = 01:30 UTC): 3600 s, factor 2.921273e-4, and no note (nothing was assumed)."""
    ds = pet(injection="20260329013000+0100", offset="+0200")
    header = pet_header(ds, acquisitions=ACQUISITIONS)
    result = suv_factor(header)
    assert result.decay_s == 3600.0 and result.factor == pytest.approx(ONE_HOUR_FACTOR, rel=1e-12)
    offsets = time_offsets(ds, header)
    assert (offsets["injection"], offsets["scan"], offsets["note"]) == ("dt_offset", "timezone_offset_from_utc", None)


@override_settings(TIME_ZONE="America/New_York")
def test_new_york_autumn_change_and_the_qiba_earliest_acquisition() -> None:
    """America/New_York, 1 November 2026: 02:00 EDT (-04:00) becomes 01:00 EST (-05:00). Injection 00:30 EDT (04:30 UTC);
    the series time was reset to 03:00 EST by post-processing, later than the acquisitions, so QIBA takes the earliest
    acquisition, 02:30 EST (07:30 UTC): 3 h = 10 800 s of decay (the wall clock says 2 h). Factor
    20 000 / (100e6 x 2^(-10800/6586.2)) = 6.232e-4."""
    ds = pet(injection="20261101003000", series_time="030000")
    ds.SeriesDate = "20261101"
    header = pet_header(ds, acquisitions=["20261101023000", "20261101024500"])
    result = suv_factor(header)
    assert (result.scan_time_source, result.decay_s) == ("earliest_acquisition", 10_800.0)
    assert result.factor == pytest.approx(20_000 / (100e6 * 2 ** (-10_800 / F18)), rel=1e-12)


@override_settings(TIME_ZONE="Europe/Berlin")
def test_malformed_file_offset_falls_back_to_the_zone_and_details_name_it() -> None:
    """TimezoneOffsetFromUTC "0200" (no sign) is not a DICOM offset: the zone reads the times (3600 s) and the stored
    details say so, beside the aware scan and injection instants."""
    ds = pet(offset="0200")
    header = pet_header(ds, acquisitions=ACQUISITIONS)
    fields = suv_factors(header)
    assert fields["suv_bw_factor"] == pytest.approx(ONE_HOUR_FACTOR, rel=1e-12)
    assert fields["details"]["injection_datetime"] == "2026-03-29T01:30:00+01:00"
    assert fields["details"]["scan_datetime"] == "2026-03-29T03:30:00+02:00"
    assert time_offsets(ds, header)["scan"] == "platform_zone"
