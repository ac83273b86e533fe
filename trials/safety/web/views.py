"""Adverse events: the report form (CTCAE term search, grade descriptions as help), the event page with its SAE
clocks, the investigator's e-signature (password re-entry, the meaning shown) and the event's data queries; the
follow-up report, the sponsor's assessment and the report of a reporting clock, each through the API's service."""
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from registry.access import Action, may
from registry.errors import ApplicationError
from trials.oversight.fields import field_choices
from trials.oversight.models import Signature
from trials.oversight.selectors import data_query_list
from trials.oversight.services.queries import data_query_raise, may_raise_query
from trials.oversight.services.signatures import all_signatures, has_signed, may_sign, signature_sign, valid_signatures
from trials.oversight.web.forms import QueryRaiseForm, SignForm
from trials.safety import ctcae
from trials.safety.models import AdverseEvent, ReportingClock
from trials.safety.selectors import adverse_event_list, adverse_event_versions, clock_list
from trials.safety.services.assessment import adverse_event_sponsor_assess
from trials.safety.services.clocks import is_sponsor_of, may_report, reporting_clock_record_report
from trials.safety.services.events import adverse_event_follow_up, adverse_event_report
from trials.safety.web.forms import AdverseEventFollowUpForm, AdverseEventForm, ClockReportForm, SponsorAssessmentForm, version_initial
from trials.web.common import refused, study_id_for
from trials.web.subject_views import visible_subject

TEMPLATES = "safety/web/"
SIGN_MEANING = Signature.Meaning.ASSESSED


def query_field_choices(model: type) -> list[tuple[str, str]]:
    names = sorted(model.queryable_field_names()) if hasattr(model, "queryable_field_names") else []
    return field_choices(model, [n for n in names if n not in ("id", "event", "recorded_by", "recorded_at", "version_number")])


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
            return refused(request, "ae_form.html", context, form, error, templates=TEMPLATES)
        messages.success(request, _("Adverse event %(number)s reported.") % {"number": event.number})
        return redirect("web-ae-detail", pk=event.pk)
    return render(request, TEMPLATES + "ae_form.html", context)


def _sponsor_initial(event: AdverseEvent) -> dict[str, Any]:
    return {"expectedness": event.sponsor_expectedness, "causality": event.sponsor_causality}


def _clocks(user: Any, event: AdverseEvent, report_form: ClockReportForm | None, refused_clock: int | None) -> list[ReportingClock]:
    """The event's clocks, each one still waiting for its report (open, or lapsed without one) that the user may
    report with its "Record report" form (`report_form` for the clock whose report was just refused, so its message
    and input stay)."""
    clocks = list(clock_list(user=user).filter(event=event))
    for clock in clocks:
        clock.may_record = (clock.status != ReportingClock.Status.CANCELLED and clock.reported_at is None
                            and may_report(user, clock))
        clock.report_form = report_form if clock.pk == refused_clock else (
            ClockReportForm(clock_id=clock.pk) if clock.may_record else None)
    return clocks


def ae_context(request: HttpRequest, event: AdverseEvent, *, report_form: ClockReportForm | None = None,
               refused_clock: int | None = None, **extra: Any) -> dict[str, Any]:
    user = request.user
    content_type = ContentType.objects.get_for_model(AdverseEvent)
    term = ctcae.terms().get(event.current_version.meddra_code) if event.current_version else None
    clocks = _clocks(user, event, report_form, refused_clock)
    may_assess = event.is_serious and is_sponsor_of(user, event)
    context = {
        "event": event, "subject": event.subject, "study_id": study_id_for(user, event.subject), "version": event.current_version,
        "grade_text": term.grades.get(event.grade) if term and event.grade else "",
        "versions": list(adverse_event_versions(user=user, event=event)),
        "clocks": clocks, "may_record_any": any(clock.may_record for clock in clocks),
        "signatures": list(all_signatures(event).select_related("signer")),
        "queries": list(data_query_list(user=user).filter(content_type=content_type, object_id=event.pk).prefetch_related("messages")),
        "may_sign": may_sign(user, event, meaning=SIGN_MEANING, hospital_id=event.subject.site.hospital_id),
        "meaning_label": SIGN_MEANING.label, "signed_by_me": has_signed(signer=user, record=event, meaning=SIGN_MEANING),
        "sign_form": SignForm(initial={"meaning": SIGN_MEANING}),
        "query_form": QueryRaiseForm(field_choices=query_field_choices(AdverseEvent)),
        "may_raise": _may_raise(user, event),
        "may_follow_up": may(user, Action.CHANGE, event),
        "may_assess": may_assess,
        "sponsor_form": SponsorAssessmentForm(initial=_sponsor_initial(event)) if may_assess else None,
    }
    context.update(extra)
    return context


def _may_raise(user: Any, event: AdverseEvent) -> bool:
    return may_raise_query(user, hospital_id=event.subject.site.hospital_id, trial_id=event.subject.trial_id)


def visible_event(request: HttpRequest, pk: int) -> AdverseEvent:
    return get_object_or_404(adverse_event_list(user=request.user).select_related("sponsor_assessed_by"), pk=pk)


@login_required
def adverse_event_detail(request: HttpRequest, pk: int) -> HttpResponse:
    event = visible_event(request, pk)
    return render(request, TEMPLATES + "ae_detail.html", ae_context(request, event))


@login_required
@require_http_methods(["GET", "POST"])
def adverse_event_sign(request: HttpRequest, pk: int) -> HttpResponse:
    """Sign the event's current report after re-entering the password (the signature service audits refusals).

    A signature redirects to the event. A refusal re-renders the event's page (400, the message in the dialog, as
    every refused write does) and the page puts the event's own address back in the address bar, so a reload is a GET
    of the event; a GET of /sign/ itself (a bookmark, an old tab) redirects to the event rather than answering 405."""
    event = visible_event(request, pk)
    if request.method == "GET":
        return redirect("web-ae-detail", pk=event.pk)
    form = SignForm(request.POST)
    context = ae_context(request, event, sign_form=form, sign_open=True)
    if not form.is_valid():
        return render(request, TEMPLATES + "ae_detail.html", context, status=400)
    try:
        signature_sign(actor=request.user, content_type=ContentType.objects.get_for_model(AdverseEvent), object_id=event.pk,
                       meaning=form.cleaned_data["meaning"], password=form.cleaned_data["password"], request=request)
    except ApplicationError as error:
        return refused(request, "ae_detail.html", context, form, error, templates=TEMPLATES)
    messages.success(request, _("Adverse event %(number)s signed.") % {"number": event.number})
    return redirect("web-ae-detail", pk=event.pk)


@login_required
@require_http_methods(["GET", "POST"])
def adverse_event_follow_up_page(request: HttpRequest, pk: int) -> HttpResponse:
    """A follow-up report (`adverse_event_follow_up`): the report form prefilled from the current version; only the
    fields that changed are sent. A signed event needs the reason (the service voids the signature). 404 outside
    scope, 403 for a role that only reads the event (monitors, sponsors)."""
    event = visible_event(request, pk)
    if not may(request.user, Action.CHANGE, event):
        raise PermissionDenied(_("Your role does not report on this adverse event."))
    version = event.current_version
    assert version is not None
    form = AdverseEventFollowUpForm(request.POST or None, initial=version_initial(version))
    context = {"event": event, "subject": event.subject, "study_id": study_id_for(request.user, event.subject),
               "version": version, "form": form, "term": form.term, "signed": valid_signatures(event).exists()}
    if request.method == "GET":
        return render(request, TEMPLATES + "ae_follow_up.html", context)
    if not form.is_valid():
        return render(request, TEMPLATES + "ae_follow_up.html", context, status=400)
    changes = form.changes()
    if not changes:
        messages.info(request, _("Nothing was changed."))
        return redirect("web-ae-detail", pk=event.pk)
    try:
        event = adverse_event_follow_up(actor=request.user, event=event, data=changes, reason=form.cleaned_data["reason"])
    except ApplicationError as error:
        return refused(request, "ae_follow_up.html", context, form, error, templates=TEMPLATES)
    assert event.current_version is not None
    messages.success(request, _("Follow-up report of adverse event %(number)s saved as version %(version)s.")
                     % {"number": event.number, "version": event.current_version.version_number})
    return redirect("web-ae-detail", pk=event.pk)


@login_required
@require_POST
def adverse_event_sponsor_assess_page(request: HttpRequest, pk: int) -> HttpResponse:
    """The sponsor's assessment (`adverse_event_sponsor_assess`) from the event page: 403 for anyone but the trial's
    sponsor; the service's refusals (not serious, re-assessment without a reason, day 0 moved) re-render the page."""
    event = visible_event(request, pk)
    if not is_sponsor_of(request.user, event):
        raise PermissionDenied(_("Only the trial's sponsor makes the sponsor's assessment."))
    form = SponsorAssessmentForm(request.POST, initial=_sponsor_initial(event))
    context = ae_context(request, event, sponsor_form=form, may_assess=True, assess_open=True)
    if not form.is_valid():
        return render(request, TEMPLATES + "ae_detail.html", context, status=400)
    data = form.cleaned_data
    try:
        event = adverse_event_sponsor_assess(actor=request.user, event=event, expectedness=data["expectedness"],
                                             causality=data["causality"], sponsor_awareness_at=data["sponsor_awareness_at"],
                                             reason=data["reason"])
    except ApplicationError as error:
        return refused(request, "ae_detail.html", context, form, error, templates=TEMPLATES)
    if event.is_susar:
        messages.success(request, _("Sponsor assessment of adverse event %(number)s saved: a SUSAR, its reporting clock runs.")
                         % {"number": event.number})
    else:
        messages.success(request, _("Sponsor assessment of adverse event %(number)s saved.") % {"number": event.number})
    return redirect("web-ae-detail", pk=event.pk)


@login_required
@require_POST
def query_raise_on_event(request: HttpRequest, pk: int) -> HttpResponse:
    """Raise a data query on the event (`data_query_raise`) from the event's page; refusals re-render that page."""
    event = visible_event(request, pk)
    form = QueryRaiseForm(request.POST, field_choices=query_field_choices(AdverseEvent))
    context = ae_context(request, event, query_form=form, query_open=True)
    if not form.is_valid():
        return render(request, TEMPLATES + "ae_detail.html", context, status=400)
    try:
        query = data_query_raise(actor=request.user, content_type=ContentType.objects.get_for_model(AdverseEvent), object_id=event.pk,
                                 field_name=form.cleaned_data["field_name"], text=form.cleaned_data["text"])
    except ApplicationError as error:
        return refused(request, "ae_detail.html", context, form, error, templates=TEMPLATES)
    messages.success(request, _("Query raised."))
    return redirect("web-query-detail", pk=query.pk)


@login_required
@require_POST
def clock_report(request: HttpRequest, pk: int) -> HttpResponse:
    """Record that a clock's report was sent (`reporting_clock_record_report`): the site for the 24-hour clock, the
    sponsor for SUSAR clocks. 404 for a clock the user does not see, 403 for one they do not report; refusals
    (a future time, before the clock started, already reported) re-render the event page with the message."""
    clock = get_object_or_404(clock_list(user=request.user), pk=pk)
    if not may_report(request.user, clock):
        raise PermissionDenied(_("The site records its SAE reports; the sponsor records SUSAR reports."))
    event = visible_event(request, clock.event_id)
    form = ClockReportForm(request.POST, clock_id=clock.pk)
    context = ae_context(request, event, report_form=form, refused_clock=clock.pk)
    if not form.is_valid():
        return render(request, TEMPLATES + "ae_detail.html", context, status=400)
    try:
        clock = reporting_clock_record_report(actor=request.user, clock=clock, reported_at=form.cleaned_data["reported_at"])
    except ApplicationError as error:
        return refused(request, "ae_detail.html", context, form, error, templates=TEMPLATES)
    messages.success(request, _("Report recorded: %(clock)s, %(status)s.")
                     % {"clock": clock.get_kind_display(), "status": clock.get_status_display()})
    return redirect("web-ae-detail", pk=event.pk)


@login_required
def clock_page(request: HttpRequest, pk: int) -> HttpResponse:
    """A reporting clock has no page of its own: its event's page, at the clock's row (worklist links land here)."""
    clock = get_object_or_404(clock_list(user=request.user), pk=pk)
    return redirect(reverse("web-ae-detail", args=[clock.event_id]) + f"#clock-{clock.pk}")
