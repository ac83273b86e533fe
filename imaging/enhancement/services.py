"""Writes of the enhancement app: register a model (checked, stored, audited) and run the active models on a series.

The model file is stored through Django's storage API (filesystem or S3), under its SHA-256, and read back from there
for every run: no model is ever downloaded at run time. Its checksum is verified when it is uploaded and again before
every run; a model whose checksum or input contract does not match the series refuses to run, and the reason is kept
(on an EnhancementRun row and in the series' "enhance" step result), never raised as a crash.
"""
from __future__ import annotations

import hashlib
import logging
import time
from typing import IO, Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from imaging.enhancement import derived, hooks, runtime
from imaging.enhancement.models import EnhancementModel, EnhancementRun, Normalisation
from imaging.models import Instance, Series, Upload
from imaging.volume import VolumeError, published_instances, read_dataset, series_volume
from registry.access import Action, ensure_in_scope, may
from registry.audit import audit_record, snapshot
from registry.errors import ApplicationError
from registry.models import User
from registry.services.common import validate
from registry.services.work import work_queue_after_commit

logger = logging.getLogger(__name__)
MAX_MODEL_BYTES = 200 * 1024 * 1024


def _invalid(message: str, field: str, code: str = "invalid") -> ApplicationError:
    return ApplicationError(message, code=code, fields={field: [message]})


def storage_name(sha256: str) -> str:
    return f"enhancement-models/{sha256}.onnx"


def model_register(*, actor: User, file: IO[bytes], sha256: str, name: str, version: str, modality: str = "PT",
                   tracer: str = "", units: str = "BQML", voxel_size_mm: list[float], voxel_tolerance_mm: float = 0.1,
                   max_activity_mbq_per_kg: float, normalisation: str = Normalisation.BODY_MEAN,
                   body_mask_fraction: float = 0.05, description: str = "") -> EnhancementModel:
    """Store an ONNX model whose bytes hash to `sha256` and which ONNX Runtime can load with one 5-D input."""
    if not may(actor, Action.ADD, EnhancementModel):
        raise ApplicationError(_("Only a data manager of every hospital registers enhancement models."), code="not_allowed")
    data = file.read(MAX_MODEL_BYTES + 1)
    if len(data) > MAX_MODEL_BYTES:
        raise _invalid(_("The model file is larger than 200 MB."), "file", "too_large")
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256.strip().lower():
        raise _invalid(_("The file's SHA-256 is not the one given: the upload is not the model you named."), "sha256",
                       "checksum_mismatch")
    problem = runtime.check_loadable(data)
    if problem:
        raise _invalid(_("ONNX Runtime cannot use this file: %(problem)s") % {"problem": problem}, "file", "invalid_model")
    if len(voxel_size_mm) != 3 or any(v <= 0 for v in voxel_size_mm):
        raise _invalid(_("Give the voxel size as three positive numbers (row, column, slice spacing in mm)."), "voxel_size_mm")
    model = EnhancementModel(name=name, version=version, file=storage_name(actual), sha256=actual, size=len(data),
                             modality=modality.upper(), tracer=tracer, units=units.upper(), voxel_size_mm=list(voxel_size_mm),
                             voxel_tolerance_mm=voxel_tolerance_mm, max_activity_mbq_per_kg=max_activity_mbq_per_kg,
                             normalisation=normalisation, body_mask_fraction=body_mask_fraction, description=description,
                             registered_by=actor)
    if EnhancementModel.objects.filter(name=name, version=version).exists():
        raise _invalid(_("A model with this name and version is registered."), "version", "duplicate")
    validate(model, exclude=["registered_by"])
    try:
        with transaction.atomic():
            model.save()
            if not default_storage.exists(model.file):
                default_storage.save(model.file, ContentFile(data))
            ensure_in_scope(model, user=actor, action=Action.ADD)
            audit_record(actor=actor, action="create", instance=model, after=snapshot(model))
    except IntegrityError:
        raise _invalid(_("A model with this name and version is registered."), "version", "duplicate") from None
    return model


@transaction.atomic
def series_enhance_again(*, actor: User, series: Series) -> Series:
    """Queue the "enhance" step once more on an analysed series (e.g. after a model was registered): the steps that
    are done stay done, so only the enhance step runs; a model already run on it is not run twice. Audited."""
    locked = Series.objects.restrict(actor, Action.CHANGE).select_for_update(of=("self",)).filter(pk=series.pk).first()
    if locked is None:
        raise ApplicationError(_("This series is not yours to enhance."), code="out_of_scope")
    if locked.pipeline_state != Series.PipelineState.DONE:
        message = _("Only a series whose pipeline is done is enhanced again (this one is %(state)s).") % {
            "state": str(locked.get_pipeline_state_display()).lower()}
        raise ApplicationError(message, code="invalid_transition", fields={"series": [message]})
    steps = {k: v for k, v in locked.pipeline_steps.items() if k != "enhance"}
    Series.objects.filter(pk=locked.pk, pipeline_state=Series.PipelineState.DONE).update(
        pipeline_state=Series.PipelineState.PENDING, pipeline_steps=steps, pipeline_error="", pipeline_attempts=0,
        pipeline_queued_at=timezone.now())
    audit_record(actor=actor, action="enhance_again", instance=locked, after={"kind": "series_pipeline", "step": "enhance"},
                 hospital_id=locked.study.patient.hospital_id)
    work_queue_after_commit(Series, locked.pk)
    locked.refresh_from_db()
    return locked


# ---------------------------------------------------------------------------------------------------------------------
# Running: the pipeline's "enhance" step
# ---------------------------------------------------------------------------------------------------------------------

def is_derived(ds: Any) -> bool:
    image_type = list(ds.get("ImageType", []) or [])
    return bool(ds.get("DerivationDescription")) or bool(image_type and str(image_type[0]).upper() == "DERIVED")


def _injected_mbq(ds: Any) -> float | None:
    for item in ds.get("RadiopharmaceuticalInformationSequence", []):
        if item.get("RadionuclideTotalDose") is not None:
            return float(item.RadionuclideTotalDose) / 1e6
    return None


def contract_problem(model: EnhancementModel, series: Series, header: Any) -> str:
    """Why the model must not run on this series ("" when its input contract holds); voxel size is checked later."""
    if series.modality.upper() != model.modality:
        return _("The model expects modality %(want)s; this series is %(got)s.") % {"want": model.modality, "got": series.modality}
    if model.tracer and series.study.tracer.upper() != model.tracer.upper():
        return _("The model expects tracer %(want)s; this study's is %(got)s.") % {
            "want": model.tracer, "got": series.study.tracer or "-"}
    units = str(header.get("Units", "") or "").upper()
    if units != model.units:
        return _("The model expects units %(want)s; this series is in %(got)s.") % {"want": model.units, "got": units or "-"}
    return ""


def voxel_problem(model: EnhancementModel, spacing: tuple[float, float, float]) -> str:
    want, tol = model.voxel_size_mm, model.voxel_tolerance_mm
    if any(abs(float(w) - float(g)) > tol for w, g in zip(want, spacing, strict=True)):
        return _("The model expects voxels of %(want)s mm (within %(tol)s mm); this series has %(got)s mm.") % {
            "want": " x ".join(f"{float(v):g}" for v in want), "tol": f"{tol:g}",
            "got": " x ".join(f"{float(v):.3g}" for v in spacing)}
    return ""


def _low_dose(model: EnhancementModel, series: Series, header: Any) -> bool:
    mbq, weight = _injected_mbq(header), series.study.patient_weight_kg
    return bool(mbq and weight and mbq / weight <= model.max_activity_mbq_per_kg)


def _refuse(model: EnhancementModel, series: Series, reason: str) -> dict[str, Any]:
    EnhancementRun.objects.update_or_create(model=model, source=series,
                                            defaults={"outcome": EnhancementRun.Outcome.REFUSED, "reason": reason})
    return {"model": model.label, "refused": reason}


def series_enhance(series: Series) -> dict[str, Any]:
    """Every active model on this series, when it is a low-dose one; the step's result lists what each model did."""
    # One query when no model is registered (the common case): nothing is read.
    models = list(EnhancementModel.objects.filter(active=True).select_related("registered_by"))
    if not models:
        return {"models": []}
    instances = published_instances(series)
    if not instances:
        return {"not_applicable": "No images."}
    header = read_dataset(instances[0], pixels=False)
    if is_derived(header):
        return {"not_applicable": "A derived series is not enhanced again.", **_derived_analysed(series, header, instances)}
    done = set(EnhancementRun.objects.filter(source=series, outcome=EnhancementRun.Outcome.DONE).values_list("model_id", flat=True))
    results: list[dict[str, Any]] = []
    volume = None
    for model in (m for m in models if m.pk not in done):
        problem = contract_problem(model, series, header)
        if problem:
            results.append(_refuse(model, series, problem))
            continue
        if not _low_dose(model, series, header):
            results.append({"model": model.label, "skipped": "Not a low-dose series for this model."})
            continue
        if volume is None:
            try:
                volume = series_volume(series, instances)
            except VolumeError as exc:
                return {"not_applicable": str(exc)}
        problem = voxel_problem(model, (volume.pixel_spacing[0], volume.pixel_spacing[1], volume.slice_spacing))
        if problem:
            results.append(_refuse(model, series, problem))
            continue
        data = default_storage.open(model.file).read() if default_storage.exists(model.file) else b""
        if hashlib.sha256(data).hexdigest() != model.sha256:
            results.append(_refuse(model, series, _("The stored model file's SHA-256 is not the registered one: "
                                                    "the file was changed or lost since it was registered.")))
            continue
        if len(set(volume.instance_ids)) != len(volume.instance_ids):
            results.append(_refuse(model, series, _("Multi-frame series are not enhanced (one image per slice expected).")))
            continue
        started = time.perf_counter()
        try:
            output, provider = runtime.run(data, volume.data, normalisation=model.normalisation,
                                           mask_fraction=model.body_mask_fraction, suv_factor=_suv_factor(series))
        except runtime.ModelRefused as exc:
            results.append(_refuse(model, series, str(exc)))
            continue
        seconds = time.perf_counter() - started
        derived_series = derived.ingest_derived(series=series, instances=instances, volume=volume, enhanced=output, model=model)
        EnhancementRun.objects.update_or_create(model=model, source=series, defaults={
            "outcome": EnhancementRun.Outcome.DONE, "reason": "", "derived": derived_series, "seconds": seconds,
            "provider": provider})
        results.append({"model": model.label, "derived_series": derived_series.pk, "provider": provider,
                        "seconds": round(seconds, 3)})
    return {"models": results}


def source_series(series: Series, header: Any) -> Series | None:
    """The series this derived one was made from: the one of the same study holding the SOP instance its first image's
    SourceImageSequence names (the whole hierarchy, not the UID alone)."""
    uids = [str(item.get("ReferencedSOPInstanceUID", "")) for item in header.get("SourceImageSequence", [])]
    uids = [uid for uid in uids if uid]
    if not uids:
        return None
    found = (Instance.objects.filter(sop_instance_uid__in=uids, series__study_id=series.study_id).exclude(series_id=series.pk)
             .select_related("series__study__patient").first())
    return found.series if found is not None else None


def _derived_analysed(series: Series, header: Any, instances: list[Instance]) -> dict[str, Any]:
    """A derived series made by this step (an "enhance" upload) whose source is in its study: the registered hooks run
    (the low-dose evaluation pairs it). Its own SUV step is done by now (this step comes after it)."""
    upload = Upload.objects.select_related("uploaded_by").get(pk=instances[0].upload_id)
    if upload.source != Upload.Source.ENHANCE:
        return {}
    source = source_series(series, header)
    if source is None:
        return {"source": None}
    return {"source": source.pk, **hooks.derived_series_analysed(source, series, upload.uploaded_by)}


def _suv_factor(series: Series) -> float | None:
    suv = getattr(series, "suv", None)
    return getattr(suv, "suv_bw_factor", None) if suv is not None else None
