"""Low-dose evaluation: define protocols, find or assign pairs (queued for imaging.lowdose.evaluation). Dose saved per exam:
imaging.lowdose.dose_saving.

Every write is audited. No scipy or scikit-image here: the API imports this module, and the URL configuration loads
without the statistics libraries (tests/test_lazy_imports.py); the evaluation, which needs them, is its own module.
"""
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from imaging.lowdose.models import EvaluationPair, EvaluationProtocol, SeriesRole
from imaging.models import ImagingStudy, Series
from imaging.volume import published_instances, read_dataset
from registry.access import Action, ensure_in_scope
from registry.audit import audit_record, snapshot
from registry.errors import ApplicationError
from registry.models import User
from registry.services.common import validate
from registry.services.work import work_queue_after_commit

# The metrics a criterion may name, and where their value is in PairMetrics.
CRITERION_METRICS = ("nrmse", "psnr_db", "ssim", "suv_max_bias_percent", "voi_suv_max_bias_percent", "voi_suv_mean_bias_percent",
                     "voi_suv_peak_bias_percent")
# The reader-study criteria a "reader" criterion may name: the keys of imaging.lowdose.reader_study.CRITERIA (not imported:
# that module pulls in the reading app; a test checks the two agree). The 1-5 scales, the detection rate (a proportion).
READER_CRITERIA = ("overall_quality", "noise", "lesion_conspicuity", "diagnostic_confidence", "lesion_detection_rate",
                   "lesion_confidence")
LOW_ACTIVITY_RATIO = 0.5  # a series injected with at most half the study's highest activity is a reduced-activity one
SHORT_FRAME_RATIO = 0.75  # a frame at most 3/4 of the study's longest one is a short scan


def _invalid(message: str, field: str, code: str = "invalid") -> ApplicationError:
    return ApplicationError(message, code=code, fields={field: [message]})


def _check_reader_criterion(item: dict[str, Any]) -> dict[str, Any]:
    """{"reader": a reader-study criterion, "non_inferiority_margin": m <= 0}; judged over the study, not per pair."""
    if "metric" in item:
        raise _invalid(_("A criterion names either a metric or a reader-study criterion, not both."), "acceptance_criteria",
                       "invalid_criterion")
    if item["reader"] not in READER_CRITERIA:
        raise _invalid(_("A reader criterion names one of: %(criteria)s.") % {"criteria": ", ".join(READER_CRITERIA)},
                       "acceptance_criteria", "invalid_criterion")
    margin = item.get("non_inferiority_margin")
    if not isinstance(margin, int | float) or isinstance(margin, bool) or not math.isfinite(margin) or margin > 0:
        raise _invalid(_("A reader criterion has a non-inferiority margin, a number at most 0 (e.g. -0.5 on the 1-5 scales, "
                         "-0.1 for the detection rate)."), "acceptance_criteria", "invalid_criterion")
    if set(item) - {"reader", "non_inferiority_margin"}:
        raise _invalid(_("A reader criterion has only reader and non_inferiority_margin."), "acceptance_criteria", "invalid_criterion")
    return {"reader": item["reader"], "non_inferiority_margin": float(margin)}


def check_criteria(criteria: Any) -> list[dict[str, Any]]:
    """[{"metric": one of CRITERION_METRICS, "max_abs" | "min" | "max": number}
        | {"reader": one of READER_CRITERIA, "non_inferiority_margin": m <= 0}, ...]

    A metric criterion is judged per pair (imaging.lowdose.evaluation); a reader criterion over the protocol's reader
    study (reports.builders.lowdose_validation): met when the 95 % interval's lower bound of test - reference is >= m.
    """
    if not isinstance(criteria, list):
        raise _invalid(_("Acceptance criteria are a list."), "acceptance_criteria")
    out = []
    for item in criteria:
        if isinstance(item, dict) and "reader" in item:
            out.append(_check_reader_criterion(item))
            continue
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


def _reference_candidates(protocol: EvaluationProtocol, source: Series, series: list[Series], roles: dict[int, str]) -> list[Series]:
    """The references of an enhanced series under `protocol`: its own source when the source has the reference role
    (low-dose source vs enhanced); otherwise the study's series of that role (e.g. the standard one vs enhanced)."""
    if roles.get(source.pk) == protocol.reference_role:
        return [source]
    return [s for s in series if s.pk != source.pk and roles.get(s.pk) == protocol.reference_role]


@transaction.atomic
def pairs_for_derived(*, actor: User, source: Series, derived: Series) -> dict[str, Any]:
    """An enhanced series just analysed, with its source in the same study: pair it (Source FOUND) under every protocol
    whose test role is "enhanced" and whose reference is its source's role or another role found in the study, and
    queue the evaluations. Called by the enhancement step through its hook (apps.py); the requester is `actor`.

    A pair the actor may not create is reported, not raised: the derived series' analysis stands."""
    protocols = list(EvaluationProtocol.objects.filter(test_role=SeriesRole.ENHANCED).order_by("id"))
    if not protocols or source.study_id != derived.study_id:
        return {"pairs": []}
    series = list(Series.objects.restrict(actor, Action.VIEW).filter(study_id=derived.study_id, modality="PT")
                  .select_related("study__patient").order_by("id"))
    by_id = {s.pk: s for s in series}
    roles = series_roles(series_attributes(s) for s in series)
    if source.pk not in by_id or roles.get(derived.pk) != SeriesRole.ENHANCED:
        return {"pairs": []}
    made: list[int] = []
    refused: list[dict[str, Any]] = []
    for protocol in protocols:
        for reference in _reference_candidates(protocol, by_id[source.pk], series, roles):
            try:
                with transaction.atomic():
                    pair, _created = _pair_create(actor=actor, protocol=protocol, reference=reference, test=by_id[derived.pk],
                                                  source=EvaluationPair.Source.FOUND)
            except ApplicationError as exc:
                refused.append({"protocol": protocol.pk, "reference": reference.pk, "code": exc.code, "reason": str(exc)})
                continue
            made.append(pair.pk)
    return {"pairs": made, **({"refused": refused} if refused else {})}
