"""The subject page (visit schedule with "Record" links, doses, deviations with their review form, adverse events, data
queries on visits and doses), the dosing form with its live preview, and the correction of a recorded dose.

The preview runs the dosing service's own computation (`trials.services.dosing.compute`: net activity, the arm's
recommended activity, deviation, effective dose) on an unsaved record: nothing is written until "Save".
"""
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from registry.access import Action, may
from registry.errors import ApplicationError
from trials import selectors
from trials.models import DosingRecord, ProtocolDeviation, Subject, SubjectVisit
from trials.services.casebook import casebook_signed
from trials.services.dosing import compute, dosing_record_create, dosing_record_update
from trials.services.randomisation import subject_unblind, unblinding_refusal
from trials.web.common import TEMPLATES, refused, study_id_for
from trials.web.forms import DeviationReviewForm, DoseCorrectionForm, DosingForm, UnblindForm
from trials.web.subject_sections import add_subject_sections
from trials.web.trial_views import _arm_shown


def visible_subject(request: HttpRequest, pk: int) -> Subject:
    return get_object_or_404(selectors.subject_list(user=request.user), pk=pk)


def _dosing_form(request: HttpRequest, subject: Subject) -> DosingForm:
    visits = selectors.subject_visit_list(user=request.user).filter(subject=subject)
    return DosingForm(request.POST or None, visits=visits)


def subject_context(request: HttpRequest, subject: Subject, **extra: Any) -> dict[str, Any]:
    """The subject page. `review_forms` (deviation id -> bound form) and `review_open` re-show a refused deviation review."""
    user = request.user
    may_write = may(user, Action.CHANGE, subject)
    visits = list(selectors.subject_visit_list(user=user).filter(subject=subject).order_by("target_date", "definition__day_offset"))
    doses = list(selectors.dosing_list(user=user).filter(subject=subject))
    deviations = list(selectors.deviation_list(user=user).filter(subject=subject))
    recordable = set(SubjectVisit.objects.restrict(user, Action.CHANGE).filter(subject=subject).values_list("pk", flat=True))
    reviewable = set(ProtocolDeviation.objects.restrict(user, Action.CHANGE).filter(subject=subject, status=ProtocolDeviation.Status.OPEN)
                     .values_list("pk", flat=True)) if deviations else set()
    out_of_window = {d.subject_visit_id for d in deviations if d.kind == ProtocolDeviation.Kind.VISIT_OUT_OF_WINDOW}
    for visit in visits:
        visit.may_record = visit.pk in recordable
        visit.out_of_window = visit.pk in out_of_window
    review_forms = extra.pop("review_forms", {})
    for deviation in deviations:
        # A refused review is shown with its form even when the deviation is no longer open (reviewed meanwhile).
        deviation.review_form = review_forms.get(deviation.pk) or (DeviationReviewForm(deviation_id=deviation.pk)
                                                                   if deviation.pk in reviewable else None)
    context = {
        "subject": subject, "study_id": study_id_for(user, subject), "arm": _arm_shown(subject),
        "visits": visits, "doses": doses, "deviations": deviations,
        "casebook_signed": casebook_signed(subject),
        "may_write": may_write, "may_report_ae": may_write,
    }
    add_subject_sections(user, subject, context)  # the adverse events (safety), the queries on visits and doses (oversight)
    if unblinding_refusal(user, subject) is None:
        context["unblind_form"] = UnblindForm()
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
    except ApplicationError as exc:  # e.g. no_recommendation: the service would refuse to save it
        context["problem"] = exc.message
        return render(request, TEMPLATES + "_dose_preview.html", context)
    context["record"] = record
    context["above"] = record.deviation_percent is not None and record.deviation_percent > subject.trial.deviation_threshold_percent
    return render(request, TEMPLATES + "_dose_preview.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def dosing_correct(request: HttpRequest, pk: int) -> HttpResponse:
    """Correct a recorded dose (`dosing_record_update`): every computed value is recomputed, the same deviation is
    updated, the reason and before/after values are audited. 404 outside scope, 403 for a role that only reads."""
    record = get_object_or_404(selectors.dosing_list(user=request.user), pk=pk)
    if not may(request.user, Action.CHANGE, record):
        raise PermissionDenied(_("Your role does not record doses."))
    subject = visible_subject(request, record.subject_id)
    visits = selectors.subject_visit_list(user=request.user).filter(subject=subject)
    form = DoseCorrectionForm(request.POST or None, instance=record, visits=visits)
    context = {"subject": subject, "study_id": study_id_for(request.user, subject), "record": record, "form": form,
               "casebook_signed": casebook_signed(subject)}
    if request.method == "GET":
        return render(request, TEMPLATES + "dose_correct.html", context)
    if not form.is_valid():
        return render(request, TEMPLATES + "dose_correct.html", context, status=400)
    changes = form.changes()
    if not changes:
        messages.info(request, _("Nothing was changed."))
        return redirect("web-subject-detail", pk=subject.pk)
    try:
        # The form's instance was filled in by validation: the service reads the stored row again itself.
        saved = dosing_record_update(actor=request.user, record=DosingRecord(pk=record.pk), data=changes,
                                     reason=form.cleaned_data["reason"])
    except ApplicationError as error:
        return refused(request, "dose_correct.html", context, form, error)
    messages.success(request, _("Dose corrected: %(net)s MBq net.") % {"net": saved.net_activity_mbq})
    return redirect("web-subject-detail", pk=subject.pk)


@login_required
@require_POST
def subject_unblind_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Emergency unblinding by a data manager of the subject's hospital (`subject_unblind`: reason required,
    audited, once); the refusals of the service (not allowed, not blinded, already unblinded) re-render the page."""
    subject = visible_subject(request, pk)
    form = UnblindForm(request.POST)
    context = subject_context(request, subject, unblind_form=form, unblind_open=True)
    if not form.is_valid():
        return render(request, TEMPLATES + "subject_detail.html", context, status=400)
    try:
        subject_unblind(actor=request.user, subject=subject, reason=form.cleaned_data["reason"])
    except ApplicationError as error:
        return refused(request, "subject_detail.html", context, form, error)
    subject.refresh_from_db()
    messages.warning(request, _("Subject %(number)s unblinded: arm %(arm)s.") % {"number": subject.subject_number,
                                                                                 "arm": subject.arm.code})
    return redirect("web-subject-detail", pk=subject.pk)
