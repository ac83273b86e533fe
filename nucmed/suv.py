"""SUV conversion factors from PET header values, after the QIBA vendor-neutral pseudo-code (reference section 5).

Pure: the caller reads the DICOM attributes into a `SuvHeader` (no pydicom here). `suv_factor()` returns the
factor that turns a rescaled pixel value into SUVbw:

    SUVbw = (stored value x RescaleSlope + RescaleIntercept) x factor

The slope can differ per slice (GE), so the factor excludes it, except where the pseudo-code itself folds a
vendor scale into it (Philips (7053,1009), see below). A series that cannot be quantified gets factor None and
the reason; nothing here raises for bad header content.

Datetimes come aware from imaging.dicom.suv_headers (each with the offset DICOM or the site's zone gives it), so
the decay time is elapsed time across a daylight-saving change; naive ones (tests, old callers) are taken as one
scanner's wall clock. A header mixing both is refused.
"""
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

import numpy as np

from nucmed import body_size
from nucmed.decay import decay_factor
from nucmed.instants import elapsed_seconds

METHOD_VERSION = "qiba-suv-vendor-neutral/nbnm-2026.1"


@dataclass(frozen=True)
class SuvHeader:
    """The header values SUV needs. Field names match imaging.dicom.suv_headers.PetHeader."""

    units: str  # Units (0054,1001): BQML, CNTS, GML
    decay_correction: str  # DecayCorrection (0054,1102): START, ADMIN, NONE
    corrected_image: tuple[str, ...]  # CorrectedImage (0028,0051)
    series_date: date | None  # SeriesDate (0008,0021)
    series_time: time | None  # SeriesTime (0008,0031)
    acquisition_datetimes: Sequence[datetime]  # AcquisitionDate/Time (0008,0022/0032) of every image of the series
    injection_datetime: datetime | None  # RadiopharmaceuticalStartDateTime (0018,1078)
    injection_time: time | None  # RadiopharmaceuticalStartTime (0018,1072)
    total_dose_bq: float | None  # RadionuclideTotalDose (0018,1074)
    half_life_s: float | None  # RadionuclideHalfLife (0018,1075)
    weight_kg: float | None  # PatientWeight (0010,1030)
    height_m: float | None = None  # PatientSize (0010,1020)
    sex: str = ""  # PatientSex (0010,0040)
    manufacturer: str = ""  # Manufacturer (0008,0070)
    rescale_slope: float = 1.0  # RescaleSlope (0028,1053): not part of the factor (applied per slice); kept so PetHeader maps 1:1
    philips_suv_scale: float | None = None  # Philips private (7053,1000) SUV scale factor
    philips_activity_scale: float | None = None  # Philips private (7053,1009) activity concentration scale factor
    ge_scan_datetime: datetime | None = None  # GE private (0009,100D) scan date-time


@dataclass(frozen=True)
class SuvFactor:
    factor: float | None  # SUVbw factor (g/ml per rescaled unit); None when not quantifiable
    not_quantifiable_reason: str | None
    units: str
    decay_correction: str
    scan_datetime: datetime | None = None
    injection_datetime: datetime | None = None
    decay_s: float | None = None
    decayed_dose_bq: float | None = None
    scan_time_source: str | None = None  # "series", "earliest_acquisition", "ge_private"
    injection_source: str | None = None  # "start_datetime", "series_date_start_time", "previous_day_start_time"; "admin" (ADMIN: none needed)
    lbm_james_factor: float | None = None  # SUVlbm (James) factor = factor x LBM / W
    lbm_janmahasatian_factor: float | None = None
    lbm_peters_factor: float | None = None  # SUL by the children's formula (Peters 2011), body_size.LBM_FORMULAS
    bsa_factor: float | None = None  # SUVbsa factor (cm²/ml) = factor x BSA(cm²) / W(g)
    variant_reasons: dict[str, str] = field(default_factory=dict)  # why a variant factor is missing
    method_version: str = METHOD_VERSION


def _refuse(header: SuvHeader, reason: str, **known: object) -> SuvFactor:
    return SuvFactor(None, reason, header.units, header.decay_correction, **known)  # type: ignore[arg-type]


def _usable(value: float | None) -> bool:
    return value is not None and math.isfinite(value) and value > 0


def scan_datetime(header: SuvHeader) -> tuple[datetime | None, str | None, str | None]:
    """The scan reference time per QIBA: (datetime, source, reason when none).

    SeriesDate/Time when it is not after the AcquisitionDate/Time of any image of the series; otherwise
    (the series time was reset, e.g. by post-processing) the GE private scan date-time when present, else the
    earliest acquisition date-time.
    """
    series = datetime.combine(header.series_date, header.series_time) if header.series_date and header.series_time else None
    earliest = min(header.acquisition_datetimes) if header.acquisition_datetimes else None
    if series is None and earliest is None:
        return None, None, "no series date/time and no acquisition date/time: scan time unknown"
    if earliest is None:
        return series, "series", None  # nothing to check it against
    if series is not None and series <= earliest:
        return series, "series", None
    if header.ge_scan_datetime is not None:
        return header.ge_scan_datetime, "ge_private", None
    return earliest, "earliest_acquisition", None


def injection_datetime(header: SuvHeader, scan: datetime) -> tuple[datetime | None, str | None, str | None]:
    """The injection time: RadiopharmaceuticalStartDateTime, else SeriesDate + RadiopharmaceuticalStartTime.

    With only the time of day, an injection that would fall after the scan is taken to be on the previous day
    (injected before midnight, scanned after it).
    """
    if header.injection_datetime is not None:
        return header.injection_datetime, "start_datetime", None
    if header.injection_time is None:
        return None, None, "no RadiopharmaceuticalStartDateTime (0018,1078) or RadiopharmaceuticalStartTime (0018,1072): injection time unknown"
    day = header.series_date or scan.date()
    start = datetime.combine(day, header.injection_time, tzinfo=header.injection_time.tzinfo or scan.tzinfo)
    if start > scan:
        return start - timedelta(days=1), "previous_day_start_time", None
    return start, "series_date_start_time", None


def _bqml_factor(header: SuvHeader) -> SuvFactor:
    """Weight (g) / decayed dose (Bq) for activity-concentration images; also the base of Philips (7053,1009)."""
    if not _usable(header.total_dose_bq):
        return _refuse(header, "RadionuclideTotalDose (0018,1074) missing or not positive")
    if header.decay_correction == "ADMIN":
        # Images already decay-corrected to the administration time: no decay term.
        return SuvFactor(header.weight_kg * 1000.0 / header.total_dose_bq, None, header.units, header.decay_correction,  # type: ignore[operator]
                         decay_s=0.0, decayed_dose_bq=header.total_dose_bq, injection_source="admin")
    if not _usable(header.half_life_s):
        return _refuse(header, "RadionuclideHalfLife (0018,1075) missing or not positive")
    try:
        scan, scan_source, reason = scan_datetime(header)
        if scan is None:
            return _refuse(header, reason or "scan time unknown")
        injection, injection_source, reason = injection_datetime(header, scan)
        if injection is None:
            return _refuse(header, reason or "injection time unknown", scan_datetime=scan, scan_time_source=scan_source)
        # Aware times (date-times carrying their offsets) are instants: the elapsed time between them, across a
        # daylight-saving change too. Naive ones are one scanner's wall clock, subtracted as they stand.
        decay_s = elapsed_seconds(injection, scan) if scan.tzinfo and injection.tzinfo else (scan - injection).total_seconds()
    except TypeError:  # naive and aware datetimes mixed
        return _refuse(header, "header date-times mix time-zone-aware and naive values")
    known = {"scan_datetime": scan, "injection_datetime": injection, "decay_s": decay_s, "scan_time_source": scan_source,
             "injection_source": injection_source}
    if decay_s < 0:
        return _refuse(header, f"decay time is negative ({decay_s:.0f} s): injection recorded after the scan", **known)
    decayed = header.total_dose_bq * decay_factor(decay_s, header.half_life_s)  # type: ignore[operator, arg-type]
    return SuvFactor(header.weight_kg * 1000.0 / decayed, None, header.units, header.decay_correction,  # type: ignore[operator]
                     decayed_dose_bq=decayed, **known)  # type: ignore[arg-type]


def _with_variants(result: SuvFactor, header: SuvHeader) -> SuvFactor:
    """Add SUVlbm (James, Janmahasatian, Peters) and SUVbsa (Du Bois) factors, derived from the SUVbw factor."""
    if result.factor is None:
        return result
    reasons: dict[str, str] = {}
    values: dict[str, float | None] = {"lbm_james_factor": None, "lbm_janmahasatian_factor": None, "lbm_peters_factor": None,
                                       "bsa_factor": None}
    weight, height, sex = header.weight_kg, header.height_m, header.sex
    if not _usable(height):
        reasons = dict.fromkeys(values, "patient height (PatientSize) missing")
    else:
        computations = {
            "lbm_james_factor": lambda: body_size.lbm_james(weight, height, sex) / weight,  # type: ignore[arg-type, operator]
            "lbm_janmahasatian_factor": lambda: body_size.lbm_janmahasatian(weight, height, sex) / weight,  # type: ignore[arg-type, operator]
            "lbm_peters_factor": lambda: body_size.lbm_peters(weight, height) / weight,  # type: ignore[arg-type, operator]
            # BSA in cm² over weight in g: SUVbsa in cm²/ml
            "bsa_factor": lambda: body_size.bsa_du_bois(weight, height) * 1e4 / (weight * 1000.0),  # type: ignore[arg-type, operator]
        }
        for name, compute in computations.items():
            try:
                values[name] = result.factor * compute()
            except ValueError as exc:
                reasons[name] = str(exc)
    return replace(result, **values, variant_reasons=reasons)


def suv_factor(header: SuvHeader) -> SuvFactor:
    """The SUVbw factor of a PET series (QIBA vendor-neutral pseudo-code, reference section 5), with SUVlbm/SUVbsa.

    Refused (factor None, with the reason) when: CorrectedImage lacks ATTN or DECY; DecayCorrection is NONE or
    unknown; the weight is missing; Units are not BQML/CNTS/GML; CNTS without a Philips scale factor; the dose,
    half-life, scan or injection time is missing; the decay time is negative.

    - BQML: weight (g) / (total dose x 2^(-(scan - injection) / T½)); DecayCorrection ADMIN: no decay term.
    - CNTS (Philips): (7053,1000) is the SUVbw factor itself; else stored x RescaleSlope x (7053,1009) is Bq/ml,
      so the factor is (7053,1009) x the BQML factor (the slope stays outside, applied per slice).
    - GML: the images are already SUVbw: factor 1.
    """
    units, decay = header.units.upper().strip(), header.decay_correction.upper().strip()
    header = replace(header, units=units, decay_correction=decay, corrected_image=tuple(v.upper().strip() for v in header.corrected_image))
    missing = [flag for flag in ("ATTN", "DECY") if flag not in header.corrected_image]
    if missing:
        return _refuse(header, f"CorrectedImage (0028,0051) lacks {' and '.join(missing)}: image not attenuation/decay corrected")
    if decay == "NONE":
        return _refuse(header, "DecayCorrection (0054,1102) is NONE: the image is not decay corrected")
    if decay not in ("START", "ADMIN"):
        return _refuse(header, f"DecayCorrection (0054,1102) {decay or '(empty)'} is not START or ADMIN")
    if not _usable(header.weight_kg):
        return _refuse(header, "patient weight (0010,1030) missing or not positive")
    if units == "BQML":
        result = _bqml_factor(header)
    elif units == "CNTS":
        if _usable(header.philips_suv_scale):
            result = SuvFactor(header.philips_suv_scale, None, units, decay)
        elif _usable(header.philips_activity_scale):
            # stored x RescaleSlope x (7053,1009) is Bq/ml: the slope is applied per slice by the caller, as for BQML.
            base = _bqml_factor(header)
            result = base if base.factor is None else replace(base, factor=base.factor * header.philips_activity_scale)  # type: ignore[operator]
        else:
            return _refuse(header, "Units CNTS without a Philips SUV scale factor (7053,1000) or activity concentration scale factor (7053,1009)")
    elif units == "GML":
        result = SuvFactor(1.0, None, units, decay)
    else:
        return _refuse(header, f"Units (0054,1001) {units or '(empty)'} cannot be converted to SUV (expected BQML, CNTS or GML)")
    return _with_variants(result, header)


def to_suv(stored: np.ndarray | float, *, slope: float, intercept: float, factor: float) -> np.ndarray | float:
    """SUV from stored pixel values: (stored x slope + intercept) x factor (works on numpy arrays and numbers)."""
    return (stored * slope + intercept) * factor
