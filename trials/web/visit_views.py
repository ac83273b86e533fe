"""Recording a trial visit (done on a date, or missed) and reviewing a protocol deviation from the subject page.

The rules are the services': `trials.services.visits.subject_visit_record` (who may record, the date, a reason when the
visit was already recorded or the casebook is signed, a reason and a deviation when the visit is done outside its window) and
`trials.services.dosing.protocol_deviation_review`. A visit or deviation outside the user's scope is a 404; a role that
may read it but not write it (monitors, sponsors) gets a 403.
"""
from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from registry.access import Action, may
from registry.errors import ApplicationError
from trials import selectors
from trials.models import ProtocolDeviation, SubjectVisit
from trials.services.casebook import casebook_signed
from trials.services.dosing import protocol_deviation_review
from trials.services.visits import outside_window, subject_visit_record
from trials.web.common import TEMPLATES, refused, study_id_for
from trials.web.forms import DeviationReviewForm, VisitRecordForm
from trials.web.subject_views import subject_context

RECORDED = (SubjectVisit.Status.DONE, SubjectVisit.Status.MISSED)


def writable_visit(request: HttpRequest, pk: int) -> SubjectVisit:
    """The visit: 404 outside the user's scope, 403 for a role that may read it but not record it."""
    visit = get_object_or_404(selectors.subject_visit_list(user=request.user).select_related("subject__trial"), pk=pk)
    if not may(request.user, Action.CHANGE, visit):
        raise PermissionDenied(_("Your role does not record visits."))
    return visit


def _window_deviation(user: Any, visit: SubjectVisit) -> ProtocolDeviation | None:
    return (selectors.deviation_list(user=user)
            .filter(subject_visit=visit, kind=ProtocolDeviation.Kind.VISIT_OUT_OF_WINDOW).first())


def _short(day: Any) -> str:
    return date_format(day, "SHORT_DATE_FORMAT")


def _window_warning(visit: SubjectVisit, form: VisitRecordForm) -> bool:
    """Warn before saving: the window has already closed (a visit done today falls outside it), or the date sent is outside."""
    if visit.window_end is None:
        return False
    sent = form.data.get("done_on") if form.is_bound else None
    try:
        done_on = date.fromisoformat(sent) if sent else None
    except ValueError:
        done_on = None
    return outside_window(visit, done_on) if done_on else (visit.status not in RECORDED and timezone.localdate() > visit.window_end)


@login_required
@require_http_methods(["GET", "POST"])
def visit_record(request: HttpRequest, pk: int) -> HttpResponse:
    visit = writable_visit(request, pk)
    subject = visit.subject
    recorded = visit.status in RECORDED
    initial = {"status": visit.status if recorded else SubjectVisit.Status.DONE, "done_on": visit.done_on,
               "out_of_window_reason": visit.out_of_window_reason}
    form = VisitRecordForm(request.POST or None, initial=initial)
    context = {"subject": subject, "study_id": study_id_for(request.user, subject), "visit": visit, "recorded": recorded,
               "form": form, "casebook_signed": casebook_signed(subject), "window_warning": _window_warning(visit, form)}
    if request.method == "GET":
        return render(request, TEMPLATES + "visit_form.html", context)
    if not form.is_valid():
        return render(request, TEMPLATES + "visit_form.html", context, status=400)
    had_deviation = _window_deviation(request.user, visit) is not None
    try:
        saved = subject_visit_record(actor=request.user, visit=visit, status=form.cleaned_data["status"],
                                     done_on=form.cleaned_data["done_on"], reason=form.cleaned_data["reason"],
                                     out_of_window_reason=form.cleaned_data["out_of_window_reason"], today=timezone.localdate())
    except ApplicationError as error:
        return refused(request, "visit_form.html", context, form, error)
    deviation = None if had_deviation else _window_deviation(request.user, saved)
    if deviation is not None:
        messages.warning(request, _("Visit %(code)s done on %(done)s, outside its window (%(start)s to %(end)s): a protocol deviation "
                                    "was raised for review.") % {"code": saved.definition.code, "done": _short(saved.done_on),
                                                                 "start": _short(saved.window_start), "end": _short(saved.window_end)})
    else:
        messages.success(request, _("Visit %(code)s recorded: %(status)s.") % {"code": saved.definition.code, "status": saved.get_status_display()})
    return redirect("web-subject-detail", pk=subject.pk)


@login_required
@require_POST
def deviation_review(request: HttpRequest, pk: int) -> HttpResponse:
    """Investigators and data managers of the subject's hospital review a deviation; the form sits on the subject page."""
    deviation = get_object_or_404(selectors.deviation_list(user=request.user).select_related("subject__trial"), pk=pk)
    if not may(request.user, Action.CHANGE, deviation):
        raise PermissionDenied(_("Your role does not review protocol deviations."))
    subject = selectors.subject_list(user=request.user).get(pk=deviation.subject_id)
    form = DeviationReviewForm(request.POST, deviation_id=deviation.pk)
    context = subject_context(request, subject, review_forms={deviation.pk: form}, review_open=deviation.pk)
    if not form.is_valid():
        return render(request, TEMPLATES + "subject_detail.html", context, status=400)
    try:
        protocol_deviation_review(actor=request.user, deviation=deviation, note=form.cleaned_data["review_note"],
                                  reason=form.cleaned_data["reason"])
    except ApplicationError as error:
        return refused(request, "subject_detail.html", context, form, error)
    messages.success(request, _("Protocol deviation reviewed."))
    return redirect("web-subject-detail", pk=subject.pk)


@login_required
def deviation_page(request: HttpRequest, pk: int) -> HttpResponse:
    """A protocol deviation is shown (and reviewed) on its subject's page, at its entry (worklist links land here)."""
    deviation = get_object_or_404(selectors.deviation_list(user=request.user), pk=pk)
    return redirect(reverse("web-subject-detail", args=[deviation.subject_id]) + f"#deviation-{deviation.pk}")
