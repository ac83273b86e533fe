"""Low-dose evaluation: define protocols, find or assign pairs, evaluate a pair in the background, dose saved per exam.

Every write is audited; the evaluation is the handler of the one engine (registry.services.work): queued after the pair
commits, the requester's access checked again when it runs, its status/progress/error on the pair row.
"""
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from scipy import ndimage

from imaging.lowdose.models import EvaluationPair, EvaluationProtocol, PairMetrics, SeriesRole
from imaging.models import DoseResult, ImagingStudy, Series, VoiMeasurement
from imaging.volume import Volume, VolumeError, published_instances, read_dataset, series_volume
from nucmed import effective_dose, voi
from nucmed import image_similarity as sim
from registry.access import Action, ensure_in_scope, may
from registry.audit import audit_record, snapshot
from registry.errors import ApplicationError
from registry.models import User
from registry.services.common import validate
from registry.services.work import Work, access_revoked, work_queue_after_commit

METHOD_VERSION = f"{sim.METHOD_VERSION}+{voi.METHOD_VERSION}"
# The metrics a criterion may name, and where their value is in PairMetrics.
CRITERION_METRICS = ("nrmse", "psnr_db", "ssim", "suv_max_bias_percent", "voi_suv_max_bias_percent", "voi_suv_mean_bias_percent",
                     "voi_suv_peak_bias_percent")
LOW_ACTIVITY_RATIO = 0.5  # a series injected with at most half the study's highest activity is a reduced-activity one
SHORT_FRAME_RATIO = 0.75  # a frame at most 3/4 of the study's longest one is a short scan


def _invalid(message: str, field: str, code: str = "invalid") -> ApplicationError:
    return ApplicationError(message, code=code, fields={field: [message]})


def check_criteria(criteria: Any) -> list[dict[str, Any]]:
    """[{"metric": one of CRITERION_METRICS, "max_abs" | "min" | "max": number}, ...]"""
    if not isinstance(criteria, list):
        raise _invalid(_("Acceptance criteria are a list."), "acceptance_criteria")
    out = []
    for item in criteria:
        if not isinstance(item, dict) or item.get("metric") not in CRITERION_METRICS:
            raise _invalid(_("Each criterion names a metric among: %(metrics)s.") % {"metrics": ", ".join(CRITERION_METRICS)},
                           "acceptance_criteria")
        bounds = {k: item[k] for k in ("max_abs", "min", "max") if k in item}
        if len(bounds) != 1 or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in bounds.values()):
            raise _invalid(_("Each criterion has one bound: max_abs, min or max, a number."), "acceptance_criteria")
        out.append({"metric": item["metric"], **bounds})
    return out


@transaction.atomic
def protocol_create(*, actor: User, name: str, test_role: str, reference_role: str = SeriesRole.STANDARD,
                    acceptance_criteria: Any = (), description: str = "") -> EvaluationProtocol:
    """Define a protocol (a data manager of every hospital): the roles compared and the criteria declared beforehand."""
    if reference_role == test_role:
        raise _invalid(_("The reference and the test are different roles."), "test_role")
    protocol = EvaluationProtocol(name=name, reference_role=reference_role, test_role=test_role, description=description,
                                  acceptance_criteria=check_criteria(list(acceptance_criteria)), created_by=actor)
    validate(protocol, exclude=["created_by", "name"])
    try:
        with transaction.atomic():
            protocol.save()
    except IntegrityError:
        raise _invalid(_("A protocol with this name exists."), "name", "duplicate") from None
    ensure_in_scope(protocol, user=actor, action=Action.ADD)
    audit_record(actor=actor, action="create", instance=protocol, after=snapshot(protocol))
    return protocol


# ---------------------------------------------------------------------------------------------------------------------
# Pairs
# ---------------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SeriesAttributes:
    series_id: int
    injected_mbq: float | None
    frame_ms: float | None
    derivation: str


def series_attributes(series: Series) -> SeriesAttributes:
    """Injected activity, frame duration and DerivationDescription from the series' first published image's header."""
    instances = published_instances(series)
    if not instances:
        return SeriesAttributes(series.pk, None, None, "")
    ds = read_dataset(instances[0], pixels=False)
    dose = None
    for item in ds.get("RadiopharmaceuticalInformationSequence", []):
        if item.get("RadionuclideTotalDose") is not None:
            dose = float(item.RadionuclideTotalDose) / 1e6
    frame = ds.get("ActualFrameDuration")
    # The de-identification profile at ingest removes DerivationDescription (PS3.15 basic profile, "X"): a derived image
    # is then known by its ImageType (DERIVED\SECONDARY), which is kept.
    derivation = str(ds.get("DerivationDescription", "") or "")
    image_type = list(ds.get("ImageType", []) or [])
    if not derivation and image_type and str(image_type[0]).upper() == "DERIVED":
        derivation = "DERIVED"
    return SeriesAttributes(series.pk, dose, float(frame) if frame is not None else None, derivation)


def series_roles(attributes: Iterable[SeriesAttributes]) -> dict[int, str]:
    """Each PET series' role within one study: derived (DerivationDescription or ImageType DERIVED) is enhanced; against the
    study's highest activity, at most half of it is reduced activity; among the rest, a frame at most 3/4 of the longest
    is a short scan, and the others are standard."""
    items = list(attributes)
    top_dose = max((a.injected_mbq for a in items if a.injected_mbq and not a.derivation), default=None)
    # The full-time frame is the longest of the full-activity acquisitions (a low-activity one may scan longer per bed).
    full = [a for a in items if not a.derivation and a.injected_mbq and top_dose and a.injected_mbq > LOW_ACTIVITY_RATIO * top_dose]
    top_frame = max((a.frame_ms for a in full if a.frame_ms), default=None)
    roles: dict[int, str] = {}
    for a in items:
        if a.derivation:
            roles[a.series_id] = SeriesRole.ENHANCED
        elif a.injected_mbq and top_dose and a.injected_mbq <= LOW_ACTIVITY_RATIO * top_dose:
            roles[a.series_id] = SeriesRole.LOW_ACTIVITY
        elif a.frame_ms and top_frame and a.frame_ms <= SHORT_FRAME_RATIO * top_frame:
            roles[a.series_id] = SeriesRole.SHORT_SCAN
        elif a.injected_mbq and top_dose:
            roles[a.series_id] = SeriesRole.STANDARD
    return roles


def _pair_create(*, actor: User, protocol: EvaluationProtocol, reference: Series, test: Series, source: str) -> tuple[EvaluationPair, bool]:
    if reference.pk == test.pk:
        raise _invalid(_("The reference and the test are two different series."), "test")
    if reference.study_id != test.study_id:
        raise _invalid(_("The two series are not of the same imaging study (one child, one time point)."), "test")
    if reference.modality != "PT" or test.modality != "PT":
        raise _invalid(_("Both series must be PET."), "test")
    existing = EvaluationPair.objects.filter(protocol=protocol, reference=reference, test=test).first()
    if existing is not None:
        return existing, False
    pair = EvaluationPair(protocol=protocol, reference=reference, test=test, source=source, requested_by=actor, queued_at=timezone.now())
    pair.save()
    ensure_in_scope(pair, user=actor, action=Action.ADD)
    audit_record(actor=actor, action="create", instance=pair, hospital_id=reference.study.patient.hospital_id,
                 after={"protocol": protocol.pk, "reference": reference.pk, "test": test.pk, "source": source})
    work_queue_after_commit(EvaluationPair, pair.pk)
    return pair, True


@transaction.atomic
def pair_assign(*, actor: User, protocol: EvaluationProtocol, reference: Series, test: Series) -> EvaluationPair:
    """Pair two series by hand (same study); the evaluation is queued."""
    pair, created = _pair_create(actor=actor, protocol=protocol, reference=reference, test=test, source=EvaluationPair.Source.MANUAL)
    if not created:
        raise _invalid(_("These two series are already a pair of this protocol."), "test", "duplicate")
    return pair


@transaction.atomic
def pairs_find(*, actor: User, protocol: EvaluationProtocol, study: ImagingStudy) -> tuple[list[EvaluationPair], dict[int, str]]:
    """Pair the study's PET series by their roles (series_roles) for the protocol; new pairs are queued for evaluation.

    Returns the protocol's pairs in the study (new and existing) and the role found for each series.
    """
    series = list(Series.objects.restrict(actor, Action.VIEW).filter(study=study, modality="PT").select_related("study__patient"))
    roles = series_roles(series_attributes(s) for s in series)
    by_id = {s.pk: s for s in series}
    pairs = []
    for ref_id in [pk for pk, role in roles.items() if role == protocol.reference_role]:
        for test_id in [pk for pk, role in roles.items() if role == protocol.test_role]:
            pairs.append(_pair_create(actor=actor, protocol=protocol, reference=by_id[ref_id], test=by_id[test_id],
                                      source=EvaluationPair.Source.FOUND)[0])
    return pairs, roles


# ---------------------------------------------------------------------------------------------------------------------
# Evaluation (the engine's handler)
# ---------------------------------------------------------------------------------------------------------------------

def pair_authorise(pair: EvaluationPair) -> None:
    """At execution: the requester must still be allowed to change the pair (a data manager of the child's hospital)."""
    if not may(pair.requested_by, Action.CHANGE, pair):
        raise access_revoked()


_KJI = np.array([[0, 0, 1, 0], [0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]], dtype=float)  # (k, j, i, 1) -> (i, j, k, 1)


def on_reference_grid(reference: Volume, test: Volume) -> tuple[np.ndarray, str]:
    """The test volume sampled at the reference's voxel centres (trilinear; outside the test's field of view: 0).

    Both are in one frame of reference (the caller checks), so patient mm are shared and the affines map one onto the other.
    """
    if reference.data.shape == test.data.shape and np.allclose(reference.affine, test.affine, atol=1e-3):
        return np.asarray(test.data, dtype=float), "same grid"
    t = np.linalg.inv(test.affine @ _KJI) @ (reference.affine @ _KJI)
    out = ndimage.affine_transform(np.asarray(test.data, dtype=float), t[:3, :3], offset=t[:3, 3], output_shape=reference.data.shape,
                                   order=1, mode="constant", cval=0.0)
    return out, "resampled (linear)"


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
    judged = []
    for c in criteria:
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
    """Resample, compute every metric, store them with the method version (audited)."""
    reference, test = (Series.objects.select_related("study__patient", "suv").get(pk=pk) for pk in (pair.reference_id, pair.test_id))
    if not reference.frame_of_reference_uid or reference.frame_of_reference_uid != test.frame_of_reference_uid:
        raise ApplicationError(_("The two series do not share a frame of reference; rigid registration is not built yet, so they "
                                 "cannot be put on one grid."), code="no_common_frame")
    ref_factor, test_factor = _suv_factor(reference), _suv_factor(test)
    try:
        ref_volume = series_volume(reference)
        work.progress(20)
        test_volume = series_volume(test)
    except VolumeError as exc:
        raise ApplicationError(str(exc), code="no_volume") from None
    work.progress(40)
    ref_suv = np.asarray(ref_volume.data, dtype=float) * ref_factor
    test_on_grid, grid = on_reference_grid(ref_volume, test_volume)
    test_suv = test_on_grid * test_factor
    try:
        similarity = sim.image_similarity(ref_suv, test_suv)
    except ValueError as exc:
        raise ApplicationError(str(exc), code="not_computable") from None
    work.progress(70)
    mask = sim.body_mask(ref_suv)
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
        "method_version": METHOD_VERSION,
    }
    with transaction.atomic():
        metrics, _created = PairMetrics.objects.update_or_create(pair=pair, defaults=columns)
        audit_record(actor=pair.requested_by, action="lowdose_evaluate", instance=pair, hospital_id=reference.study.patient.hospital_id,
                     after={"metrics": metrics.pk, "nrmse": similarity.nrmse, "ssim": similarity.ssim, "method_version": METHOD_VERSION})
        work.succeed(finished_at=timezone.now())


# ---------------------------------------------------------------------------------------------------------------------
# Dose saved
# ---------------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DoseSaving:
    study_id: int
    tracer: str
    hospital: str
    year: int | None
    received_msv: float | None
    standard_activity_mbq: float | None
    standard_msv: float | None  # the effective dose the dosage table's activity for the child's weight would have given
    saving_msv: float | None  # standard - received (negative: more than the standard)
    not_available_reason: str


def dose_saving(dose: DoseResult) -> DoseSaving:
    """Effective dose received against the dosage table's recommended activity for this child's weight (same coefficient)."""
    study = dose.study
    common = {"study_id": study.pk, "tracer": dose.tracer, "hospital": study.patient.hospital.code,
              "year": study.study_date.year if study.study_date else None, "received_msv": dose.radiopharmaceutical_msv,
              "standard_activity_mbq": dose.recommended_activity_mbq}
    if dose.recommended_activity_mbq is None:
        return DoseSaving(**common, standard_msv=None, saving_msv=None,
                          not_available_reason=dose.recommendation_not_available or _("No recommended activity for this exam."))
    if dose.radiopharmaceutical_msv is None or dose.age_years is None:
        return DoseSaving(**common, standard_msv=None, saving_msv=None,
                          not_available_reason=dose.radiopharmaceutical_not_available or _("No effective dose for this exam."))
    try:
        standard = effective_dose.radiopharmaceutical_effective_dose(agent_code=dose.tracer, activity_mbq=dose.recommended_activity_mbq,
                                                                     age_years=dose.age_years)
    except ValueError as exc:
        return DoseSaving(**common, standard_msv=None, saving_msv=None, not_available_reason=str(exc))
    if standard.msv is None:
        return DoseSaving(**common, standard_msv=None, saving_msv=None, not_available_reason=standard.not_available_reason or "")
    return DoseSaving(**common, standard_msv=standard.msv, saving_msv=standard.msv - dose.radiopharmaceutical_msv, not_available_reason="")


def pet_doses(user: User) -> QuerySet[DoseResult]:
    return (DoseResult.objects.restrict(user, Action.VIEW).filter(study__modality_group=ImagingStudy.ModalityGroup.PET_CT)
            .select_related("study__patient__hospital").order_by("study_id"))


def dose_saving_summary(savings: Iterable[DoseSaving]) -> list[dict[str, Any]]:
    """Total and median saving (mSv) per tracer, hospital and year, of the exams where it is known."""
    groups: dict[tuple[str, str, int | None], list[float]] = defaultdict(list)
    unknown: dict[tuple[str, str, int | None], int] = defaultdict(int)
    for s in savings:
        key = (s.tracer, s.hospital, s.year)
        if s.saving_msv is None:
            unknown[key] += 1
        else:
            groups[key].append(s.saving_msv)
    rows = []
    for key in sorted(set(groups) | set(unknown), key=lambda k: (k[0], k[1], k[2] or 0)):
        values = groups.get(key, [])
        rows.append({"tracer": key[0], "hospital": key[1], "year": key[2], "exams": len(values), "exams_unknown": unknown.get(key, 0),
                     "total_saving_msv": sum(values) if values else None, "median_saving_msv": statistics.median(values) if values else None})
    return rows
