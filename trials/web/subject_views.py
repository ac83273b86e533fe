"""The subject page (visit schedule, doses, deviations, adverse events) and the dosing form with its live preview.

The preview runs the dosing service's own computation (`trials.services.dosing.compute`: net activity, the arm's
recommended activity, deviation, effective dose) on an unsaved record: nothing is written until "Save".
"""
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from registry.access import Action
from registry.errors import ApplicationError
from trials import selectors
from trials.models import DosingRecord, Subject
from trials.oversight.services.signatures import valid_signatures
from trials.safety.selectors import adverse_event_list
from trials.services.dosing import compute, dosing_record_create
from trials.web.common import TEMPLATES, may, refused, study_id_for
from trials.web.forms import DosingForm
from trials.web.trial_views import _arm_shown


def visible_subject(request: HttpRequest, pk: int) -> Subject:
    return get_object_or_404(selectors.subject_list(user=request.user), pk=pk)


def _dosing_form(request: HttpRequest, subject: Subject) -> DosingForm:
    visits = selectors.subject_visit_list(user=request.user).filter(subject=subject)
    return DosingForm(request.POST or None, visits=visits)


def subject_context(request: HttpRequest, subject: Subject, **extra: Any) -> dict[str, Any]:
    user = request.user
    may_write = may(user, Subject, subject, Action.CHANGE)
    context = {
        "subject": subject, "study_id": study_id_for(user, subject), "arm": _arm_shown(subject),
        "visits": list(selectors.subject_visit_list(user=user).filter(subject=subject).order_by("target_date", "definition__day_offset")),
        "doses": list(selectors.dosing_list(user=user).filter(subject=subject)),
        "deviations": list(selectors.deviation_list(user=user).filter(subject=subject)),
        "events": list(adverse_event_list(user=user).filter(subject=subject)),
        "casebook_signed": valid_signatures(subject).exists(),
        "may_write": may_write, "may_report_ae": may_write,
    }
    if may_write and "dosing_form" not in extra:
        context["dosing_form"] = DosingForm(visits=selectors.subject_visit_list(user=user).filter(subject=subject))
    context.update(extra)
    return context


@login_required
def subject_detail_page(request: HttpRequest, pk: int) -> HttpResponse:
    subject = visible_subject(request, pk)
    return render(request, TEMPLATES + "subject_detail.html", subject_context(request, subject))


@login_required
@require_http_methods(["POST"])
def dosing_create(request: HttpRequest, pk: int) -> HttpResponse:
    subject = visible_subject(request, pk)
    form = _dosing_form(request, subject)
    context = subject_context(request, subject, dosing_form=form, dosing_open=True)
    if not form.is_valid():
        return render(request, TEMPLATES + "subject_detail.html", context, status=400)
    data = {k: v for k, v in form.cleaned_data.items() if k != "reason"}
    if data.get("residual_activity_mbq") is None:
        data["residual_activity_mbq"] = Decimal(0)
    try:
        record = dosing_record_create(actor=request.user, subject=subject, reason=form.cleaned_data["reason"], **data)
    except ApplicationError as error:
        return refused(request, "subject_detail.html", context, form, error)
    messages.success(request, _("Dose recorded: %(net)s MBq net.") % {"net": record.net_activity_mbq})
    return redirect("web-subject-detail", pk=subject.pk)


@login_required
@require_POST
def dosing_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """What the service would compute for the typed dose, without saving (htmx, on every change of the form)."""
    subject = visible_subject(request, pk)
    form = _dosing_form(request, subject)
    context: dict[str, Any] = {"subject": subject, "threshold": subject.trial.deviation_threshold_percent}
    if not form.is_valid():
        context["incomplete"] = True
        return render(request, TEMPLATES + "_dose_preview.html", context)
    record = DosingRecord(**{k: v for k, v in form.cleaned_data.items() if k != "reason"})
    if record.residual_activity_mbq is None:
        record.residual_activity_mbq = Decimal(0)
    try:
        compute(record, subject)
    except (ValueError, ArithmeticError) as exc:
        context["problem"] = str(exc)
        return render(request, TEMPLATES + "_dose_preview.html", context)
    context["record"] = record
    context["above"] = record.deviation_percent is not None and record.deviation_percent > subject.trial.deviation_threshold_percent
    return render(request, TEMPLATES + "_dose_preview.html", context)
