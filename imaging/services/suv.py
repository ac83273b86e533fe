"""The SUV step: SUV factors of a PET series (nucmed's QIBA implementation) and its whole-series SUVmax.

A series that cannot be quantified (not decay corrected, weight missing, unknown units, ...) gets a
SuvResult with the reason and no numbers: the pipeline carries on (previews are then in Bq/ml).
"""
from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any

import numpy as np
from django.db import transaction

from imaging.dicom.suv_headers import pet_header, time_offsets
from imaging.models import Series, SuvResult
from imaging.volume import Progress, VolumeError, published_instances, read_dataset, series_volume
from nucmed.suv import SuvHeader, suv_factor
from registry.audit import audit_record, snapshot
from registry.models import User
from registry.models.people import SYSTEM_USERNAME

SUV_FIELDS = ("quantifiable", "not_quantifiable_reason", "units", "decay_correction", "suv_bw_factor", "suv_lbm_factor",
              "suv_lbm_janma_factor", "suv_bsa_factor", "suv_max", "suv_max_position_mm", "method_version", "details")


def suv_factors(header: SuvHeader) -> dict[str, Any]:
    """nucmed's SUV factors for the header, as SuvResult fields (with how they were obtained in `details`)."""
    result = suv_factor(header)
    details = {"scan_datetime": _iso(result.scan_datetime), "injection_datetime": _iso(result.injection_datetime),
               "decay_s": result.decay_s, "decayed_dose_bq": result.decayed_dose_bq, "scan_time_source": result.scan_time_source,
               "injection_source": result.injection_source, "variant_reasons": result.variant_reasons,
               # SUL by the children's formula (Peters 2011): no column of its own, the James/Janmahasatian columns predate it
               "suv_lbm_peters_factor": result.lbm_peters_factor}
    return {"suv_bw_factor": result.factor, "not_quantifiable_reason": result.not_quantifiable_reason or "",
            "suv_lbm_factor": result.lbm_james_factor, "suv_lbm_janma_factor": result.lbm_janmahasatian_factor,
            "suv_bsa_factor": result.bsa_factor, "method_version": result.method_version, "details": details}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def series_suv_compute(*, series: Series, progress: Progress | None = None) -> SuvResult:
    instances = published_instances(series)
    values: dict[str, Any] = {"quantifiable": False, "not_quantifiable_reason": "", "units": "", "decay_correction": "",
                              "suv_bw_factor": None, "suv_lbm_factor": None, "suv_lbm_janma_factor": None, "suv_bsa_factor": None,
                              "suv_max": None, "suv_max_position_mm": None, "method_version": "", "details": {}}
    if not instances:
        values["not_quantifiable_reason"] = "The series has no published images."
        return _store(series, values)
    first = read_dataset(instances[0], pixels=False)
    # Each distinct acquisition time once: a bed's slices share one, and only the earliest counts (nucmed.suv).
    header = pet_header(first, acquisitions=list(dict.fromkeys(i.acquisition for i in instances)))
    values.update(units=header.units, decay_correction=header.decay_correction)
    values.update(suv_factors(header))
    # Which offset each decay time was read with (the file's, the DT's own, the site's zone): a physicist checking a
    # decay time across a daylight-saving change needs to know.
    values["details"] = {**values["details"], "header": _header_summary(header), "time_offsets": time_offsets(first, header)}
    if values["suv_bw_factor"] is None:
        values["quantifiable"] = False
        return _store(series, values)
    try:
        volume = series_volume(series, instances, progress=progress)
    except VolumeError as exc:
        values.update(quantifiable=False, not_quantifiable_reason=str(exc), suv_bw_factor=None, suv_lbm_factor=None,
                      suv_lbm_janma_factor=None, suv_bsa_factor=None)
        return _store(series, values)
    # The volume holds every slice with its own RescaleSlope applied, so one factor serves the whole series.
    flat = int(np.argmax(volume.data))
    k, j, i = np.unravel_index(flat, volume.data.shape)
    values.update(quantifiable=True, suv_max=round(float(volume.data[k, j, i]) * values["suv_bw_factor"], 4),
                  suv_max_position_mm=[round(v, 2) for v in volume.to_patient(float(i), float(j), float(k))])
    return _store(series, values)


def _header_summary(header: SuvHeader) -> dict[str, Any]:
    keep = ("units", "decay_correction", "total_dose_bq", "half_life_s", "weight_kg", "height_m", "sex", "manufacturer")
    # Read field by field (in the header's order): asdict() deep-copied every acquisition time to keep eight scalars.
    summary = {f.name: getattr(header, f.name) for f in fields(header) if f.name in keep}
    times = header.acquisition_datetimes
    summary["acquisition_first"] = times[0].isoformat() if times else None
    return summary


@transaction.atomic
def _store(series: Series, values: dict[str, Any]) -> SuvResult:
    Series.objects.select_for_update().filter(pk=series.pk).first()
    row = SuvResult.objects.filter(series=series).first()
    before = snapshot(row) if row is not None else None
    row = row or SuvResult(series=series)
    for name in SUV_FIELDS:
        setattr(row, name, values.get(name))
    row.full_clean(exclude=["series"])
    unchanged = before is not None and _comparable(before) == _comparable(snapshot(row))
    if unchanged:
        return row
    row.save()
    audit_record(actor=User.objects.get(username=SYSTEM_USERNAME), action="compute_suv", instance=row, before=before,
                 after=snapshot(row), hospital_id=series.study.patient.hospital_id)
    return row


def _comparable(snap: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in snap.items() if k not in ("computed_at", "id")}
