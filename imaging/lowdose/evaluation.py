"""The evaluation of one pair: the handler of the one engine (registry.services.work) for EvaluationPair rows.

Queued after the pair commits; the requester's access is checked again when it runs (pair_authorise); status,
progress and error are on the pair row; the numbers go to PairMetrics with the method version, audited.
"""
from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from imaging.lowdose.models import EvaluationPair, PairMetrics
from imaging.models import Series, VoiMeasurement
from imaging.volume import Volume, VolumeError, series_volume
from nucmed import image_similarity as sim
from nucmed import registration, voi
from registry.access import Action, may
from registry.audit import audit_record
from registry.errors import ApplicationError
from registry.services.work import Work, access_revoked

# The registration's version is part of it: pairs without a common frame of reference are registered (issue 18).
METHOD_VERSION = f"{sim.METHOD_VERSION}+{voi.METHOD_VERSION}+{registration.METHOD_VERSION}"


def pair_authorise(pair: EvaluationPair) -> None:
    """At execution: the requester must still be allowed to change the pair (a data manager of the child's hospital)."""
    if not may(pair.requested_by, Action.CHANGE, pair):
        raise access_revoked()


def on_reference_grid(reference: Volume, test: Volume, matrix: np.ndarray | None = None) -> tuple[np.ndarray, str]:
    """The test volume sampled at the reference's voxel centres (trilinear; outside the test's field of view: 0).

    Without `matrix` both are in one frame of reference (the caller checks), so patient mm are shared and the affines map
    one onto the other; with it (a rigid registration's reference mm -> test mm) the test is moved onto the reference.
    """
    if matrix is not None:
        return registration.resample(test.data, test.affine, reference.data.shape, reference.affine, matrix), "rigid"
    if reference.data.shape == test.data.shape and np.allclose(reference.affine, test.affine, atol=1e-3):
        return np.asarray(test.data, dtype=float), "same grid"
    return registration.resample(test.data, test.affine, reference.data.shape, reference.affine), "resampled (linear)"


def _registered(ref_suv: np.ndarray, ref_volume: Volume, test_suv: np.ndarray, test_volume: Volume) -> registration.RigidTransform:
    """The rigid transform putting the test onto the reference (in SUV, the same tracer); refused when it fails."""
    try:
        return registration.register_rigid(ref_suv, ref_volume.affine, test_suv, test_volume.affine)
    except registration.RegistrationError as exc:
        raise ApplicationError(_("The two series do not share a frame of reference, and the rigid registration that would put "
                                 "them on one grid failed: %(reason)s") % {"reason": exc}, code="no_common_frame") from None


def _suv_factor(series: Series) -> float:
    result = getattr(series, "suv", None)
    if result is None or not result.quantifiable or not result.suv_bw_factor:
        reason = result.not_quantifiable_reason if result is not None else _("not analysed yet")
        raise ApplicationError(_("Series %(n)s is not quantifiable in SUV: %(reason)s") % {"n": series.series_number, "reason": reason},
                               code="not_quantifiable")
    return float(result.suv_bw_factor)


def _voi_mask(v: VoiMeasurement, shape: tuple[int, ...], affine: np.ndarray) -> np.ndarray | None:
    if v.shape == VoiMeasurement.Shape.SPHERE and v.centre_mm and v.radius_mm:
        return voi.sphere_mask(shape, affine, v.centre_mm, v.radius_mm)
    if v.shape == VoiMeasurement.Shape.BOX and v.box_min_mm and v.box_max_mm:
        return voi.box_mask(shape, affine, v.box_min_mm, v.box_max_mm)
    return None


def _judge(criteria: list[dict[str, Any]], values: dict[str, list[float]]) -> list[dict[str, Any]]:
    """The pair's metric criteria, each with its worst value and whether it is met. A reader criterion ({"reader": ...})
    is skipped: it is judged over the whole reader study (reports.builders.lowdose_validation), not per pair."""
    judged = []
    for c in criteria:
        if "metric" not in c:
            continue
        found = [v for v in values.get(c["metric"], []) if v is not None]
        if not found:
            judged.append({**c, "met": None, "value": None})
            continue
        if "max_abs" in c:
            worst = max(found, key=abs)
            met = abs(worst) < c["max_abs"]
        elif "min" in c:
            worst = min(found)
            met = worst >= c["min"]
        else:
            worst = max(found)
            met = worst <= c["max"]
        judged.append({**c, "met": met, "value": worst})
    return judged


def pair_evaluate(pair: EvaluationPair, work: Work) -> None:
    """Put the test on the reference's grid (registered when they share no frame of reference), compute every metric,
    store them with the method version (audited)."""
    reference, test = (Series.objects.select_related("study__patient", "suv").get(pk=pk) for pk in (pair.reference_id, pair.test_id))
    common_frame = bool(reference.frame_of_reference_uid) and reference.frame_of_reference_uid == test.frame_of_reference_uid
    ref_factor, test_factor = _suv_factor(reference), _suv_factor(test)
    try:
        ref_volume = series_volume(reference)
        work.progress(20)
        test_volume = series_volume(test)
    except VolumeError as exc:
        raise ApplicationError(str(exc), code="no_volume") from None
    work.progress(40)
    ref_suv = np.asarray(ref_volume.data, dtype=float) * ref_factor
    transform = None
    if not common_frame:  # another scanner, or a re-positioned child: find the rigid motion between the two
        transform = _registered(ref_suv, ref_volume, test_volume.data * np.float32(test_factor), test_volume)
        work.progress(55)
    test_on_grid, grid = on_reference_grid(ref_volume, test_volume, None if transform is None else transform.matrix)
    test_suv = test_on_grid * test_factor
    mask = sim.body_mask(ref_suv)  # once: the metrics and the whole-body SUVmax share it
    try:
        similarity = sim.image_similarity(ref_suv, test_suv, mask)
    except ValueError as exc:
        raise ApplicationError(str(exc), code="not_computable") from None
    work.progress(70)
    whole_body_bias = sim.bias_percent(float(ref_suv[mask].max()), float(test_suv[mask].max()))
    vois, liver = [], None
    for v in VoiMeasurement.objects.filter(series=reference).order_by("id"):
        voi_mask = _voi_mask(v, ref_suv.shape, ref_volume.affine)
        if voi_mask is None or not voi_mask.any():
            continue
        if v.kind == VoiMeasurement.Kind.LIVER and v.shape == VoiMeasurement.Shape.SPHERE and liver is None:
            liver = sim.liver_noise(ref_suv, test_suv, ref_volume.affine, v.centre_mm, v.radius_mm)
        elif v.kind == VoiMeasurement.Kind.LESION:
            b = sim.voi_bias(ref_suv, test_suv, voi_mask, ref_volume.affine, label=v.label or f"VOI {v.pk}")
            vois.append({"voi": v.pk, "label": b.label, "reference": b.reference, "test": b.test, "bias_percent": b.bias_percent})
    values: dict[str, list[float]] = {"nrmse": [similarity.nrmse], "psnr_db": [similarity.psnr_db], "ssim": [similarity.ssim],
                                      "suv_max_bias_percent": [whole_body_bias]}
    for key in sim.SUV_KEYS:
        values[f"voi_{key}_bias_percent"] = [item["bias_percent"][key] for item in vois]
    columns = {
        "grid": grid, "n_voxels": similarity.n_voxels, "nrmse": similarity.nrmse, "psnr_db": similarity.psnr_db, "ssim": similarity.ssim,
        "suv_max_bias_percent": whole_body_bias, "vois": vois, "criteria": _judge(pair.protocol.acceptance_criteria, values),
        "liver_snr_reference": liver.reference_snr if liver else None, "liver_snr_test": liver.test_snr if liver else None,
        "liver_cv_reference": liver.reference_cv if liver else None, "liver_cv_test": liver.test_cv if liver else None,
        "registration": None if transform is None else transform.as_dict(), "method_version": METHOD_VERSION,
    }
    with transaction.atomic():
        metrics, _created = PairMetrics.objects.update_or_create(pair=pair, defaults=columns)
        audit_record(actor=pair.requested_by, action="lowdose_evaluate", instance=pair, hospital_id=reference.study.patient.hospital_id,
                     after={"metrics": metrics.pk, "grid": grid, "nrmse": similarity.nrmse, "ssim": similarity.ssim,
                            "method_version": METHOD_VERSION})
        work.succeed(finished_at=timezone.now())
