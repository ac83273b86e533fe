"""Data queries: the list (site staff: their hospitals; monitors: their trials' sites), a query's thread with
answer / close / re-open, and raising a query on a visit or a dose (on an adverse event: the safety pages, where the
event's page holds the form). Sponsors see open counts only."""
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from registry.errors import ApplicationError
from trials.models import DosingRecord, SubjectVisit, Trial
from trials.oversight.fields import field_choices
from trials.oversight.models import DataQuery
from trials.oversight.selectors import data_query_list, open_query_counts
from trials.oversight.services.queries import (
    data_query_answer,
    data_query_close,
    data_query_raise,
    data_query_reopen,
    is_monitor_user,
    is_site_user,
    may_raise_query,
)
from trials.oversight.web.forms import QueryRaiseForm, QueryReplyForm
from trials.oversight.web.labels import dose_label, record_labels, record_links, visit_label
from trials.selectors import dosing_list, subject_visit_list
from trials.web.common import refused, study_id_for

TEMPLATES = "oversight/web/"
STATUSES = {s.value for s in DataQuery.Status}


@login_required
def query_list_page(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    queries = data_query_list(user=request.user).order_by("-raised_at", "-id")
    if status in STATUSES:
        queries = queries.filter(status=status)
    rows = list(queries[:100])
    labels = record_labels(rows)
    trial_codes = dict(Trial.objects.filter(pk__in={q.trial_id for q in rows if q.trial_id}).values_list("pk", "code"))
    counts = open_query_counts(user=request.user)
    count_codes = dict(Trial.objects.filter(pk__in={c["trial_id"] for c in counts if c["trial_id"]}).values_list("pk", "code"))
    context = {"rows": [{"query": q, "label": labels[q.pk], "trial": trial_codes.get(q.trial_id, "")} for q in rows],
               "counts": [{**c, "trial": count_codes.get(c["trial_id"], "")} for c in counts], "status": status,
               "statuses": DataQuery.Status.choices}
    return render(request, TEMPLATES + "query_list.html", context)


def _thread_context(request: HttpRequest, query: DataQuery, **extra: Any) -> dict[str, Any]:
    user = request.user
    context = {"query": query, "label": record_labels([query])[query.pk], "record_url": record_links(user, [query]).get(query.pk),
               "thread": list(query.messages.select_related("author").order_by("created_at", "id")),
               "may_answer": query.status == DataQuery.Status.OPEN and is_site_user(user, query),
               "may_close": query.status != DataQuery.Status.CLOSED and is_monitor_user(user, query),
               "may_reopen": query.status != DataQuery.Status.OPEN and is_monitor_user(user, query),
               "form": QueryReplyForm()}
    context.update(extra)
    return context


@login_required
def query_detail_page(request: HttpRequest, pk: int) -> HttpResponse:
    query = get_object_or_404(data_query_list(user=request.user), pk=pk)
    return render(request, TEMPLATES + "query_detail.html", _thread_context(request, query))


ACTIONS = {"answer": data_query_answer, "close": data_query_close, "reopen": data_query_reopen}


@login_required
@require_POST
def query_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    query = get_object_or_404(data_query_list(user=request.user), pk=pk)
    if action not in ACTIONS:
        raise Http404
    form = QueryReplyForm(request.POST)
    context = _thread_context(request, query, form=form)
    form.is_valid()
    try:
        ACTIONS[action](actor=request.user, query=query, text=form.cleaned_data.get("text", ""))
    except ApplicationError as error:
        return refused(request, "query_detail.html", context, form, error, templates=TEMPLATES)
    messages.success(request, {"answer": _("Answer sent."), "close": _("Query closed."), "reopen": _("Query re-opened.")}[action])
    return redirect("web-query-detail", pk=query.pk)


# The fields a monitor may query on a visit or a dose: what the site entered (computed values follow from them).
RECORD_QUERY_FIELDS: dict[type, tuple[str, ...]] = {
    SubjectVisit: ("status", "done_on"),
    DosingRecord: ("visit", "lot_number", "calibrated_activity_mbq", "calibrated_at", "administered_activity_mbq", "administered_at",
                   "residual_activity_mbq", "residual_measured_at", "route", "weight_kg"),
}


def record_field_choices(model: type) -> list[tuple[str, str]]:
    return field_choices(model, RECORD_QUERY_FIELDS[model])


def _raise_on_record(request: HttpRequest, record: SubjectVisit | DosingRecord, label: str, action_url: str) -> HttpResponse:
    """The query form for a visit or a dose (GET), and raising it (POST): monitors of the hospital or trial and data
    managers; a role that may read the record but not query it (the site, sponsors) gets a 403."""
    subject = record.subject
    if not may_raise_query(request.user, hospital_id=subject.site.hospital_id, trial_id=subject.trial_id):
        raise PermissionDenied(_("Your role does not raise data queries."))
    model = type(record)
    content_type = ContentType.objects.get_for_model(model)
    form = QueryRaiseForm(request.POST or None, field_choices=record_field_choices(model))
    context = {"subject": subject, "study_id": study_id_for(request.user, subject), "label": label, "form": form, "action_url": action_url,
               "queries": list(data_query_list(user=request.user).filter(content_type=content_type, object_id=record.pk))}
    if request.method == "GET":
        return render(request, TEMPLATES + "query_raise.html", context)
    if not form.is_valid():
        return render(request, TEMPLATES + "query_raise.html", context, status=400)
    try:
        query = data_query_raise(actor=request.user, content_type=content_type, object_id=record.pk,
                                 field_name=form.cleaned_data["field_name"], text=form.cleaned_data["text"])
    except ApplicationError as error:
        return refused(request, "query_raise.html", context, form, error, templates=TEMPLATES)
    messages.success(request, _("Query raised."))
    return redirect("web-query-detail", pk=query.pk)


@login_required
@require_http_methods(["GET", "POST"])
def query_raise_on_visit(request: HttpRequest, pk: int) -> HttpResponse:
    visit = get_object_or_404(subject_visit_list(user=request.user).select_related("subject__trial"), pk=pk)
    return _raise_on_record(request, visit, visit_label(visit), reverse("web-visit-query-raise", args=[visit.pk]))


@login_required
@require_http_methods(["GET", "POST"])
def query_raise_on_dose(request: HttpRequest, pk: int) -> HttpResponse:
    dose = get_object_or_404(dosing_list(user=request.user).select_related("subject__trial"), pk=pk)
    return _raise_on_record(request, dose, dose_label(dose), reverse("web-dose-query-raise", args=[dose.pk]))
