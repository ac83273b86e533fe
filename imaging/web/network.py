"""Pages of the DICOM network: the unmatched queue (what scanners sent for no known patient, assigned or discarded by the
sending hospital's coordinators) and the exam schedule that fills the Modality Worklist. Writes go through forms, then
the services of imaging.services.network."""
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from imaging import modalities
from imaging.models import ScheduledExam, UnmatchedInstance
from imaging.services.network import scheduled_exam_schedule, unmatched_assign, unmatched_discard, unmatched_identity
from nucmed.radiopharmaceuticals import CHOICES as TRACER_CHOICES
from registry.access import Action, Rule, may
from registry.errors import ApplicationError
from registry.models import Patient
from registry.web.forms import BootstrapForm, add_application_error


class _Pending(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: UnmatchedInstance) -> str:
        return f"{obj.pk}"


class AssignForm(BootstrapForm):
    ids = _Pending(queryset=UnmatchedInstance.objects.none(), widget=forms.MultipleHiddenInput)
    patient = forms.ModelChoiceField(label=gettext_lazy("Patient (study ID)"), queryset=Patient.objects.none(), to_field_name="study_id")

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["ids"].queryset = UnmatchedInstance.objects.restrict(user, Action.CHANGE).filter(state=UnmatchedInstance.State.PENDING)
        self.fields["patient"].queryset = Patient.objects.restrict(user, Action.ADD).order_by("study_id")


class DiscardForm(BootstrapForm):
    ids = _Pending(queryset=UnmatchedInstance.objects.none(), widget=forms.MultipleHiddenInput)
    reason = forms.CharField(label=gettext_lazy("Why discard"), max_length=200)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["ids"].queryset = UnmatchedInstance.objects.restrict(user, Action.CHANGE).filter(state=UnmatchedInstance.State.PENDING)


def _groups(request: HttpRequest) -> list[dict[str, Any]]:
    """The waiting instances by received study: one row to assign or discard per study a scanner sent."""
    groups: dict[str, dict[str, Any]] = {}
    for item in UnmatchedInstance.objects.restrict(request.user).filter(state=UnmatchedInstance.State.PENDING).select_related("node"):
        group = groups.setdefault(f"{item.node_id}:{item.study_uid}", {
            "sender": item.node.ae_title, "modality": item.modality, "study_date": item.study_date, "cause": item.cause,
            "received_at": item.received_at, "ids": [],
            "sent_as": unmatched_identity(item) if may(request.user, Rule.READ_RECEIVED_IDENTITY, item) else None})
        group["ids"].append(item.pk)
    return list(groups.values())


def _queue(request: HttpRequest, status: int = 200, **forms_: Any) -> HttpResponse:
    context = {"groups": _groups(request), "assign_form": forms_.get("assign") or AssignForm(user=request.user),
               "discard_form": forms_.get("discard") or DiscardForm(user=request.user),
               "can_resolve": may(request.user, Action.CHANGE, UnmatchedInstance)}
    return render(request, "imaging/web/unmatched.html", context, status=status)


@login_required
@require_http_methods(["GET"])
def unmatched_page(request: HttpRequest) -> HttpResponse:
    return _queue(request)


@login_required
@require_POST
def unmatched_assign_page(request: HttpRequest) -> HttpResponse:
    form = AssignForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            upload = unmatched_assign(actor=request.user, ids=[i.pk for i in form.cleaned_data["ids"]], patient=form.cleaned_data["patient"])
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, _("%(accepted)s instance(s) filed under %(study_id)s.") % {
                "accepted": upload.accepted, "study_id": form.cleaned_data["patient"].study_id})
            return redirect("web-dicom-unmatched")
    return _queue(request, status=400, assign=form)


@login_required
@require_POST
def unmatched_discard_page(request: HttpRequest) -> HttpResponse:
    form = DiscardForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            count = unmatched_discard(actor=request.user, ids=[i.pk for i in form.cleaned_data["ids"]], reason=form.cleaned_data["reason"])
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, _("%(count)s instance(s) discarded.") % {"count": count})
            return redirect("web-dicom-unmatched")
    return _queue(request, status=400, discard=form)


class ScheduleForm(BootstrapForm):
    patient = forms.ModelChoiceField(label=gettext_lazy("Patient (study ID)"), queryset=Patient.objects.none(), to_field_name="study_id")
    scheduled_for = forms.DateTimeField(label=gettext_lazy("Scheduled for"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    tracer = forms.ChoiceField(label=gettext_lazy("Tracer"), choices=TRACER_CHOICES)
    modality = forms.ChoiceField(label=gettext_lazy("Modality"), choices=[(m, m) for m in modalities.EMISSION_MODALITIES])
    station_ae_title = forms.CharField(label=gettext_lazy("Station AE title"), max_length=16, required=False,
                                       help_text=gettext_lazy("The scanner that shows this exam; empty: every scanner of the hospital."))
    weight_kg = forms.FloatField(label=gettext_lazy("Weight (kg)"), min_value=0.5, max_value=300, required=False,
                                 help_text=gettext_lazy("Empty: the weight at the last visit that recorded one."))

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["patient"].queryset = Patient.objects.restrict(user, Action.ADD).order_by("study_id")


@login_required
@require_http_methods(["GET", "POST"])
def scheduled_exams_page(request: HttpRequest) -> HttpResponse:
    form = ScheduleForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            exam = scheduled_exam_schedule(actor=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, _("Exam %(accession)s scheduled.") % {"accession": exam.accession_number})
            return redirect("web-scheduled-exams")
    exams = ScheduledExam.objects.restrict(request.user).filter(state=ScheduledExam.State.SCHEDULED).select_related("patient")
    return render(request, "imaging/web/scheduled_exams.html",
                  {"form": form, "exams": exams, "can_schedule": may(request.user, Action.ADD, ScheduledExam)},
                  status=400 if request.method == "POST" else 200)
