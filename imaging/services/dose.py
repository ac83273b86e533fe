"""The dose step: the radiation dose of one exam (study), from its images, dose reports and the trial's dosing record.

The maths is nucmed's (dosage tables, effective-dose coefficients, CT k-factors); this module finds the
inputs, calls it, and stores one DoseResult per study with the table versions used. It is run by the
dose step of every series of the study, because a CT or a dose SR may arrive in a later upload: the
result always reflects everything received, and recomputing with nothing new changes nothing.
"""
from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from imaging import modalities
from imaging.dicom import dose_headers
from imaging.models import DoseResult, ImagingStudy, Instance, Series
from imaging.volume import read_dataset
from nucmed import dosage
from nucmed.ct_dose import ct_effective_dose
from nucmed.effective_dose import radiopharmaceutical_effective_dose
from nucmed.radiopharmaceuticals import BY_CODE
from registry.audit import audit_record, snapshot
from registry.models import User
from registry.models.people import SYSTEM_USERNAME

DEFAULT_DOSAGE_TABLE = dosage.DosageTable.EANM.value
# A CT of at least this fraction of the child's height is taken as whole-trunk when nothing else names the region.
TRUNK_FRACTION_OF_HEIGHT = 0.4
CT_TAGS = ["ImageType", "CTDIvol", "CTDIPhantomTypeCodeSequence", "BodyPartExamined", "SliceThickness"]
DOSE_FIELDS = ("tracer", "age_years", "weight_kg", "activity_source", "administered_at", "administered_activity_mbq",
               "recommended_activity_mbq", "recommendation_table", "activity_deviation_percent", "recommendation_not_available",
               "radiopharmaceutical_msv", "radiopharmaceutical_age_band", "radiopharmaceutical_coefficient",
               "radiopharmaceutical_table", "radiopharmaceutical_not_available", "ct_dlp_mgy_cm", "ct_dlp_source", "ct_region",
               "ct_region_source", "ct_phantom_cm", "ct_k_factor", "ct_msv", "ct_table", "ct_not_available", "total_msv",
               "complete", "details")


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    aware = timezone.make_aware(value) if timezone.is_naive(value) else value
    return aware.astimezone(UTC)  # as the database gives it back, so an unchanged recomputation compares equal


def site_dosage_table(study: ImagingStudy) -> str:
    """The table the patient's hospital follows (Hospital.dosage_table, set by data managers)."""
    return study.patient.hospital.dosage_table or DEFAULT_DOSAGE_TABLE


def _trial_dosing(study: ImagingStudy) -> Any | None:
    """The trial dosing record of this exam: same patient, administered on the study date or up to two days
    before (123I-MIBG is imaged the day after injection), the agent of the study when known."""
    if study.study_date is None:
        return None
    from trials.models import DosingRecord  # imaging may depend on trials (docs/architecture.md); imported late: optional app data

    records = (DosingRecord.objects.filter(subject__patient=study.patient, administered_at__date__gte=study.study_date - timedelta(days=2),
                                           administered_at__date__lte=study.study_date)
               .select_related("subject__trial").order_by("-administered_at"))
    if study.tracer:
        records = records.filter(agent_code=study.tracer)
    return records.first()


def _emission_series(study: ImagingStudy) -> Series | None:
    return study.series.filter(modality__in=modalities.EMISSION_MODALITIES).order_by("series_number", "id").first()


def _first_instance(series: Series) -> Instance | None:
    return series.instances.filter(quarantine_reason="").order_by("instance_number", "id").first()


def _administration(study: ImagingStudy, result: dict[str, Any], details: dict[str, Any]) -> tuple[float | None, float | None, str]:
    """Fill the administered activity; return (activity MBq, weight kg, dosage table)."""
    table = site_dosage_table(study)
    weight = study.patient_weight_kg
    record = _trial_dosing(study)
    if record is not None:
        result.update(activity_source=DoseResult.ActivitySource.TRIAL_DOSING, administered_at=record.administered_at,
                      administered_activity_mbq=float(record.net_activity_mbq))
        details["activity"] = {"source": "trial dosing record", "dosing_record": record.pk,
                               "note": "net activity (syringe minus residual) decay-corrected to the administration time by the trials service"}
        return float(record.net_activity_mbq), float(record.weight_kg), record.subject.trial.dosage_table
    series = _emission_series(study)
    first = _first_instance(series) if series is not None else None
    given = dose_headers.administration(read_dataset(first, pixels=False)) if first is not None else None
    if given is None or given.total_dose_bq is None:
        details["activity"] = {"source": None, "reason": "No radiopharmaceutical sequence with RadionuclideTotalDose in the images."}
        return None, weight, table
    # RadionuclideTotalDose is the activity at RadiopharmaceuticalStartDateTime, i.e. at the administration: no decay term.
    activity = given.total_dose_bq / 1e6
    result.update(activity_source=DoseResult.ActivitySource.DICOM, administered_at=_aware(given.administered_at),
                  administered_activity_mbq=round(activity, 3))
    details["activity"] = {"source": "DICOM RadiopharmaceuticalInformationSequence", "series": series.pk if series else None,
                           "radiopharmaceutical": given.agent, "half_life_s": given.half_life_s,
                           "date_from_series_date": given.from_time_only,
                           "note": "RadionuclideTotalDose is measured at the administration time"}
    return activity, weight, table


def _recommendation(tracer: str, activity: float | None, weight: float | None, table: str, result: dict[str, Any],
                    details: dict[str, Any]) -> None:
    if not tracer or tracer not in BY_CODE:
        result["recommendation_not_available"] = "The radiopharmaceutical is not identified."
        return
    if not weight:
        result["recommendation_not_available"] = "The patient's weight is not known."
        return
    rec = dosage.recommended_activity(agent_code=tracer, weight_kg=weight, table=table)
    if rec.activity_mbq is None and table != dosage.DosageTable.NORTH_AMERICA:
        # The EANM card has no row for some agents (18F-NaF): the reference says to use the North American table.
        fallback = dosage.recommended_activity(agent_code=tracer, weight_kg=weight, table=dosage.DosageTable.NORTH_AMERICA)
        details["recommendation_fallback"] = f"{table}: {rec.not_available_reason}; North American table used"
        rec = fallback if fallback.activity_mbq is not None else rec
    details["recommendation"] = {"detail": rec.detail, "unverified": rec.unverified, "table_version": rec.table_version}
    if rec.activity_mbq is None:
        result["recommendation_not_available"] = rec.not_available_reason or "No recommendation in the table."
        return
    result.update(recommended_activity_mbq=round(rec.activity_mbq, 3), recommendation_table=f"{rec.table} {rec.table_version}"[:64])
    if activity is not None:
        result["activity_deviation_percent"] = round(dosage.deviation_percent(activity, rec.activity_mbq), 2)


def _radiopharmaceutical_dose(tracer: str, activity: float | None, age: float | None, result: dict[str, Any],
                              details: dict[str, Any]) -> None:
    if activity is None:
        result["radiopharmaceutical_not_available"] = "The administered activity is not known."
        return
    if not tracer or age is None:
        result["radiopharmaceutical_not_available"] = ("The radiopharmaceutical is not identified." if not tracer
                                                       else "The age at the exam is not known.")
        return
    dose = radiopharmaceutical_effective_dose(agent_code=tracer, activity_mbq=activity, age_years=age)
    result.update(radiopharmaceutical_age_band=dose.age_band or "", radiopharmaceutical_table=dose.table_version[:64])
    if dose.msv is None:
        result["radiopharmaceutical_not_available"] = dose.not_available_reason or "No coefficient."
        return
    result.update(radiopharmaceutical_msv=round(dose.msv, 4), radiopharmaceutical_coefficient=dose.coefficient_msv_per_mbq)
    details["radiopharmaceutical_coefficient_unverified"] = dose.unverified


def _ct_exposures(study: ImagingStudy, details: dict[str, Any]) -> list[dose_headers.CtExposure]:
    """From the dose SRs when any was uploaded (they cover the whole exam), else from each original CT series."""
    exposures: list[dose_headers.CtExposure] = []
    for series in study.series.filter(modality__in=modalities.CT_DOSE_REPORT_MODALITIES).order_by("id"):
        for inst in series.instances.filter(quarantine_reason=""):
            exposure = dose_headers.ct_exposure_from_sr(read_dataset(inst, pixels=False))
            if exposure is not None:
                exposures.append(exposure)
    if exposures:
        details["ct_series"] = "dose report"
        return exposures
    used = []
    for series in study.series.filter(modality__in=modalities.CT_DOSE_IMAGE_MODALITIES).order_by("series_number", "id"):
        instances = list(series.instances.filter(quarantine_reason=""))
        if not instances:
            continue
        headers = [read_dataset(inst, pixels=False, tags=CT_TAGS) for inst in instances]
        image_type = [str(v).upper() for v in headers[0].get("ImageType") or []]
        if image_type and image_type[0] == "DERIVED":  # a reconstruction of an acquisition already counted
            continue
        positions = [inst.slice_position for inst in instances]
        exposures.append(dose_headers.ct_exposure_from_images(headers, positions_mm=positions))
        used.append(series.pk)
    details["ct_series"] = used
    return exposures


def _ct_dose(study: ImagingStudy, age: float | None, result: dict[str, Any], details: dict[str, Any]) -> bool:
    """Fill the CT part; returns whether the study has any CT exposure at all."""
    exposures = _ct_exposures(study, details)
    if not exposures:
        return False
    missing = next((e.reason for e in exposures if e.dlp_mgy_cm is None), "")
    phantoms = {e.phantom_cm for e in exposures if e.phantom_cm}
    regions = {e.region for e in exposures if e.region}
    region = regions.pop() if len(regions) == 1 else ("trunk" if len(regions) > 1 else "")
    region_source = next((e.region_source for e in exposures if e.region), "")
    if not region and study.patient_size_m:
        lengths = [e.scan_length_cm for e in exposures if e.scan_length_cm]
        if lengths and max(lengths) >= TRUNK_FRACTION_OF_HEIGHT * study.patient_size_m * 100:
            region, region_source = "trunk", f"scan length >= {TRUNK_FRACTION_OF_HEIGHT:.0%} of the height"
    details["ct_exposures"] = [asdict(e) for e in exposures]
    result.update(ct_dlp_source=exposures[0].source, ct_region=region, ct_region_source=region_source,
                  ct_phantom_cm=phantoms.pop() if len(phantoms) == 1 else None)
    if missing:
        result["ct_not_available"] = missing
        return True
    if len({e.phantom_cm for e in exposures}) > 1:
        result["ct_not_available"] = "The CT series refer to different CTDI phantoms (or one does not say): their DLPs are not added."
        return True
    dlp = sum(e.dlp_mgy_cm or 0.0 for e in exposures)
    result["ct_dlp_mgy_cm"] = round(dlp, 3)
    if age is None:
        result["ct_not_available"] = "The age at the exam is not known."
        return True
    if not region:
        result["ct_not_available"] = ("The body region of the CT is not known (no BodyPartExamined, no SR target region, and a scan "
                                      f"shorter than {TRUNK_FRACTION_OF_HEIGHT:.0%} of the child's height or no height).")
        return True
    ct = ct_effective_dose(dlp_mgy_cm=dlp, age_years=age, region=region, phantom_cm=result["ct_phantom_cm"])
    result.update(ct_table=ct.table_version[:64], ct_k_factor=ct.k)
    details["ct_k"] = {"age_band": ct.age_band, "region": ct.region, "unverified": ct.unverified, "phantom_caution": ct.phantom_caution}
    if ct.msv is None:
        result["ct_not_available"] = ct.not_available_reason or "No k-factor."
    else:
        result["ct_msv"] = round(ct.msv, 4)
    return True


def study_dose_up_to_date(study: ImagingStudy) -> DoseResult | None:
    """The exam's dose when it was computed after its newest instance arrived (the dose step of its other series
    saw the same images), else None."""
    dose = DoseResult.objects.filter(study=study).first()
    newest = Instance.objects.filter(series__study=study).aggregate(newest=Max("created_at"))["newest"]
    return dose if dose is not None and newest is not None and dose.computed_at > newest else None


def study_dose_compute(*, study: ImagingStudy) -> DoseResult:
    """Compute (or recompute) the dose of one exam and store it; audited (as the system) when it changed."""
    study = ImagingStudy.objects.select_related("patient__hospital").get(pk=study.pk)
    patient = study.patient
    age = round((study.study_date - patient.birth_date).days / 365.25, 2) if study.study_date else None
    result: dict[str, Any] = {f: "" for f in DOSE_FIELDS if f.endswith(("_not_available", "_table", "_source", "_band", "_region"))}
    result.update(tracer=study.tracer, age_years=age, complete=False)
    details: dict[str, Any] = {}
    activity, weight, table = _administration(study, result, details)
    result["weight_kg"] = weight
    _recommendation(study.tracer, activity, weight, table, result, details)
    _radiopharmaceutical_dose(study.tracer, activity, age, result, details)
    has_ct = _ct_dose(study, age, result, details)
    parts = [result.get("radiopharmaceutical_msv"), *([result.get("ct_msv")] if has_ct else [])]
    available = [p for p in parts if p is not None]
    result["total_msv"] = round(sum(available), 4) if available else None
    result["complete"] = all(p is not None for p in parts)
    result["details"] = details
    for name in DOSE_FIELDS:
        result.setdefault(name, None)
    return _store(study, result)


@transaction.atomic
def _store(study: ImagingStudy, values: dict[str, Any]) -> DoseResult:
    # The study row is the lock: two series of one study finishing together do not write twice.
    ImagingStudy.objects.select_for_update().filter(pk=study.pk).first()
    row = DoseResult.objects.filter(study=study).first()
    before = snapshot(row) if row is not None else None
    row = row or DoseResult(study=study)
    for name, value in values.items():
        setattr(row, name, value)
    row.full_clean(exclude=["study"])
    after_values = {k: v for k, v in snapshot(row).items() if k not in ("computed_at", "id")}
    if before is not None and {k: v for k, v in before.items() if k not in ("computed_at", "id")} == after_values:
        return row
  # nothing new: no write, no audit event
    row.save()
    audit_record(actor=User.objects.get(username=SYSTEM_USERNAME), action="compute_dose", instance=row, before=before,
                 after=snapshot(row), hospital_id=study.patient.hospital_id)
    return row
