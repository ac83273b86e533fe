"""Enhancement model pages: the registered models with their contract and what they did (runs done / refused), the
register form (upload + contract -> model_register, which checks the SHA-256), deactivation, and one model's runs with
the reasons of its refusals.

Models are programme-wide (every hospital member reads them; a data manager of every hospital registers and
deactivates them); a run follows the source series' child's hospital, so the run counts and lists are of the runs the
user may see. Reads through registry.access, writes through a form, then a service that audits.
"""
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from imaging.enhancement.models import EnhancementModel, EnhancementRun
from imaging.enhancement.services import model_register
from imaging.enhancement.web.forms import DeactivateForm, ModelRegisterForm
from imaging.enhancement.web.services import model_deactivate
from registry.access import Action, may
from registry.errors import ApplicationError
from registry.web.forms import add_application_error

SHA_SHOWN = 12  # hexadecimal characters of the SHA-256 shown in the list (the model page shows it whole)


def _models(request: HttpRequest) -> Any:
    return EnhancementModel.objects.restrict(request.user, Action.VIEW)


def _runs(request: HttpRequest) -> Any:
    return EnhancementRun.objects.restrict(request.user, Action.VIEW)


def _run_counts(request: HttpRequest) -> dict[int, dict[str, int]]:
    """Per model: the runs the user may see, done and refused (one query)."""
    rows = _runs(request).values("model").annotate(done=Count("id", filter=Q(outcome=EnhancementRun.Outcome.DONE)),
                                                   refused=Count("id", filter=Q(outcome=EnhancementRun.Outcome.REFUSED)))
    return {row["model"]: row for row in rows}


@login_required
@require_GET
def model_list(request: HttpRequest) -> HttpResponse:
    counts = _run_counts(request)
    rows = [{"model": m, "sha": m.sha256[:SHA_SHOWN], "counts": counts.get(m.pk, {})} for m in _models(request)]
    return render(request, "enhancement/model_list.html", {
        "rows": rows, "can_register": may(request.user, Action.ADD, EnhancementModel)})


@login_required
@require_http_methods(["GET", "POST"])
def model_new(request: HttpRequest) -> HttpResponse:
    """Register a model (a data manager of every hospital; the others are refused with 403, as the API refuses them)."""
    if not may(request.user, Action.ADD, EnhancementModel):
        raise PermissionDenied(_("Your role does not register enhancement models."))
    form = ModelRegisterForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            model = model_register(actor=request.user, **form.register_values())
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, _("Model %(label)s registered: the enhance step runs it on matching low-dose series.")
                             % {"label": model.label})
            return redirect("web-enhancement-model", pk=model.pk)
    return render(request, "enhancement/model_form.html", {"form": form}, status=400 if request.method == "POST" else 200)


def _model_page(request: HttpRequest, model: EnhancementModel, *, status: int = 200,
                deactivate: DeactivateForm | None = None) -> HttpResponse:
    runs = (_runs(request).filter(model=model).select_related("source__study__patient", "derived").order_by("-created_at", "-id"))
    return render(request, "enhancement/model_detail.html", {
        "model": model, "runs": runs, "counts": _run_counts(request).get(model.pk, {}),
        "can_deactivate": model.active and may(request.user, Action.CHANGE, model), "deactivate_form": deactivate or DeactivateForm(),
        "voxel": " x ".join(f"{float(v):g}" for v in model.voxel_size_mm)}, status=status)


@login_required
@require_GET
def model_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _model_page(request, get_object_or_404(_models(request), pk=pk))


@login_required
@require_POST
def model_deactivate_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Deactivate with a reason. Out of view 404; seen by a role that may not change it 403."""
    model = get_object_or_404(_models(request), pk=pk)
    if not may(request.user, Action.CHANGE, model):
        raise PermissionDenied(_("Your role does not deactivate enhancement models."))
    form = DeactivateForm(request.POST)
    if form.is_valid():
        try:
            model_deactivate(actor=request.user, model=model, reason=form.cleaned_data["reason"])
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, _("Model %(label)s deactivated: new series are no longer enhanced with it.") % {"label": model.label})
            return redirect("web-enhancement-model", pk=model.pk)
    return _model_page(request, model, status=400, deactivate=form)
