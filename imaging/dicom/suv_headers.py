"""What SUV needs from a PET series' headers (reference section 5), read into nucmed's SuvHeader.

The first instance gives the series-level attributes; the acquisition date-times of every instance come
from the Instance rows (read at ingest), so the QIBA scan-time rule sees the whole series without
re-reading the files. Vendor private attributes are looked up through their Private Creator (the
de-identification keeps exactly these: Philips (7053,xx00)/(7053,xx09), GE (0009,xx0D)).
"""
from __future__ import annotations

from datetime import date, datetime, time

from pydicom.dataset import Dataset
from pydicom.valuerep import DA, DT, TM

from nucmed.suv import SuvHeader


def _float(value: object) -> float | None:
    try:
        return float(value) if value not in (None, "") else None  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _dt(value: object) -> datetime | None:
    if not value:
        return None
    try:
        parsed = DT(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=None) if parsed is not None else None


def _tm(value: object) -> time | None:
    try:
        parsed = TM(value) if value else None
    except ValueError:
        return None
    return time(parsed.hour, parsed.minute, parsed.second, parsed.microsecond) if parsed is not None else None


def _da(value: object) -> date | None:
    try:
        parsed = DA(value) if value else None
    except ValueError:
        return None
    return date(parsed.year, parsed.month, parsed.day) if parsed is not None else None


def _private(ds: Dataset, group: int, creator: str, element: int) -> object:
    try:
        return ds.private_block(group, creator)[element].value
    except KeyError:
        return None


def acquisition_datetime(value: str) -> datetime | None:
    """An Instance.acquisition value (AcquisitionDate + AcquisitionTime, as read at ingest)."""
    if len(value) < 14:
        return None
    day, clock = _da(value[:8]), _tm(value[8:])
    return datetime.combine(day, clock) if day and clock else None


def pet_header(ds: Dataset, *, acquisitions: list[str]) -> SuvHeader:
    rp = (ds.get("RadiopharmaceuticalInformationSequence") or [Dataset()])[0]
    times = tuple(sorted(t for t in (acquisition_datetime(a) for a in acquisitions) if t is not None))
    return SuvHeader(
        units=str(ds.get("Units", "") or "").upper(),
        decay_correction=str(ds.get("DecayCorrection", "") or "").upper(),
        corrected_image=tuple(str(v).upper() for v in (ds.get("CorrectedImage") or [])),
        series_date=_da(ds.get("SeriesDate")), series_time=_tm(ds.get("SeriesTime")),
        acquisition_datetimes=times,
        injection_datetime=_dt(rp.get("RadiopharmaceuticalStartDateTime")),
        injection_time=_tm(rp.get("RadiopharmaceuticalStartTime")),
        total_dose_bq=_float(rp.get("RadionuclideTotalDose")), half_life_s=_float(rp.get("RadionuclideHalfLife")),
        weight_kg=_float(ds.get("PatientWeight")), height_m=_float(ds.get("PatientSize")),
        sex=str(ds.get("PatientSex", "") or "").upper(), manufacturer=str(ds.get("Manufacturer", "") or ""),
        rescale_slope=_float(ds.get("RescaleSlope")) or 1.0,
        philips_suv_scale=_float(_private(ds, 0x7053, "Philips PET Private Group", 0x00)),
        philips_activity_scale=_float(_private(ds, 0x7053, "Philips PET Private Group", 0x09)),
        ge_scan_datetime=_dt(_private(ds, 0x0009, "GEMS_PETD_01", 0x0D)),
    )
