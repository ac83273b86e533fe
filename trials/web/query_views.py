"""Data queries: the list (site staff: their hospitals; monitors: their trials' sites), a query's thread with
answer / close / re-open, and raising a query on an adverse event or a subject. Sponsors see open counts only."""
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.contenttypes.models import ContentType
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from registry.errors import ApplicationError
from trials.models import Subject, Trial
from trials.oversight.models import DataQuery
from trials.oversight.selectors import data_query_list, open_query_counts
from trials.oversight.services.queries import data_query_answer, data_query_close, data_query_raise, data_query_reopen, is_monitor_user, is_site_user
from trials.safety.models import AdverseEvent
from trials.web.common import TEMPLATES, refused
from trials.web.forms import QueryRaiseForm, QueryReplyForm
from trials.web.safety_views import ae_context, query_field_choices, visible_event

STATUSES = {s.value for s in DataQuery.Status}


def record_labels(queries: list[DataQuery]) -> dict[int, str]:
    """Query id -> what it is about ("AE 2 of NB-T1-01-003"), by subject number: two queries per record type."""
    ae_type = ContentType.objects.get_for_model(AdverseEvent)
    subject_type = ContentType.objects.get_for_model(Subject)
    ae_ids = {q.object_id for q in queries if q.content_type_id == ae_type.pk}
    subject_ids = {q.object_id for q in queries if q.content_type_id == subject_type.pk}
    events = {e.pk: e for e in AdverseEvent.objects.filter(pk__in=ae_ids).select_related("subject")}
    subjects = dict(Subject.objects.filter(pk__in=subject_ids).values_list("pk", "subject_number"))
    labels = {}
    for q in queries:
        if q.content_type_id == ae_type.pk and q.object_id in events:
            event = events[q.object_id]
            labels[q.pk] = _("AE %(number)s of %(subject)s") % {"number": event.number, "subject": event.subject.subject_number}
        elif q.content_type_id == subject_type.pk and q.object_id in subjects:
            labels[q.pk] = subjects[q.object_id]
        else:
            labels[q.pk] = f"{q.content_type.model} {q.object_id}"
    return labels


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
    context = {"query": query, "label": record_labels([query])[query.pk],
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
        return refused(request, "query_detail.html", context, form, error)
    messages.success(request, {"answer": _("Answer sent."), "close": _("Query closed."), "reopen": _("Query re-opened.")}[action])
    return redirect("web-query-detail", pk=query.pk)


@login_required
@require_POST
def query_raise_on_event(request: HttpRequest, pk: int) -> HttpResponse:
    event = visible_event(request, pk)
    form = QueryRaiseForm(request.POST, field_choices=query_field_choices(AdverseEvent))
    context = ae_context(request, event, query_form=form, query_open=True)
    if not form.is_valid():
        return render(request, TEMPLATES + "ae_detail.html", context, status=400)
    try:
        query = data_query_raise(actor=request.user, content_type=ContentType.objects.get_for_model(AdverseEvent), object_id=event.pk,
                                 field_name=form.cleaned_data["field_name"], text=form.cleaned_data["text"])
    except ApplicationError as error:
        return refused(request, "ae_detail.html", context, form, error)
    messages.success(request, _("Query raised."))
    return redirect("web-query-detail", pk=query.pk)
