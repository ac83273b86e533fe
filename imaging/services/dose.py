"""The dose step: the radiation dose of one exam (study), from its images, dose reports and the trial's dosing record.

The maths is nucmed's (dosage tables, effective-dose coefficients, CT k-factors); this module finds the
inputs, calls it, and stores one DoseResult per study with the table versions used. It is run by the
dose step of every series of the study, because a CT or a dose SR may arrive in a later upload: the
result always reflects everything received, and recomputing with nothing new changes nothing.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, Max, Min, Q
from django.utils import timezone
from pydicom.dataset import Dataset

from imaging import modalities
from imaging.dicom import dose_headers
from imaging.models import DoseResult, ImagingStudy, Instance, Series
from imaging.services import acquisition
from imaging.volume import read_dataset
from nucmed import dosage, ssde
from nucmed.ct_dose import ct_effective_dose, k_table
from nucmed.effective_dose import radiopharmaceutical_effective_dose
from nucmed.radiopharmaceuticals import BY_CODE
from nucmed.tables import ct_k_factors
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
               "ct_region_source", "ct_phantom_cm", "ct_k_factor", "ct_msv", "ct_table", "ct_not_available", "ct_events",
               "ct_by_region", "ct_ctdivol_mgy", "ct_dw_cm", "ct_ssde_mgy", "total_msv", "complete", "details")


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


class _Exam:
    """What one dose computation reads of the exam's images: its series in one query (in the order the separate queries
    used), and each series' first published instance and its header once (the activity and the scan both read the PET
    series' first header)."""

    def __init__(self, study: ImagingStudy) -> None:
        self.study = study
        self.series = list(study.series.order_by("series_number", "id"))
        self._first: dict[int, Instance | None] = {}
        self._headers: dict[int, Dataset] = {}

    def first_of(self, modalities_in: tuple[str, ...]) -> Series | None:
        return next((s for s in self.series if s.modality in modalities_in), None)

    def of(self, modalities_in: tuple[str, ...]) -> list[Series]:
        return [s for s in self.series if s.modality in modalities_in]

    def first_instance(self, series: Series) -> Instance | None:
        if series.pk not in self._first:
            self._first[series.pk] = series.instances.filter(quarantine_reason="").order_by("instance_number", "id").first()
        return self._first[series.pk]

    def header(self, instance: Instance) -> Dataset:
        """The instance's header without pixel data, parsed once."""
        if instance.pk not in self._headers:
            self._headers[instance.pk] = read_dataset(instance, pixels=False)
        return self._headers[instance.pk]


def _administration(exam: _Exam, result: dict[str, Any], details: dict[str, Any]) -> tuple[float | None, float | None, str]:
    """Fill the administered activity; return (activity MBq, weight kg, dosage table)."""
    study = exam.study
    table = site_dosage_table(study)
    weight = study.patient_weight_kg
    record = _trial_dosing(study)
    if record is not None:
        result.update(activity_source=DoseResult.ActivitySource.TRIAL_DOSING, administered_at=record.administered_at,
                      administered_activity_mbq=float(record.net_activity_mbq))
        details["activity"] = {"source": "trial dosing record", "dosing_record": record.pk,
                               "note": "net activity (syringe minus residual) decay-corrected to the administration time by the trials service"}
        return float(record.net_activity_mbq), float(record.weight_kg), record.subject.trial.dosage_table
    series = exam.first_of(modalities.EMISSION_MODALITIES)
    first = exam.first_instance(series) if series is not None else None
    given = dose_headers.administration(exam.header(first)) if first is not None else None
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


def _water_equivalent_diameter(instances: list[Instance], details: dict[str, Any]) -> float | None:
    """Dw (cm) on the central slice of a CT series (AAPM 220), or None with the reason in details."""
    central = sorted(instances, key=lambda i: (i.slice_position is None, i.slice_position or 0.0, i.id))[len(instances) // 2]
    try:
        ds = read_dataset(central, pixels=True)
        hu = ds.pixel_array.astype(float) * float(ds.get("RescaleSlope", 1) or 1) + float(ds.get("RescaleIntercept", 0) or 0)
        spacing = [float(v) for v in ds.PixelSpacing]
        return round(ssde.water_equivalent_diameter_cm(hu, pixel_spacing_mm=(spacing[0], spacing[1])), 2)
    except (AttributeError, ValueError, TypeError, KeyError) as exc:  # no pixels, no spacing, no body: the reason is kept
        details.setdefault("dw_not_measured", []).append(f"series {central.series_id}: {exc}")
        return None


def _ct_exposures(exam: _Exam, details: dict[str, Any]) -> list[tuple[dose_headers.CtExposure, float | None]]:
    """(irradiation event, water-equivalent diameter): each event of the dose SRs when any was uploaded (they cover the whole
    exam), else each original CT series; Dw is measured on every original CT series, and SR events take the study's mean."""
    series_dw: list[float] = []
    from_images: list[tuple[dose_headers.CtExposure, float | None]] = []
    used = []
    for series in exam.of(modalities.CT_DOSE_IMAGE_MODALITIES):
        instances = list(series.instances.filter(quarantine_reason=""))
        if not instances:
            continue
        headers = [read_dataset(inst, pixels=False, tags=CT_TAGS) for inst in instances]
        image_type = [str(v).upper() for v in headers[0].get("ImageType") or []]
        if image_type and image_type[0] == "DERIVED":  # a reconstruction of an acquisition already counted
            continue
        dw = _water_equivalent_diameter(instances, details)
        if dw is not None:
            series_dw.append(dw)
        from_images.append((dose_headers.ct_exposure_from_images(headers, positions_mm=[inst.slice_position for inst in instances]), dw))
        used.append(series.pk)
    study_dw = round(sum(series_dw) / len(series_dw), 2) if series_dw else None
    from_sr = [(event, study_dw) for series in sorted(exam.of(modalities.CT_DOSE_REPORT_MODALITIES), key=lambda s: s.pk)
               for inst in series.instances.filter(quarantine_reason="")
               for event in dose_headers.ct_exposures_from_sr(read_dataset(inst, pixels=False))]
    details["ct_series"] = "dose report" if from_sr else used
    return from_sr or from_images


def _region(exposure: dose_headers.CtExposure, study: ImagingStudy) -> tuple[str, str]:
    """The event's region and where it came from; a CT covering enough of the child's height is the trunk."""
    if exposure.region:
        return exposure.region, exposure.region_source
    if study.patient_size_m and exposure.scan_length_cm and exposure.scan_length_cm >= TRUNK_FRACTION_OF_HEIGHT * study.patient_size_m * 100:
        return "trunk", f"scan length >= {TRUNK_FRACTION_OF_HEIGHT:.0%} of the height"
    return "", ""


def ct_table_version(study: ImagingStudy, requested: str | None) -> str:
    """The k-factor table of this exam: the one asked for, else the one its stored dose was made with (a new table
    version never changes an old dose), else the current one."""
    if requested:
        return k_table(requested).version  # raises ValueError with the reason for a table that is not shipped
    stored = DoseResult.objects.filter(study=study).values_list("ct_table", flat=True).first()
    return stored if stored in ct_k_factors.TABLES else ct_k_factors.VERSION


def _ct_dose(exam: _Exam, age: float | None, table_version: str, result: dict[str, Any], details: dict[str, Any]) -> bool:
    """Fill the CT part, event by event; returns whether the study has any CT exposure at all."""
    study = exam.study
    exposures = _ct_exposures(exam, details)
    if not exposures:
        return False
    events: list[dict[str, Any]] = []
    for exposure, dw in exposures:
        region, region_source = _region(exposure, study)
        entry: dict[str, Any] = {"source": exposure.source, "region": region, "region_source": region_source, "phantom_cm": exposure.phantom_cm,
                                 "dlp_mgy_cm": exposure.dlp_mgy_cm, "ctdivol_mgy": exposure.ctdivol_mgy, "dw_cm": dw,
                                 "scan_length_cm": exposure.scan_length_cm, "msv": None, "not_available": exposure.reason}
        if exposure.ctdivol_mgy is not None and dw is not None:
            size = ssde.size_specific_dose(ctdivol_mgy=exposure.ctdivol_mgy, dw_cm=dw, phantom_cm=exposure.phantom_cm)
            entry.update(ssde_mgy=None if size.ssde_mgy is None else round(size.ssde_mgy, 3), ssde_not_available=size.not_available_reason or "")
        if exposure.dlp_mgy_cm is not None and not region:
            entry["not_available"] = ("The body region of the CT is not known (no BodyPartExamined, no SR target region, and a scan "
                                      f"shorter than {TRUNK_FRACTION_OF_HEIGHT:.0%} of the child's height or no height).")
        elif exposure.dlp_mgy_cm is not None and age is None:
            entry["not_available"] = "The age at the exam is not known."
        elif exposure.dlp_mgy_cm is not None:
            ct = ct_effective_dose(dlp_mgy_cm=exposure.dlp_mgy_cm, age_years=age, region=region, phantom_cm=exposure.phantom_cm,
                                   dw_cm=dw, table_version=table_version)
            entry.update(region=ct.region, k=ct.k, age_band=ct.age_band, basis_cm=ct.basis_cm, phantom_factor=ct.phantom_factor,
                         dlp_on_basis_mgy_cm=None if ct.phantom_factor is None else round(ct.phantom_factor * exposure.dlp_mgy_cm, 3),
                         msv=None if ct.msv is None else round(ct.msv, 4), not_available=ct.not_available_reason or "",
                         phantom_caution=ct.phantom_caution or "", table=ct.table_version)
        events.append(entry)
    by_region: dict[str, float] = {}
    for entry in events:
        if entry["msv"] is not None:
            by_region[entry["region"]] = round(by_region.get(entry["region"], 0.0) + entry["msv"], 4)
    regions = {e["region"] for e in events if e["region"]}
    phantoms = {e["phantom_cm"] for e in events}
    ks = {e.get("k") for e in events}
    sized = [e for e in events if e.get("ctdivol_mgy") is not None]
    top = max(sized, key=lambda e: e["ctdivol_mgy"]) if sized else None
    missing = next((e["not_available"] for e in events if e["msv"] is None), "")
    result.update(ct_dlp_source=events[0]["source"], ct_region=regions.pop() if len(regions) == 1 else ("multiple" if regions else ""),
                  ct_region_source=events[0]["region_source"] if len({e["region_source"] for e in events}) == 1 else "per event",
                  ct_phantom_cm=phantoms.pop() if len(phantoms) == 1 else None, ct_events=events, ct_by_region=by_region,
                  ct_table=table_version[:64], ct_k_factor=ks.pop() if len(ks) == 1 else None,
                  ct_dw_cm=next((e["dw_cm"] for e in events if e["dw_cm"] is not None), None),
                  ct_ctdivol_mgy=top["ctdivol_mgy"] if top else None, ct_ssde_mgy=top.get("ssde_mgy") if top else None)
    dlps = [e["dlp_mgy_cm"] for e in events]
    result["ct_dlp_mgy_cm"] = round(sum(dlps), 3) if None not in dlps else None
    if missing:
        result["ct_not_available"] = missing
    else:
        result["ct_msv"] = round(sum(e["msv"] for e in events), 4)
    return True


def _scan(exam: _Exam) -> acquisition.Scan:
    """The PET acquisition: ActualFrameDuration (per bed position) times the bed positions (distinct acquisition times of
    the published images; one when none is recorded, as for a total-body scanner's single frame), and whether its slices
    span the trunk (at least TRUNK_FRACTION_OF_HEIGHT of the child's height, as for a CT's region above)."""
    study = exam.study
    series = exam.first_of(("PT",))
    first = exam.first_instance(series) if series is not None else None
    if series is None or first is None:
        return acquisition.Scan(None, whole_body=False)
    frame = exam.header(first).get("ActualFrameDuration")
    rows = series.instances.filter(quarantine_reason="").aggregate(
        beds=Count("acquisition", distinct=True, filter=~Q(acquisition="")), n=Count("id"), low=Min("slice_position"),
        high=Max("slice_position"))
    extent_mm = None
    if rows["n"] > 1 and rows["low"] is not None and rows["high"] is not None:
        extent_mm = (rows["high"] - rows["low"]) * rows["n"] / (rows["n"] - 1)  # centre to centre, plus one slice
    whole_body = bool(extent_mm and study.patient_size_m and extent_mm >= TRUNK_FRACTION_OF_HEIGHT * study.patient_size_m * 1000)
    duration = float(frame) * max(rows["beds"], 1) if frame is not None and float(frame) > 0 else None
    return acquisition.Scan(duration, whole_body=whole_body)


def _infer_protocol(exam: _Exam, row: DoseResult, actor: User | None) -> None:
    """Fill a PET exam's unknown protocol from the activity given against the table's and the scan (never one set by
    hand: imaging.services.acquisition)."""
    study = exam.study
    if not acquisition.may_infer(study):
        return
    inference = acquisition.infer_protocol(activity_mbq=row.administered_activity_mbq, recommended_mbq=row.recommended_activity_mbq,
                                           scan=_scan(exam))
    acquisition.protocol_infer_store(study=study, inference=inference,
                                     actor=actor or User.objects.get(username=SYSTEM_USERNAME))


def study_dose_up_to_date(study: ImagingStudy) -> DoseResult | None:
    """The exam's dose when it was computed after its newest instance arrived (the dose step of its other series
    saw the same images), else None."""
    dose = DoseResult.objects.filter(study=study).first()
    newest = Instance.objects.filter(series__study=study).aggregate(newest=Max("created_at"))["newest"]
    return dose if dose is not None and newest is not None and dose.computed_at > newest else None


def study_dose_compute(*, study: ImagingStudy, ct_table: str | None = None, actor: User | None = None, reason: str = "") -> DoseResult:
    """Compute (or recompute) the dose of one exam and store it; audited when it changed (as `actor`, else the system).

    The CT part keeps the k-factor table version its stored dose was made with unless `ct_table` asks for another
    (manage.py dose_recompute). Raises ValueError for a `ct_table` that is not shipped."""
    study = ImagingStudy.objects.select_related("patient__hospital").get(pk=study.pk)
    table_version = ct_table_version(study, ct_table)
    patient = study.patient
    age = round((study.study_date - patient.birth_date).days / 365.25, 2) if study.study_date else None
    result: dict[str, Any] = {f: "" for f in DOSE_FIELDS if f.endswith(("_not_available", "_table", "_source", "_band", "_region"))}
    result.update(tracer=study.tracer, age_years=age, complete=False, ct_events=[], ct_by_region={})
    details: dict[str, Any] = {}
    exam = _Exam(study)
    activity, weight, table = _administration(exam, result, details)
    result["weight_kg"] = weight
    _recommendation(study.tracer, activity, weight, table, result, details)
    _radiopharmaceutical_dose(study.tracer, activity, age, result, details)
    has_ct = _ct_dose(exam, age, table_version, result, details)
    parts = [result.get("radiopharmaceutical_msv"), *([result.get("ct_msv")] if has_ct else [])]
    available = [p for p in parts if p is not None]
    result["total_msv"] = round(sum(available), 4) if available else None
    result["complete"] = all(p is not None for p in parts)
    result["details"] = details
    for name in DOSE_FIELDS:
        result.setdefault(name, None)
    row = _store(study, result, actor=actor, reason=reason)
    _infer_protocol(exam, row, actor)
    return row


@transaction.atomic
def _store(study: ImagingStudy, values: dict[str, Any], *, actor: User | None, reason: str) -> DoseResult:
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
    audit_record(actor=actor or User.objects.get(username=SYSTEM_USERNAME), action="compute_dose", instance=row, before=before,
                 after=snapshot(row), hospital_id=study.patient.hospital_id, reason=reason)
    return row
