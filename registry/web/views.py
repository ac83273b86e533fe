"""Patient pages: list, registration, the patient page, and its consent and follow-up actions.

Reads go through registry.selectors (scoped to the user: out of scope is a 404), writes through the registry
services, whose ApplicationError is shown next to the fields with status 400 and the typed input kept.
"""
from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from registry import codelists as cl
from registry.access import Action, Rule, may, reach
from registry.consent_rules import ConsentState, consent_state
from registry.dates import age_years
from registry.errors import ApplicationError
from registry.models import ConsentDocument, ConsentRecord, ConsentScope, FollowUpVisit, Hospital, Patient, PatientIdentity
from registry.selectors import consent_document_list, consent_record_list, hospital_list, outcomes, patient_list, visit_list
from registry.services.consent import consent_record_create, consent_withdraw
from registry.services.followup import followup_visit_mark_missed, followup_visit_record
from registry.services.patients import identity_read, patient_find_by_record_number, patient_register, patient_update
from registry.web.forms import add_application_error
from registry.web.panels import patient_panels
from registry.web.patient_forms import (
    ConsentRecordForm,
    MissedForm,
    PatientEditForm,
    PatientFilterForm,
    PatientRegisterForm,
    RecordNumberForm,
    VisitCorrectForm,
    VisitForm,
    WithdrawForm,
    code_label,
)

PAGE_SIZE = 25
CONSENT_FILTERS = {
    "valid": Q(has_registry_consent=True),
    "missing": Q(has_registry_consent=False, contact_withdrawn_on__isnull=True),
    "withdrawn": Q(contact_withdrawn_on__isnull=False),
    "reconsent_due": Q(reconsent_due=True),
    "adult_consent_due": Q(adult_consent_due=True),
}
TEMPLATES = "registry/web/"


def _visible_patient(request: HttpRequest, study_id: str) -> Patient:
    return get_object_or_404(patient_list(user=request.user), study_id=study_id)


def _writable_patient(request: HttpRequest, study_id: str) -> Patient:
    """404 outside the user's scope; 403 for a role that may see the patient but not write (e.g. a monitor)."""
    patient = _visible_patient(request, study_id)
    if not may(request.user, Action.CHANGE, patient):
        raise PermissionDenied(_("Your role does not allow changes to this patient."))
    return patient


def _registration_hospitals(user: Any) -> QuerySet[Hospital]:
    """The hospitals where this user's role may register patients (the service checks again)."""
    return reach(user, Action.ADD, Patient).filter(hospital_list(user=user), hospital_path="pk")


@login_required
def patient_list_page(request: HttpRequest) -> HttpResponse:
    form = PatientFilterForm(request.GET or None)
    patients = patient_list(user=request.user).order_by("study_id")
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        if data["q"]:
            patients = patients.filter(study_id__icontains=data["q"].strip())
        if data["stage"]:
            patients = patients.filter(inrgss_stage=data["stage"])
        if data["risk"]:
            patients = patients.filter(inrg_risk=data["risk"])
        if data["consent"]:
            patients = patients.filter(CONSENT_FILTERS[data["consent"]])
    return _patient_list_response(request, form, patients)


def _patient_list_response(request: HttpRequest, form: PatientFilterForm, patients: Any, *,
                           find_form: RecordNumberForm | None = None, status: int = 200) -> HttpResponse:
    page = Paginator(patients, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    rows = [{"patient": p, "stage": code_label(cl.INRGSS, p.inrgss_stage), "risk": code_label(cl.INRG_RISK, p.inrg_risk)}
            for p in page]
    context = {"form": form, "page": page, "rows": rows, "query": query.urlencode()}
    if request.htmx and not request.htmx.history_restore_request:  # type: ignore[attr-defined]
        response = render(request, TEMPLATES + "patient_list_results.html", context)
    else:
        context["can_register"] = _registration_hospitals(request.user).exists()
        # Finding by hospital record number: for staff who read identities at their own hospitals.
        if may(request.user, Action.VIEW, PatientIdentity):
            context["find_form"] = find_form or RecordNumberForm()
        response = render(request, TEMPLATES + "patient_list.html", context, status=status)
    patch_vary_headers(response, ("HX-Request",))  # the same URL answers a page or a fragment
    return response


@login_required
@require_POST
def patient_find_page(request: HttpRequest) -> HttpResponse:
    """A hospital record number -> the patient's page (through the keyed hash: registry.services.patients). Nothing
    found at the user's own hospitals: the list again with the form and its message (404: "not among yours")."""
    if not may(request.user, Action.VIEW, PatientIdentity):
        raise PermissionDenied(_("Your role does not read patients' identifiers."))
    form = RecordNumberForm(request.POST)
    found: list[Patient] = []
    status = 400
    if form.is_valid():
        try:
            found = patient_find_by_record_number(actor=request.user, record_number=form.cleaned_data["record_number"])
        except ApplicationError as error:
            add_application_error(form, error)
        else:
            status = 200 if found else 404
    if len(found) == 1:
        return redirect("web-patient-detail", study_id=found[0].study_id)
    if status == 404:
        form.add_error("record_number", _("No patient with this hospital record number at your hospitals."))
    # Several (the same number at two of the user's hospitals): the list shows just those.
    patients = patient_list(user=request.user).filter(pk__in=[p.pk for p in found]).order_by("study_id")
    return _patient_list_response(request, PatientFilterForm(), patients, find_form=form, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def patient_register_page(request: HttpRequest) -> HttpResponse:
    hospitals = _registration_hospitals(request.user)
    if not hospitals.exists():
        raise PermissionDenied(_("Your role does not allow registering patients."))
    form = PatientRegisterForm(request.POST or None, hospitals=hospitals)
    if request.method == "POST" and form.is_valid():
        try:
            patient = patient_register(actor=request.user, **form.service_arguments())
        except ApplicationError as error:
            add_application_error(form, error)
        else:
            messages.success(request, _("Patient %(study_id)s registered.") % {"study_id": patient.study_id})
            return redirect("web-patient-detail", study_id=patient.study_id)
    status = 400 if form.is_bound else 200
    return render(request, TEMPLATES + "patient_register.html", {"form": form}, status=status)


def _timeline(visits: list[FollowUpVisit], today: date) -> list[dict[str, Any]]:
    return [{"visit": v, "open": v.status in FollowUpVisit.OPEN_STATUSES,
             "disease": code_label(cl.RESPONSE, v.disease_status) if v.disease_status else "",
             "in_window": bool(v.window_start and v.window_end and v.window_start <= today <= v.window_end),
             # The daily sweep marks overdue visits; until it has run, a closed window still says so here.
             "window_passed": v.status in FollowUpVisit.OPEN_STATUSES and v.status != FollowUpVisit.Status.OVERDUE
             and bool(v.window_end and v.window_end < today),
             # Only a visit whose window has opened can have been missed.
             "can_miss": v.status in FollowUpVisit.OPEN_STATUSES and bool(v.window_start and v.window_start <= today),
             "can_correct": v.status == FollowUpVisit.Status.DONE}
            for v in visits]


def _document_in_force(user: Any, today: date, language: str) -> ConsentDocument | None:
    """The newest registry consent version in force today (in the language last signed, when there is a choice)."""
    documents = list(consent_document_list(user=user).filter(scope=ConsentScope.REGISTRY, effective_from__lte=today)
                     .filter(Q(effective_to__isnull=True) | Q(effective_to__gte=today)).order_by("-effective_from", "-id"))
    if not documents:
        return None
    newest = [d for d in documents if d.effective_from == documents[0].effective_from]
    return next((d for d in newest if d.language == language), newest[0])


def _renewal(user: Any, patient: Patient, state: ConsentState, today: date) -> dict[str, Any] | None:
    """The consent form's URL with the new version (and, for an adult, the participant as signer) preselected.

    An adult must sign themselves, so when both are due one signature of the participant on the newest version
    answers both: the page offers "Record adult consent" only.
    """
    if not (state.reconsent_due or state.adult_consent_due):
        return None
    document = _document_in_force(user, today, state.record.document.language if state.record else "")
    query = QueryDict(mutable=True)
    if document is not None:
        query["document"] = str(document.pk)
    if state.adult_consent_due:
        query["signer"] = ConsentRecord.Signer.PARTICIPANT
    url = reverse("web-patient-consent-record", args=[patient.study_id])
    return {"url": f"{url}?{query.urlencode()}", "adult": state.adult_consent_due,
            "version": document.version if document else ""}


@login_required
def patient_detail_page(request: HttpRequest, study_id: str) -> HttpResponse:
    patient = _visible_patient(request, study_id)
    today = timezone.localdate()
    # Same rule as the API's /identity/: staff of the patient's own hospital only; every read is audited.
    identity = None
    if PatientIdentity.objects.restrict(request.user, Action.VIEW).filter(patient=patient).exists():
        identity = identity_read(actor=request.user, patient=patient)
    visits = list(visit_list(user=request.user).filter(patient=patient).order_by("number"))
    [outcome] = outcomes(Patient.objects.filter(pk=patient.pk))
    clinical = {name: code_label(codes, getattr(patient, field)) if getattr(patient, field) else ""
                for name, codes, field in (
                    ("sex", cl.SEX, "sex"), ("primary_site", cl.PRIMARY_SITE, "primary_site"),
                    ("inrgss", cl.INRGSS, "inrgss_stage"), ("inss", cl.INSS, "inss_stage"),
                    ("inrg_risk", cl.INRG_RISK, "inrg_risk"), ("cog_risk", cl.COG_RISK, "cog_risk"),
                    ("mycn", cl.MYCN, "mycn"), ("q11", cl.ABERRATION_11Q, "aberration_11q"),
                    ("ploidy", cl.PLOIDY, "ploidy"), ("histology", cl.HISTOLOGY, "histology"))}
    consent = consent_state(patient, on=today)
    can_change = may(request.user, Action.CHANGE, patient)
    return render(request, TEMPLATES + "patient_detail.html", {
        "patient": patient, "identity": identity, "clinical": clinical, "today": today,
        "consent": consent, "renewal": _renewal(request.user, patient, consent, today) if can_change else None,
        "consents": consent_record_list(user=request.user).filter(patient=patient).order_by("-signed_date", "-id"),
        "timeline": _timeline(visits, today), "outcome": outcome,
        "can_change": can_change,
        # The scanned signature pages (guardians' names and signatures): roles named at the patient's own hospital.
        "can_read_signed_consent": may(request.user, Rule.READ_SIGNED_CONSENT, patient),
        "panels": patient_panels(request, patient),
    })


@login_required
@require_http_methods(["GET", "POST"])
def consent_record_page(request: HttpRequest, study_id: str) -> HttpResponse:
    patient = _writable_patient(request, study_id)
    documents = consent_document_list(user=request.user).filter(scope=ConsentScope.REGISTRY).order_by("-effective_from")
    # ?document=<pk>&signer=participant: the patient page's "Record re-consent" / "Record adult consent" buttons.
    initial: dict[str, Any] = {"signed_date": timezone.localdate()}
    if request.GET.get("document", "").isdigit():
        initial["document"] = documents.filter(pk=int(request.GET["document"])).first()
    if request.GET.get("signer") in ConsentRecord.Signer.values:
        initial["signer"] = request.GET["signer"]
    form = ConsentRecordForm(request.POST or None, request.FILES or None, documents=documents, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            consent_record_create(actor=request.user, patient=patient, **{
                k: v for k, v in form.cleaned_data.items() if not (k == "signature_page" and v is None)})
        except ApplicationError as error:
            add_application_error(form, error)
        else:
            messages.success(request, _("Consent recorded."))
            return redirect("web-patient-detail", study_id=patient.study_id)
    today = timezone.localdate()
    # What decides assent, shown before submitting: the child's age (today; the page updates it for the signing date)
    # and each version's assent age.
    context = {"patient": patient, "form": form, "age_today": age_years(patient.birth_date, today),
               "assent_ages": [{"id": d.pk, "version": d.version, "title": d.title, "age": d.assent_age_years} for d in documents],
               "birth_date": patient.birth_date.isoformat()}
    return render(request, TEMPLATES + "consent_form.html", context, status=400 if form.is_bound else 200)


@login_required
@require_http_methods(["GET", "POST"])
def consent_withdraw_page(request: HttpRequest, study_id: str, pk: int) -> HttpResponse:
    patient = _writable_patient(request, study_id)
    record = get_object_or_404(consent_record_list(user=request.user).filter(patient=patient), pk=pk)
    form = WithdrawForm(request.POST or None, initial={"withdrawn_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            consent_withdraw(actor=request.user, consent=record, **form.cleaned_data)
        except ApplicationError as error:
            add_application_error(form, error)
        else:
            messages.success(request, _("Withdrawal recorded."))
            return redirect("web-patient-detail", study_id=patient.study_id)
    return render(request, TEMPLATES + "consent_withdraw.html", {"patient": patient, "record": record, "form": form},
                  status=400 if form.is_bound else 200)


@login_required
@require_http_methods(["GET", "POST"])
def visit_enter_page(request: HttpRequest, study_id: str) -> HttpResponse:
    patient = _writable_patient(request, study_id)
    open_visits = list(visit_list(user=request.user).filter(patient=patient, status__in=FollowUpVisit.OPEN_STATUSES)
                       .order_by("number"))
    initial = {"visit": request.GET.get("visit", ""), "visit_date": timezone.localdate(),
               "vital_status": FollowUpVisit.VitalStatus.ALIVE}
    form = VisitForm(request.POST or None, visits=open_visits, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            visit = followup_visit_record(actor=request.user, patient=patient, visit=form.chosen_visit(),
                                          data=form.visit_data())
        except ApplicationError as error:
            add_application_error(form, error)
        else:
            messages.success(request, _("Visit %(number)s recorded.") % {"number": visit.number})
            return redirect("web-patient-detail", study_id=patient.study_id)
    return render(request, TEMPLATES + "visit_form.html", {"patient": patient, "form": form},
                  status=400 if form.is_bound else 200)


@login_required
@require_http_methods(["GET", "POST"])
def visit_missed_page(request: HttpRequest, study_id: str, pk: int) -> HttpResponse:
    patient = _writable_patient(request, study_id)
    visit = get_object_or_404(visit_list(user=request.user).filter(patient=patient), pk=pk)
    form = MissedForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            followup_visit_mark_missed(actor=request.user, visit=visit, reason=form.cleaned_data["reason"])
        except ApplicationError as error:
            add_application_error(form, error)
        else:
            messages.success(request, _("Visit %(number)s marked missed.") % {"number": visit.number})
            return redirect("web-patient-detail", study_id=patient.study_id)
    return render(request, TEMPLATES + "visit_missed.html", {"patient": patient, "visit": visit, "form": form},
                  status=400 if form.is_bound else 200)


@login_required
@require_http_methods(["GET", "POST"])
def visit_correct_page(request: HttpRequest, study_id: str, pk: int) -> HttpResponse:
    """Correct a recorded visit with the service the API's record action uses; the reason goes into the audit trail."""
    patient = _writable_patient(request, study_id)
    visit = get_object_or_404(visit_list(user=request.user).filter(patient=patient, status=FollowUpVisit.Status.DONE),
                              pk=pk)
    form = VisitCorrectForm(request.POST or None, visit=visit)
    if request.method == "POST" and form.is_valid():
        try:
            followup_visit_record(actor=request.user, patient=patient, visit=visit, data=form.visit_data(),
                                  reason=form.cleaned_data["reason"])
        except ApplicationError as error:
            add_application_error(form, error)
        else:
            messages.success(request, _("Visit %(number)s corrected.") % {"number": visit.number})
            return redirect("web-patient-detail", study_id=patient.study_id)
    return render(request, TEMPLATES + "visit_correct.html", {"patient": patient, "visit": visit, "form": form},
                  status=400 if form.is_bound else 200)


@login_required
@require_http_methods(["GET", "POST"])
def patient_edit_page(request: HttpRequest, study_id: str) -> HttpResponse:
    """Correct the clinical data with patient_update (the API's PATCH); the reason goes into the audit trail."""
    patient = _writable_patient(request, study_id)
    form = PatientEditForm(request.POST or None, patient=patient)
    if request.method == "POST" and form.is_valid():
        try:
            patient_update(actor=request.user, patient=patient, data=form.clinical_data(),
                           reason=form.cleaned_data["reason"])
        except ApplicationError as error:
            add_application_error(form, error)
        else:
            if set(form.changed_data) <= {"reason"}:
                messages.info(request, _("Nothing was changed."))
            else:
                messages.success(request, _("Clinical data of %(study_id)s corrected.") % {"study_id": patient.study_id})
            return redirect("web-patient-detail", study_id=patient.study_id)
    return render(request, TEMPLATES + "patient_edit.html", {"patient": patient, "form": form},
                  status=400 if form.is_bound else 200)
