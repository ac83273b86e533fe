"""VOI measurements: a reader places a sphere or a box on a PET series; nucmed computes the SUV statistics.

The statistics are always computed by the platform from the stored images (never typed in): the series'
cached volume times its SUVbw factor, the reader's shape turned into a voxel mask by nucmed.voi, and
nucmed's statistics over it. A liver VOI is the image-quality measure (SNR, CoV in a 3 cm sphere).
"""
from __future__ import annotations

import math
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from imaging import modalities
from imaging.models import Series, SuvResult, VoiMeasurement
from imaging.volume import VolumeError, series_volume
from nucmed import body_size
from nucmed import voi as nucmed_voi
from registry.access import Action, ensure_in_scope
from registry.audit import audit_record, snapshot
from registry.errors import ApplicationError
from registry.models import User


def _fail(message: str, code: str = "invalid", field: str | None = None) -> ApplicationError:
    return ApplicationError(message, code=code, fields={field: [message]} if field else None)


def _round(value: float | None, digits: int = 5) -> float | None:
    return None if value is None else round(float(value), digits)


def _finite_point(point: list[float] | None) -> bool:
    return point is not None and len(point) == 3 and all(isinstance(c, int | float) and math.isfinite(c) for c in point)


def _check_shape(shape: str, centre_mm: list[float] | None, radius_mm: float | None, box_min_mm: list[float] | None,
                 box_max_mm: list[float] | None) -> None:
    """The shape checks of nucmed.voi (sphere_mask, box_mask), refused here in the request's language."""
    if shape == VoiMeasurement.Shape.SPHERE:
        if radius_mm is None or not (math.isfinite(radius_mm) and radius_mm > 0):
            raise _fail(_("The radius must be a positive number of mm."), field="radius_mm")
        if not _finite_point(centre_mm):
            raise _fail(_("The centre must be three finite patient coordinates in mm."), field="centre_mm")
    elif not (_finite_point(box_min_mm) and _finite_point(box_max_mm)):
        raise _fail(_("The box corners must be three finite patient coordinates in mm each."), field="box_min_mm")


def _sul(suv: SuvResult, formula: str, stats: nucmed_voi.VoiStats) -> dict[str, Any]:
    """SULmean/max/peak = SUV x LBM / weight, LBM by the chosen formula (nucmed.body_size.LBM_FORMULAS) from the
    weight, height and sex the SUV step read from the header; the reason instead when they do not allow it."""
    info = body_size.LBM_FORMULAS[body_size.LbmFormula(formula)]
    header = (suv.details or {}).get("header") or {}
    weight, height, sex = header.get("weight_kg"), header.get("height_m"), header.get("sex") or ""
    result: dict[str, Any] = {"lbm_formula": info.formula.value, "lbm_source": info.source, "lbm_population": info.population}
    try:
        lbm = body_size.lean_body_mass(info.formula, weight, height, sex)
    except (ValueError, TypeError) as exc:  # TypeError: weight or height absent from the header (None)
        return {**result, "not_available_reason": str(exc) if isinstance(exc, ValueError) else "patient weight or height missing"}
    ratio = lbm / float(weight)
    return {**result, "lbm_kg": _round(lbm, 3), "sul_mean": _round(stats.suv_mean * ratio), "sul_max": _round(stats.suv_max * ratio),
            "sul_peak": _round(stats.suv_peak * ratio) if stats.suv_peak is not None else None}


@transaction.atomic
def voi_measure(*, actor: User, series: Series, shape: str, kind: str = VoiMeasurement.Kind.LESION, label: str = "",
                centre_mm: list[float] | None = None, radius_mm: float | None = None, box_min_mm: list[float] | None = None,
                box_max_mm: list[float] | None = None, threshold: str = VoiMeasurement.Threshold.PERCENT_41,
                peak_method: str = nucmed_voi.PeakMethod.PERCIST, lbm_formula: str = body_size.LbmFormula.PETERS) -> VoiMeasurement:
    """Measure a VOI on a quantified PET series and store it with its statistics (audited).

    SUVpeak is placed by `peak_method` (PERCIST hottest sphere by default, or the older sphere on the maximum voxel);
    SUL values use `lbm_formula` (Peters, the children's formula, by default). Both are stored in `details`."""
    if not Series.objects.restrict(actor, Action.ADD).filter(pk=series.pk).exists():
        raise _fail(_("No such series."), code="not_found", field="series")
    suv = SuvResult.objects.filter(series=series).first()
    if not modalities.of(series.modality).quantified or suv is None:
        raise _fail(_("VOIs are measured on quantified PET series; this series has no SUV result."), code="not_quantifiable",
                    field="series")
    if not suv.quantifiable or not suv.suv_bw_factor:
        # The reason is the stored SUV result's (English, as recorded): only the sentence around it is translated.
        raise _fail(_("This series cannot be quantified: %(reason)s") % {"reason": suv.not_quantifiable_reason},
                    code="not_quantifiable", field="series")
    if kind == VoiMeasurement.Kind.LIVER:
        if shape != VoiMeasurement.Shape.SPHERE:
            raise _fail(_("The liver image-quality VOI is a sphere."), field="shape")
        radius_mm = radius_mm or nucmed_voi.LIVER_SPHERE_RADIUS_MM
    _check_shape(shape, centre_mm, radius_mm, box_min_mm, box_max_mm)
    try:
        volume = series_volume(series)
    except VolumeError as exc:
        raise _fail(_("This series cannot be quantified: %(reason)s") % {"reason": exc}, code="not_quantifiable",
                    field="series") from exc
    values = volume.data * float(suv.suv_bw_factor)
    try:
        if shape == VoiMeasurement.Shape.SPHERE:
            mask = nucmed_voi.sphere_mask(values.shape, volume.affine, centre_mm or [], radius_mm or 0.0)
        else:
            mask = nucmed_voi.box_mask(values.shape, volume.affine, box_min_mm or [], box_max_mm or [])
    except ValueError as exc:
        raise _fail(str(exc), field="centre_mm" if shape == VoiMeasurement.Shape.SPHERE else "box_min_mm") from exc
    if not mask.any():
        raise _fail(_("The VOI contains no voxel of the image: check its position against the series' extent."), field="centre_mm")

    row = VoiMeasurement(series=series, created_by=actor, label=label, kind=kind, shape=shape, centre_mm=centre_mm,
                         radius_mm=radius_mm, box_min_mm=box_min_mm, box_max_mm=box_max_mm, threshold=threshold,
                         method_version=nucmed_voi.METHOD_VERSION)
    stats = nucmed_voi.voi_statistics(values, mask, volume.voxel_ml, affine=volume.affine,
                                      threshold=None if kind == VoiMeasurement.Kind.LIVER else threshold, peak_method=peak_method)
    details: dict[str, Any] = {"suv_max_index": list(stats.suv_max_index), "suv_peak_voxels": stats.suv_peak_n_voxels,
                               "suv_peak_method": stats.suv_peak_method,
                               "suv_peak_centre_index": list(stats.suv_peak_centre_index) if stats.suv_peak_centre_index else None,
                               "sul": _sul(suv, lbm_formula, stats),
                               "threshold_suv": _round(stats.threshold_suv), "mtv_voxels": stats.mtv_n_voxels,
                               "mtv_suv_mean": _round(stats.mtv_suv_mean), "heterogeneity_region": stats.heterogeneity_region,
                               "suv_bw_factor": suv.suv_bw_factor, "suv_method_version": suv.method_version}
    row.voxels, row.volume_ml = stats.n_voxels, _round(stats.volume_ml)
    row.suv_mean, row.suv_sd, row.suv_max, row.suv_peak = (_round(stats.suv_mean), _round(stats.suv_sd), _round(stats.suv_max),
                                                           _round(stats.suv_peak))
    if kind == VoiMeasurement.Kind.LIVER:
        quality = nucmed_voi.liver_image_quality(values, volume.affine, centre_mm or [], radius_mm)
        row.snr, row.cov = _round(quality.snr), _round(quality.cov)
        details["threshold_applied"] = False  # image quality is measured on the whole sphere
    else:
        row.mtv_ml, row.tlg, row.cov, row.auc_csh = _round(stats.mtv_ml), _round(stats.tlg), _round(stats.cov), _round(stats.auc_csh)
    row.details = details
    row.full_clean()
    row.save()
    ensure_in_scope(row, user=actor, action=Action.ADD)
    audit_record(actor=actor, action="create", instance=row, after=snapshot(row), hospital_id=series.study.patient.hospital_id)
    return row
