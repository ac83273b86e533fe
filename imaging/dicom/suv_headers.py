"""What SUV needs from a PET series' headers (reference section 5), read into nucmed's SuvHeader.

The first instance gives the series-level attributes; the acquisition date-times of every instance come
from the Instance rows (read at ingest), so the QIBA scan-time rule sees the whole series without
re-reading the files. Vendor private attributes are looked up through their Private Creator (the
de-identification keeps exactly these: Philips (7053,xx00)/(7053,xx09), GE (0009,xx0D)).

Every date-time leaves here as an aware instant, so the decay time is elapsed time even when a daylight-saving
change falls between injection and scan (docs/physics.md, "Time"). DICOM's own order decides a time's offset
(PS3.3 C.12.1, TimezoneOffsetFromUTC): a DT value's explicit offset ("dt_offset"); else the instance's
TimezoneOffsetFromUTC (0008,0201), which covers every DA/TM and offset-less DT of the instance
("timezone_offset_from_utc"); else the zone of the acquiring site. Sites carry no zone of their own yet, so that
is the platform's TIME_ZONE ("platform_zone"), where each wall-clock time gets the offset in force at that time.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from pydicom.dataset import Dataset
from pydicom.valuerep import DA, DT, TM

from nucmed.suv import SuvHeader


def _float(value: object) -> float | None:
    try:
        return float(value) if value not in (None, "") else None  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _dt(value: object, local: tzinfo) -> datetime | None:
    """A DT value as an instant: its own offset when it has one, else read on the `local` clock."""
    if not value:
        return None
    try:
        parsed = DT(value)
    except ValueError:
        return None
    if parsed is None:
        return None
    plain = datetime(parsed.year, parsed.month, parsed.day, parsed.hour, parsed.minute, parsed.second, parsed.microsecond)
    return plain.replace(tzinfo=parsed.tzinfo or local)


def _has_offset(value: object) -> bool:
    try:
        return bool(value) and DT(value).tzinfo is not None  # type: ignore[union-attr]
    except (ValueError, AttributeError):
        return False


def _tm(value: object, local: tzinfo | None = None) -> time | None:
    try:
        parsed = TM(value) if value else None
    except ValueError:
        return None
    return time(parsed.hour, parsed.minute, parsed.second, parsed.microsecond, tzinfo=local) if parsed is not None else None


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


def _file_offset(ds: Dataset) -> timezone | None:
    """TimezoneOffsetFromUTC (0008,0201), "+HHMM"/"-HHMM"; None when absent or malformed (then the site's zone applies)."""
    value = str(ds.get("TimezoneOffsetFromUTC", "") or "").strip()
    if len(value) != 5 or value[0] not in "+-" or not value[1:].isdigit():
        return None
    hours, minutes = int(value[1:3]), int(value[3:])
    if hours > 14 or minutes > 59:
        return None
    sign = -1 if value[0] == "-" else 1
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def local_clock(ds: Dataset, *, zone: str | None = None) -> tuple[tzinfo, str]:
    """The clock of the instance's offset-less times and where it came from ("timezone_offset_from_utc" or "platform_zone")."""
    offset = _file_offset(ds)
    if offset is not None:
        return offset, "timezone_offset_from_utc"
    return ZoneInfo(zone or settings.TIME_ZONE), "platform_zone"


def acquisition_datetime(value: str, local: tzinfo | None = None) -> datetime | None:
    """An Instance.acquisition value (AcquisitionDate + AcquisitionTime, as read at ingest), on the `local` clock."""
    if len(value) < 14:
        return None
    day, clock = _da(value[:8]), _tm(value[8:], local)
    return datetime.combine(day, clock) if day and clock else None


def time_offsets(ds: Dataset, header: SuvHeader, *, zone: str | None = None) -> dict[str, Any]:
    """Which offset each time of the SUV decay was read with, for the SUV result's details.

    When the injection time is read with the file's TimezoneOffsetFromUTC but the site's zone gives that wall-clock
    time another offset (a daylight-saving change between injection and the file's creation), a note says so: the
    file's offset is DICOM's rule and is applied, but an injection time typed from the local clock is then off by the
    difference, and only the site can tell.
    """
    _local, source = local_clock(ds, zone=zone)
    rp = (ds.get("RadiopharmaceuticalInformationSequence") or [Dataset()])[0]
    ge = _private(ds, 0x0009, "GEMS_PETD_01", 0x0D)
    site_zone = ZoneInfo(zone or settings.TIME_ZONE)
    offsets: dict[str, Any] = {
        "injection": "dt_offset" if _has_offset(rp.get("RadiopharmaceuticalStartDateTime")) else source,
        "scan": source, "ge_scan": ("dt_offset" if _has_offset(ge) else source) if ge else None,
        "timezone_offset_from_utc": str(ds.get("TimezoneOffsetFromUTC", "") or "") or None, "zone": site_zone.key, "note": None,
    }
    injection = header.injection_datetime
    if injection is None and header.series_date and header.injection_time:
        injection = datetime.combine(header.series_date, header.injection_time)
    if offsets["injection"] == "timezone_offset_from_utc" and injection is not None:
        in_zone = injection.replace(tzinfo=site_zone).utcoffset()
        if in_zone != injection.utcoffset():
            offsets["note"] = (f"the injection wall-clock time has offset {_hhmm(in_zone)} in {site_zone.key} but the file declares "
                               f"{_hhmm(injection.utcoffset())}; the file's offset was applied")
    return offsets


def _hhmm(offset: timedelta | None) -> str:
    minutes = int((offset or timedelta()).total_seconds() // 60)
    return f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def pet_header(ds: Dataset, *, acquisitions: list[str], zone: str | None = None) -> SuvHeader:
    """The SUV header of a PET series with every date-time an aware instant (module docstring: which offset)."""
    rp = (ds.get("RadiopharmaceuticalInformationSequence") or [Dataset()])[0]
    local, _source = local_clock(ds, zone=zone)
    times = tuple(sorted(t for t in (acquisition_datetime(a, local) for a in acquisitions) if t is not None))
    return SuvHeader(
        units=str(ds.get("Units", "") or "").upper(),
        decay_correction=str(ds.get("DecayCorrection", "") or "").upper(),
        corrected_image=tuple(str(v).upper() for v in (ds.get("CorrectedImage") or [])),
        series_date=_da(ds.get("SeriesDate")), series_time=_tm(ds.get("SeriesTime"), local),
        acquisition_datetimes=times,
        injection_datetime=_dt(rp.get("RadiopharmaceuticalStartDateTime"), local),
        injection_time=_tm(rp.get("RadiopharmaceuticalStartTime"), local),
        total_dose_bq=_float(rp.get("RadionuclideTotalDose")), half_life_s=_float(rp.get("RadionuclideHalfLife")),
        weight_kg=_float(ds.get("PatientWeight")), height_m=_float(ds.get("PatientSize")),
        sex=str(ds.get("PatientSex", "") or "").upper(), manufacturer=str(ds.get("Manufacturer", "") or ""),
        rescale_slope=_float(ds.get("RescaleSlope")) or 1.0,
        philips_suv_scale=_float(_private(ds, 0x7053, "Philips PET Private Group", 0x00)),
        philips_activity_scale=_float(_private(ds, 0x7053, "Philips PET Private Group", 0x09)),
        ge_scan_datetime=_dt(_private(ds, 0x0009, "GEMS_PETD_01", 0x0D), local),
    )
