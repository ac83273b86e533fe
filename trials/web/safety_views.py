"""Adverse events: the report form (CTCAE term search, grade descriptions as help), the event page with its SAE
clocks, the investigator's e-signature (password re-entry, the meaning shown) and the event's data queries."""
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.contenttypes.models import ContentType
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from registry.access import HospitalRole, scope_for
from registry.errors import ApplicationError
from trials.oversight.models import Signature
from trials.oversight.selectors import data_query_list
from trials.oversight.services.queries import may_raise_query
from trials.oversight.services.signatures import all_signatures, signature_sign
from trials.safety import ctcae
from trials.safety.models import AdverseEvent
from trials.safety.selectors import adverse_event_list, adverse_event_versions, clock_list
from trials.safety.services.events import adverse_event_report
from trials.web.common import TEMPLATES, refused, study_id_for
from trials.web.forms import AdverseEventForm, QueryRaiseForm, SignForm
from trials.web.subject_views import visible_subject

SIGN_MEANING = Signature.Meaning.ASSESSED


def query_field_choices(model: type) -> list[tuple[str, str]]:
    names = sorted(model.queryable_field_names()) if hasattr(model, "queryable_field_names") else []
    return [(n, n) for n in names if n not in ("id", "event", "recorded_by", "recorded_at", "version_number")]


@login_required
def ctcae_search(request: HttpRequest) -> HttpResponse:
    """htmx autocomplete over the CTCAE terms (reference data: no patient data, any logged-in user)."""
    q = request.GET.get("q", "").strip()
    found = ctcae.search(q, limit=15) if len(q) >= 2 else []
    return render(request, TEMPLATES + "_ctcae_results.html", {"terms": found, "q": q})


@login_required
def ctcae_term(request: HttpRequest) -> HttpResponse:
    """The chosen term: its code into the form, and the grade select with the term's grade descriptions."""
    form = AdverseEventForm(initial={"meddra_code": request.GET.get("code", "")})
    return render(request, TEMPLATES + "_ctcae_term.html", {"form": form, "term": form.term})


@login_required
@require_http_methods(["GET", "POST"])
def adverse_event_create(request: HttpRequest, pk: int) -> HttpResponse:
    subject = visible_subject(request, pk)
    form = AdverseEventForm(request.POST or None)
    context = {"subject": subject, "study_id": study_id_for(request.user, subject), "form": form, "term": form.term}
    if request.method == "POST":
        if not form.is_valid():
            return render(request, TEMPLATES + "ae_form.html", context, status=400)
        try:
            event = adverse_event_report(actor=request.user, subject=subject, data=form.report_data())
        except ApplicationError as error:
            return refused(request, "ae_form.html", context, form, error)
        messages.success(request, _("Adverse event %(number)s reported.") % {"number": event.number})
        return redirect("web-ae-detail", pk=event.pk)
    return render(request, TEMPLATES + "ae_form.html", context)


def _may_sign(user: Any, event: AdverseEvent) -> bool:
    return HospitalRole.INVESTIGATOR in scope_for(user).hospital_roles.get(event.subject.site.hospital_id, frozenset())


def ae_context(request: HttpRequest, event: AdverseEvent, **extra: Any) -> dict[str, Any]:
    user = request.user
    content_type = ContentType.objects.get_for_model(AdverseEvent)
    term = ctcae.terms().get(event.current_version.meddra_code) if event.current_version else None
    context = {
        "event": event, "subject": event.subject, "study_id": study_id_for(user, event.subject), "version": event.current_version,
        "grade_text": term.grades.get(event.grade) if term and event.grade else "",
        "versions": list(adverse_event_versions(user=user, event=event)),
        "clocks": list(clock_list(user=user).filter(event=event)),
        "signatures": list(all_signatures(event).select_related("signer")),
        "queries": list(data_query_list(user=user).filter(content_type=content_type, object_id=event.pk).prefetch_related("messages")),
        "may_sign": _may_sign(user, event), "meaning_label": SIGN_MEANING.label,
        "sign_form": SignForm(initial={"meaning": SIGN_MEANING}),
        "query_form": QueryRaiseForm(field_choices=query_field_choices(AdverseEvent)),
        "may_raise": _may_raise(user, event),
    }
    context.update(extra)
    return context


def _may_raise(user: Any, event: AdverseEvent) -> bool:
    return may_raise_query(user, hospital_id=event.subject.site.hospital_id, trial_id=event.subject.trial_id)


def visible_event(request: HttpRequest, pk: int) -> AdverseEvent:
    return get_object_or_404(adverse_event_list(user=request.user), pk=pk)


@login_required
def adverse_event_detail(request: HttpRequest, pk: int) -> HttpResponse:
    event = visible_event(request, pk)
    return render(request, TEMPLATES + "ae_detail.html", ae_context(request, event))


@login_required
@require_POST
def adverse_event_sign(request: HttpRequest, pk: int) -> HttpResponse:
    """Sign the event's current report after re-entering the password (the signature service audits refusals)."""
    event = visible_event(request, pk)
    form = SignForm(request.POST)
    context = ae_context(request, event, sign_form=form, sign_open=True)
    if not form.is_valid():
        return render(request, TEMPLATES + "ae_detail.html", context, status=400)
    try:
        signature_sign(actor=request.user, content_type=ContentType.objects.get_for_model(AdverseEvent), object_id=event.pk,
                       meaning=form.cleaned_data["meaning"], password=form.cleaned_data["password"], request=request)
    except ApplicationError as error:
        return refused(request, "ae_detail.html", context, form, error)
    messages.success(request, _("Adverse event %(number)s signed.") % {"number": event.number})
    return redirect("web-ae-detail", pk=event.pk)
