"""Saving a measurement drawn in the viewer (POST /api/v1/imaging/measurements/, docs/imaging/viewer.md).

The viewer posts back the opaque `context` its page gave it (imaging/viewer_config.py), the target, the series and
image it measured on (the page's UIDs: pseudonymous in a blinded case), the tool, a label, the values and the points.
The page kind in the context picks a resolver, which checks the caller's access to the page's study or case and turns
the posted UIDs into the real series and instance; pages of a sub-app register their resolvers from its AppConfig
(imaging.reading registers "score_sheet" and "case"), so this module never imports them.

Targets:
- "voi": a VoiMeasurement of the series (shape line, roi or point), audited. A length is recomputed from its two
  points and must agree with the value posted; ROI SUVs must be the ROI's rescaled values times the factor the page
  gave the viewer (the series' stored SUVbw factor, or 1 in a blinded case whose rescaled values are SUVs already).
- "score_sheet": a line appended to the reader's own draft score sheet's comment, through the sheet services
  (registered by imaging.reading).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from imaging import viewer_config
from imaging.models import ImagingStudy, Instance, Series, VoiMeasurement
from registry.access import Action, ensure_in_scope
from registry.audit import audit_record, snapshot
from registry.errors import ApplicationError
from registry.models import User

METHOD_VERSION = "viewer-1"
TOOLS = ("length", "roi", "probe")
SHAPE_OF_TOOL = {"length": VoiMeasurement.Shape.LINE, "roi": VoiMeasurement.Shape.ROI, "probe": VoiMeasurement.Shape.POINT}
ROI_VALUES = ("suv_max", "suv_mean", "suv_peak", "mean", "max", "area_mm2", "pixels")
LENGTH_TOLERANCE_MM = 0.5
LENGTH_TOLERANCE_REL = 0.01
SUV_TOLERANCE_REL = 1e-3
MAX_POINTS = 2000


@dataclass(frozen=True)
class Measurement:
    """The validated request: what was measured, where and with which tool."""

    context: Mapping[str, Any]
    target: str
    series_uid: str
    sop_uid: str
    tool: str
    label: str
    values: Mapping[str, Any]
    points: list[list[float]]


@dataclass(frozen=True)
class Saved:
    id: int
    message: str


# A target's writer: (actor, measurement, real series, real image UID, checked values) -> what was saved.
Writer = Callable[[User, Measurement, Series, str, dict[str, Any]], Saved]


@dataclass
class Place:
    """What a page's context resolves to: its series by the UIDs the viewer was given (with the SUV factor the viewer
    was given for each), how a posted image UID maps to the real one, and the writers of the page's targets."""

    series: dict[str, tuple[Series, float | None]]
    instance_uid: Callable[[Series, str], str | None]
    targets: dict[str, Writer] = field(default_factory=dict)
    # A blinded case: its rescaled values are SUVs already (the factor the viewer was given is 1).
    via_case: bool = False


Resolver = Callable[[User, Mapping[str, Any]], Place]
RESOLVERS: dict[str, Resolver] = {}


def register_context(page: str) -> Callable[[Resolver], Resolver]:
    def register(resolver: Resolver) -> Resolver:
        RESOLVERS[page] = resolver
        return resolver

    return register


def fail(message: str, code: str, field_name: str | None = None) -> ApplicationError:
    return ApplicationError(message, code=code, fields={field_name: [message]} if field_name else None)


def real_instance_uid(series: Series, uid: str) -> str | None:
    return uid if Instance.objects.filter(series=series, sop_instance_uid=uid, quarantine_reason="").exists() else None


def study_series(user: User, study: ImagingStudy) -> dict[str, tuple[Series, float | None]]:
    """The study's series the user can open through /dicomweb (what the page's viewer listed), with their factors."""
    out = {}
    for s in viewer_config.published_series(user, study):
        suv = getattr(s, "suv", None)
        out[s.series_uid] = (s, float(suv.suv_bw_factor) if suv and suv.quantifiable and suv.suv_bw_factor else None)
    return out


def page_study(user: User, context: Mapping[str, Any]) -> ImagingStudy:
    study_pk = context.get("study")
    study = None
    if isinstance(study_pk, int) and not isinstance(study_pk, bool):
        study = ImagingStudy.objects.restrict(user, Action.VIEW).filter(pk=study_pk).first()
    if study is None:
        raise fail(_("This page's study does not exist."), "not_found", "context")
    return study


@register_context("study")
def _study_page(user: User, context: Mapping[str, Any]) -> Place:
    study = page_study(user, context)
    return Place(series=study_series(user, study), instance_uid=real_instance_uid, targets={"voi": voi_record})


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _number(values: Mapping[str, Any], key: str, *, required: bool = False, minimum: float | None = None) -> float | None:
    value = values.get(key)
    if value is None:
        if required:
            raise fail(_("The measurement has no %(value)s.") % {"value": key}, "values_missing", "values")
        return None
    if not _finite(value):
        raise fail(_("%(value)s must be a finite number.") % {"value": key}, "invalid", "values")
    if minimum is not None and value < minimum:
        raise fail(_("%(value)s cannot be below %(minimum)s.") % {"value": key, "minimum": minimum}, "invalid", "values")
    return float(value)


def _check_values(m: Measurement, factor: float | None) -> dict[str, float | None]:
    """The values the tool must carry, checked against the points and the factor the viewer was given. Everything
    stored is finite (PostgreSQL's JSON has no Infinity or NaN)."""
    if not m.points or not all(len(p) == 3 and all(_finite(c) for c in p) for p in m.points):
        raise fail(_("Points are three finite patient coordinates in mm each."), "invalid_points", "points")
    if m.tool == "length":
        length = _number(m.values, "length_mm", required=True)
        if set(m.values) - {"length_mm"}:
            raise fail(_("A length carries length_mm only."), "invalid", "values")
        if length is not None and length < 0:
            raise fail(_("A length cannot be negative."), "negative_length", "values")
        if len(m.points) != 2:
            raise fail(_("A length is drawn between two points."), "invalid_points", "points")
        measured = math.dist(m.points[0], m.points[1])
        if abs(measured - (length or 0.0)) > LENGTH_TOLERANCE_MM + LENGTH_TOLERANCE_REL * measured:
            raise fail(_("The length (%(posted).1f mm) does not match its two points (%(measured).1f mm).")
                       % {"posted": length, "measured": measured}, "length_mismatch", "values")
        return {"length_mm": round(measured, 3)}
    if m.tool == "probe":
        if len(m.points) != 1:
            raise fail(_("A probe is one point."), "invalid_points", "points")
        numbers = {k: _number(m.values, k) for k in m.values}
        if not any(v is not None for v in numbers.values()):
            raise fail(_("The probe has no value."), "values_missing", "values")
        return {}
    unknown = sorted(set(m.values) - set(ROI_VALUES))
    if unknown:
        raise fail(_("Unknown values: %(names)s.") % {"names": ", ".join(unknown)}, "invalid", "values")
    if len(m.points) < 2:
        raise fail(_("A region is drawn through at least two points."), "invalid_points", "points")
    out = {k: _number(m.values, k, minimum=0 if k in ("area_mm2", "pixels") else None) for k in ROI_VALUES}
    if out["max"] is None and out["suv_max"] is None:
        raise fail(_("The region has no maximum."), "values_missing", "values")
    if out["suv_max"] is not None:
        if factor is None:
            raise fail(_("This series has no SUV: save the region's values without SUVs."), "no_suv", "values")
        if out["max"] is not None and not math.isclose(out["suv_max"], out["max"] * factor, rel_tol=SUV_TOLERANCE_REL, abs_tol=1e-9):
            raise fail(_("SUVmax is not the maximum times this series' SUV factor."), "suv_mismatch", "values")
    return out


def resolve(actor: User, m: Measurement) -> tuple[Place, Series, str]:
    """The page's place, the real series and instance UID; 400 for UIDs the page did not show."""
    resolver = RESOLVERS.get(str(m.context.get("page", "")))
    if resolver is None:
        raise fail(_("This measurement's page is not known."), "invalid_context", "context")
    place = resolver(actor, m.context)
    if m.target not in place.targets:
        raise fail(_("This page does not save measurements to %(target)s.") % {"target": m.target}, "invalid_target", "target")
    found = place.series.get(m.series_uid)
    if found is None:
        raise fail(_("This series is not one of the page's series."), "unknown_series", "seriesInstanceUID")
    series = found[0]
    sop = place.instance_uid(series, m.sop_uid)
    if sop is None:
        raise fail(_("This image is not in the series."), "unknown_instance", "sopInstanceUID")
    return place, series, sop


@transaction.atomic
def measurement_save(*, actor: User, measurement: Measurement) -> Saved:
    """Check the measurement against its page and save it to the target (audited by the target's service)."""
    place, series, sop = resolve(actor, measurement)
    factor = place.series[measurement.series_uid][1]
    if place.via_case:
        factor = 1.0 if factor is not None else None  # the case served SUVs as rescaled values
    checked = _check_values(measurement, factor)
    return place.targets[measurement.target](actor, measurement, series, sop, checked)


def voi_record(actor: User, m: Measurement, series: Series, sop: str, checked: dict[str, Any], *, via_case: bool = False) -> Saved:
    """A VOI record of a viewer measurement (shape line/roi/point), audited; scoped by the caller's imaging scope
    unless a blinded case has authorised it (the reader has no imaging scope on the case's series by design)."""
    if not via_case and not Series.objects.restrict(actor, Action.ADD).filter(pk=series.pk).exists():
        raise fail(_("Your role does not record measurements on this series."), "not_allowed")
    row = VoiMeasurement(series=series, created_by=actor, label=m.label, kind=VoiMeasurement.Kind.LESION,
                         shape=SHAPE_OF_TOOL[m.tool], sop_instance_uid=sop, points_mm=m.points, method_version=METHOD_VERSION,
                         details={"viewer": {"tool": m.tool, "values": dict(m.values)}, "computed_by": "viewer",
                                  **({"reading_case": True} if via_case else {})})
    for key in ("length_mm", "area_mm2", "suv_max", "suv_mean", "suv_peak"):
        setattr(row, key, checked.get(key))
    if checked.get("pixels") is not None:
        row.voxels = int(checked["pixels"])
    row.full_clean()
    row.save()
    if not via_case:
        ensure_in_scope(row, user=actor, action=Action.ADD)
    audit_record(actor=actor, action="create", instance=row, after=snapshot(row), hospital_id=series.study.patient.hospital_id)
    return Saved(row.pk, _("Saved as a VOI record."))


def describe(m: Measurement) -> str:
    """One line for a score sheet's comment: tool, label and values (as the viewer measured them)."""
    shown = ", ".join(f"{k} {v:g}" if isinstance(v, int | float) and not isinstance(v, bool) else f"{k} {v}"
                      for k, v in m.values.items() if v is not None)
    label = f" \u201c{m.label}\u201d" if m.label else ""
    return f"[{_('viewer')}] {m.tool}{label}: {shown}"
