"""Pages of the DICOM network: the hospitals' registered senders (data managers register, deactivate and reactivate
their scanners' and PACS' calling AE titles), the unmatched queue (what scanners sent for no known patient, assigned or
discarded by the sending hospital's coordinators) and the exam schedule that fills the Modality Worklist. Writes go
through forms, then the services of imaging.services.network."""
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from imaging import modalities
from imaging.models import DicomNode, ScheduledExam, UnmatchedInstance
from imaging.services.network import (
    dicom_node_register,
    dicom_node_set_active,
    scheduled_exam_schedule,
    unmatched_assign,
    unmatched_discard,
    unmatched_identity,
)
from nucmed.radiopharmaceuticals import CHOICES as TRACER_CHOICES
from registry.access import Action, Rule, may, reach
from registry.errors import ApplicationError
from registry.models import Hospital, Patient
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


class SenderForm(BootstrapForm):
    """A hospital's scanner or PACS, as the API's DicomNodeRequestSerializer takes it (the service checks the rest)."""

    hospital = forms.ModelChoiceField(label=gettext_lazy("Hospital"), queryset=Hospital.objects.none(), to_field_name="code")
    ae_title = forms.CharField(label=gettext_lazy("Calling AE title"), max_length=16,
                               help_text=gettext_lazy("As configured on the scanner or PACS: up to 16 characters, no backslash."))
    address = forms.GenericIPAddressField(label=gettext_lazy("Address (optional)"), required=False,
                                          help_text=gettext_lazy("When set, associations with this AE title must come from this IP address."))
    description = forms.CharField(label=gettext_lazy("Description"), max_length=100, required=False,
                                  help_text=gettext_lazy("Which device it is, e.g. \"PET/CT room 2\"."))

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The hospitals where the user may register senders (DicomNode's ADD role map: data managers).
        self.fields["hospital"].queryset = reach(user, Action.ADD, DicomNode).filter(Hospital.objects.order_by("code"), hospital_path="pk")
        self.fields["hospital"].label_from_instance = lambda h: f"{h.code} · {h}"


class SenderActiveForm(BootstrapForm):
    active = forms.BooleanField(required=False, widget=forms.HiddenInput)
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=200)


def _senders(request: HttpRequest, status: int = 200, form: SenderForm | None = None,
             failed: tuple[int, SenderActiveForm] | None = None) -> HttpResponse:
    nodes = list(DicomNode.objects.restrict(request.user).select_related("hospital").order_by("hospital__code", "ae_title"))
    changeable = set(DicomNode.objects.restrict(request.user, Action.CHANGE).values_list("pk", flat=True))
    rows = [{"node": n, "can_change": n.pk in changeable,
             "form": failed[1] if failed and failed[0] == n.pk else SenderActiveForm(initial={"active": not n.active})} for n in nodes]
    return render(request, "imaging/web/senders.html", {
        "rows": rows, "form": form or SenderForm(user=request.user), "can_register": reach(request.user, Action.ADD, DicomNode).anywhere,
        "listener_port": settings.DICOM_LISTENER_PORT}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def senders_page(request: HttpRequest) -> HttpResponse:
    """The hospitals' registered DICOM senders; data managers register one here (dicom_node_register)."""
    if request.method != "POST":
        return _senders(request)
    form = SenderForm(request.POST, user=request.user)
    if form.is_valid():
        data = dict(form.cleaned_data)
        try:
            node = dicom_node_register(actor=request.user, hospital=data.pop("hospital"), ae_title=data["ae_title"],
                                       address=data["address"] or None, description=data["description"])
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, _("Sender %(ae_title)s registered: it may send to the platform now.") % {"ae_title": node.ae_title})
            return redirect("web-dicom-senders")
    return _senders(request, status=400, form=form)


@login_required
@require_POST
def sender_active_page(request: HttpRequest, pk: int) -> HttpResponse:
    """Deactivate (or reactivate) a sender with a reason (dicom_node_set_active). Out of view: 404; seen, not changeable: 403."""
    node = get_object_or_404(DicomNode.objects.restrict(request.user), pk=pk)
    if not may(request.user, Action.CHANGE, node):
        raise PermissionDenied(_("Your role does not change DICOM senders."))
    form = SenderActiveForm(request.POST)
    if form.is_valid():
        try:
            dicom_node_set_active(actor=request.user, node=node, active=form.cleaned_data["active"], reason=form.cleaned_data["reason"])
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, (_("Sender %(ae_title)s reactivated.") if node.active else
                                       _("Sender %(ae_title)s deactivated: its associations are refused from now on.")) % {"ae_title": node.ae_title})
            return redirect("web-dicom-senders")
    return _senders(request, status=400, failed=(node.pk, form))
