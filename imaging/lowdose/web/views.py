"""Low-dose evaluation pages: the protocols (list, define), a protocol's pairs with their key metrics and criteria, the
"find pairs in a study" and "assign a pair by hand" forms, one pair's metrics, and the retry of a failed evaluation.

Reads are scoped by registry.access (`restrict`, `may`); writes go through a form, then the services of
imaging.lowdose.services (or the work engine's retry), which audit. Protocols are programme-wide (every hospital member
reads them, a data manager of every hospital defines them); a pair follows the child's hospital.
"""
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from imaging.enhancement.models import EnhancementModel
from imaging.lowdose import reader_study, services
from imaging.lowdose.models import EvaluationPair, EvaluationProtocol, PairMetrics
from imaging.lowdose.web.forms import (
    BOUND_LABELS,
    PairAssignForm,
    PairFindForm,
    ProtocolForm,
    ReaderStudyForm,
    RetryForm,
    criterion_text,
    metric_label,
)
from imaging.reading.models import ReadingSession
from registry.access import Action, may
from registry.errors import ApplicationError
from registry.models.work import WorkRow
from registry.services.work import work_retry
from registry.web.forms import add_application_error

FAILED, SUCCEEDED = WorkRow.Status.FAILED, WorkRow.Status.SUCCEEDED
# The metrics shown in a protocol's pair table (all of them are on the pair's page).
KEY_METRICS = ("nrmse", "psnr_db", "ssim", "suv_max_bias_percent")


def _protocols(request: HttpRequest) -> Any:
    return EvaluationProtocol.objects.restrict(request.user, Action.VIEW)


def _pairs(request: HttpRequest) -> Any:
    return EvaluationPair.objects.restrict(request.user, Action.VIEW)


def _criteria(protocol: EvaluationProtocol) -> list[str]:
    return [criterion_text(c) for c in protocol.acceptance_criteria]


@login_required
@require_GET
def protocol_list(request: HttpRequest) -> HttpResponse:
    """Every protocol, with the number of its pairs the user may see (done, failed, waiting)."""
    counts = {row["protocol"]: row for row in _pairs(request).values("protocol").annotate(
        total=Count("id"), done=Count("id", filter=Q(status=SUCCEEDED)), failed=Count("id", filter=Q(status=FAILED)))}
    protocols = [{"protocol": p, "criteria": _criteria(p), "counts": counts.get(p.pk, {})} for p in _protocols(request)]
    return render(request, "lowdose/protocol_list.html", {
        "protocols": protocols, "can_define": may(request.user, Action.ADD, EvaluationProtocol),
        "may_see_models": may(request.user, Action.VIEW, EnhancementModel)})


@login_required
@require_http_methods(["GET", "POST"])
def protocol_new(request: HttpRequest) -> HttpResponse:
    """Define a protocol (a data manager of every hospital; the others are refused with 403, as the API refuses them)."""
    if not may(request.user, Action.ADD, EvaluationProtocol):
        raise PermissionDenied(_("Your role does not define evaluation protocols."))
    form = ProtocolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            protocol = services.protocol_create(actor=request.user, **form.protocol_values())
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, _("Protocol %(name)s defined.") % {"name": protocol.name})
            return redirect("web-lowdose-protocol", pk=protocol.pk)
    return render(request, "lowdose/protocol_form.html", {"form": form}, status=400 if request.method == "POST" else 200)


def _metric_cells(metrics: PairMetrics | None) -> list[float | None]:
    return [getattr(metrics, key) if metrics is not None else None for key in KEY_METRICS]


def _pair_rows(request: HttpRequest, protocol: EvaluationProtocol) -> list[dict[str, Any]]:
    pairs = (_pairs(request).filter(protocol=protocol).select_related("reference__study__patient", "test", "metrics")
             .order_by("-created_at", "-id"))
    changeable = set(_pairs(request).filter(protocol=protocol).restrict(request.user, Action.CHANGE).values_list("pk", flat=True))
    rows = []
    for pair in pairs:
        metrics = getattr(pair, "metrics", None)
        rows.append({"pair": pair, "metrics": metrics, "cells": _metric_cells(metrics),
                     "criteria": [{**c, "text": criterion_text(c)} for c in (metrics.criteria if metrics else [])],
                     "can_retry": pair.pk in changeable and pair.status == FAILED})
    return rows


def _reader_context(request: HttpRequest, protocol: EvaluationProtocol, form: ReaderStudyForm | None) -> dict[str, Any]:
    """The reader studies of the protocol and the latest complete one's results, for who may see reading sessions (the
    results name the arms); the form to start one for who may create them."""
    context: dict[str, Any] = {"can_read_results": may(request.user, Action.VIEW, ReadingSession),
                               "can_start_reading": may(request.user, Action.ADD, ReadingSession)}
    if context["can_read_results"]:
        latest = reader_study.latest_complete_session(protocol)
        context |= {"reader_sessions": reader_study.session_statuses(protocol, user=request.user), "reader_session": latest,
                    "reader_results": reader_study.session_results(latest, protocol) if latest else []}
    if context["can_start_reading"]:
        context["reader_form"] = form or ReaderStudyForm()
    return context


def _protocol_page(request: HttpRequest, protocol: EvaluationProtocol, *, status: int = 200, find: PairFindForm | None = None,
                   assign: PairAssignForm | None = None, reader: ReaderStudyForm | None = None) -> HttpResponse:
    can_pair = may(request.user, Action.ADD, EvaluationPair)
    context = {"protocol": protocol, "criteria": _criteria(protocol), "rows": _pair_rows(request, protocol),
               "key_metrics": [metric_label(k) for k in KEY_METRICS], "can_pair": can_pair, "retry_form": RetryForm(),
               **_reader_context(request, protocol, reader)}
    if can_pair:  # the forms' choices are queries: only built for who may use them
        context |= {"find_form": find or PairFindForm(user=request.user), "assign_form": assign or PairAssignForm(user=request.user)}
    return render(request, "lowdose/protocol_detail.html", context, status=status)


@login_required
@require_GET
def protocol_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _protocol_page(request, get_object_or_404(_protocols(request), pk=pk))


def _pairing_protocol(request: HttpRequest, pk: int) -> EvaluationProtocol:
    """The protocol of a pairing form: out of view 404; seen by a role that adds no pair 403 (the API's answer)."""
    protocol = get_object_or_404(_protocols(request), pk=pk)
    if not may(request.user, Action.ADD, EvaluationPair):
        raise PermissionDenied(_("Your role does not pair series for evaluation."))
    return protocol


@login_required
@require_POST
def pairs_find_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Pair a study's PET series by their roles (injected activity, frame duration, DerivationDescription)."""
    protocol = _pairing_protocol(request, pk)
    form = PairFindForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            pairs, roles = services.pairs_find(actor=request.user, protocol=protocol, study=form.cleaned_data["study"])
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            if pairs:
                messages.success(request, _("%(count)s pair(s) of this protocol in the study; new ones are queued for evaluation.")
                                 % {"count": len(pairs)})
            else:
                messages.warning(request, _("No pair of this protocol's roles in this study (%(count)s PET series with a role).")
                                 % {"count": len(roles)})
            return redirect("web-lowdose-protocol", pk=protocol.pk)
    return _protocol_page(request, protocol, status=400, find=form)


@login_required
@require_POST
def pair_assign_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Pair two series of one study by hand; the evaluation is queued."""
    protocol = _pairing_protocol(request, pk)
    form = PairAssignForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            pair = services.pair_assign(actor=request.user, protocol=protocol, reference=form.cleaned_data["reference"],
                                        test=form.cleaned_data["test"])
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, _("Pair %(pair)s assigned; its evaluation is queued.") % {"pair": pair.pk})
            return redirect("web-lowdose-pair", pk=pair.pk)
    return _protocol_page(request, protocol, status=400, assign=form)


@login_required
@require_POST
def reader_study_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Start a blinded reader study of the protocol's pairs (reader_study_create, audited). Out of view 404; a role that
    creates no reading session 403."""
    protocol = get_object_or_404(_protocols(request), pk=pk)
    if not may(request.user, Action.ADD, ReadingSession):
        raise PermissionDenied(_("Your role does not start reader studies."))
    form = ReaderStudyForm(request.POST)
    if form.is_valid():
        try:
            session = reader_study.reader_study_create(actor=request.user, protocol=protocol, readers=list(form.cleaned_data["readers"]),
                                                       name=form.cleaned_data["name"], evaluated_only=form.cleaned_data["evaluated_only"])
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, _("Reader study %(name)s started: each reader has the cases in their own order, the arms "
                                        "hidden.") % {"name": session.name})
            return redirect("web-lowdose-protocol", pk=protocol.pk)
    return _protocol_page(request, protocol, status=400, reader=form)


def _versions(method_version: str) -> tuple[str, str]:
    """(image similarity, VOI statistics) parts of the stored method version (evaluation.METHOD_VERSION is "sim+voi+rigid")."""
    similarity, _sep, voi = method_version.partition("+")
    return similarity, voi.partition("+")[0] or similarity


def _metric_rows(metrics: PairMetrics) -> tuple[list[dict[str, Any]], str]:
    """Every stored number with the version of the method that computed it, and the VOI statistics' version."""
    similarity, voi = _versions(metrics.method_version)
    return [
        {"label": metric_label("nrmse"), "value": metrics.nrmse, "version": similarity, "key": "nrmse"},
        {"label": metric_label("psnr_db"), "value": metrics.psnr_db, "version": similarity, "key": "psnr_db",
         "note": _("identical images in the mask") if metrics.psnr_db is None else ""},
        {"label": metric_label("ssim"), "value": metrics.ssim, "version": similarity, "key": "ssim"},
        {"label": metric_label("suv_max_bias_percent"), "value": metrics.suv_max_bias_percent, "version": similarity,
         "key": "suv_max_bias_percent"},
        {"label": _("Liver SNR, reference"), "value": metrics.liver_snr_reference, "version": similarity, "key": "liver_snr_reference"},
        {"label": _("Liver SNR, test"), "value": metrics.liver_snr_test, "version": similarity, "key": "liver_snr_test"},
        {"label": _("Liver CV, reference"), "value": metrics.liver_cv_reference, "version": similarity, "key": "liver_cv_reference"},
        {"label": _("Liver CV, test"), "value": metrics.liver_cv_test, "version": similarity, "key": "liver_cv_test"},
    ], voi


def _pair_page(request: HttpRequest, pair: EvaluationPair, *, status: int = 200, retry: RetryForm | None = None) -> HttpResponse:
    metrics = getattr(pair, "metrics", None)
    rows, voi_version = _metric_rows(metrics) if metrics is not None else ([], "")
    study = pair.reference.study
    return render(request, "lowdose/pair_detail.html", {
        "pair": pair, "protocol": pair.protocol, "metrics": metrics, "metric_rows": rows, "voi_version": voi_version,
        "criteria": [{**c, "text": criterion_text(c)} for c in (metrics.criteria if metrics else [])],
        "study_url": reverse("web-study-detail", args=[study.pk]), "viewer_url": reverse("web-study-detail", args=[study.pk]) + "#nb-viewer",
        "can_retry": pair.status == FAILED and may(request.user, Action.CHANGE, pair), "retry_form": retry or RetryForm(),
        "bounds": BOUND_LABELS}, status=status)


def _pair(request: HttpRequest, pk: int) -> EvaluationPair:
    return get_object_or_404(_pairs(request).select_related("protocol", "reference__study__patient", "test", "metrics"), pk=pk)


@login_required
@require_GET
def pair_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _pair_page(request, _pair(request, pk))


@login_required
@require_POST
def pair_retry_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Evaluate a failed pair again (the work engine's audited retry). Out of view 404; seen, not changeable 403."""
    pair = _pair(request, pk)
    if not may(request.user, Action.CHANGE, pair):
        raise PermissionDenied(_("Your role does not evaluate pairs again."))
    form = RetryForm(request.POST)
    if form.is_valid():
        try:
            work_retry(actor=request.user, row=pair)
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, _("Pair %(pair)s queued for evaluation again.") % {"pair": pair.pk})
            return redirect("web-lowdose-pair", pk=pair.pk)
    return _pair_page(request, pair, status=400, retry=form)
