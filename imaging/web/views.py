"""Upload and study pages: the same ingest and review services and scoped reads as the imaging API."""
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, F, Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from imaging import viewer_config
from imaging.models import ImagingStudy, Instance, Preview, Series, Upload, VoiMeasurement
from imaging.pipeline import step_label, step_note, step_states
from imaging.selectors import patient_dose_history
from imaging.services.acquisition import study_acquisition_update
from imaging.services.ingest import ingest
from imaging.services.review import study_release
from imaging.uploaded import incoming_file
from imaging.volume import open_bytes
from imaging.web.forms import AcquisitionForm, ReleaseForm, UploadForm, visit_label
from imaging.web.study_parts import study_parts
from imaging.web.summary import upload_summary
from nucmed.radiopharmaceuticals import CHOICES as TRACER_CHOICES
from registry.access import Action, may, reach
from registry.errors import ApplicationError
from registry.models import Patient
from registry.web.forms import add_application_error
from trials.models import SubjectVisit

FINAL_STATES = {Series.PipelineState.DONE, Series.PipelineState.FAILED, Series.PipelineState.HELD}


def _wants_json(request: HttpRequest) -> bool:
    # The upload page's script sends one request per file and asks for JSON; the plain form gets a page.
    return "application/json" in request.headers.get("Accept", "")


def _studies_of(request: HttpRequest, upload: Upload) -> list[dict[str, Any]]:
    studies = (ImagingStudy.objects.restrict(request.user, Action.VIEW).filter(series__instances__upload=upload)
               .distinct().order_by("id"))
    # date_label: the locale's short format, as everywhere on the page (the ISO date stays in "date" for clients).
    return [{"id": s.pk, "url": reverse("web-study-detail", args=[s.pk]), "date": s.study_date, "status": s.status,
             "date_label": date_format(s.study_date, "SHORT_DATE_FORMAT") if s.study_date else _("date not recorded"),
             "status_label": s.get_status_display()} for s in studies]


def _chosen(patients: QuerySet[Patient], value: str | None) -> Patient | None:
    """The patient a request names (study ID, or the numeric id older links use), among those offered; else None."""
    text = (value or "").strip()
    if not text:
        return None
    return patients.filter(**{"pk" if text.isdigit() else "study_id": text}).first()


def _visits_of(request: HttpRequest, patient: Patient | None) -> QuerySet[SubjectVisit]:
    if patient is None:
        return SubjectVisit.objects.none()
    return (SubjectVisit.objects.restrict(request.user, Action.VIEW).filter(subject__patient=patient)
            .select_related("definition", "subject__trial").order_by("subject__trial__code", F("target_date").asc(nulls_last=True), "id"))


PATIENT_OPTIONS = 50  # study IDs listed with the page; typing asks web-upload-patients for more


@login_required
def upload_page(request: HttpRequest) -> HttpResponse:
    patients = Patient.objects.restrict(request.user, Action.ADD).order_by("study_id")
    chosen = _chosen(patients, request.GET.get("patient"))
    form = UploadForm(patients=patients, initial={"patient": chosen.study_id} if chosen else None, visits=_visits_of(request, chosen))
    result: dict[str, Any] | None = None
    summary: dict[str, Any] | None = None
    status = 200
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES, patients=patients)
        valid = form.is_valid()
        form.offer_visits(_visits_of(request, form.cleaned_data.get("patient")))  # the posted patient's, for the page
        if valid:
            try:
                # The web page is another client of the upload API's service, recorded as a web upload.
                upload = ingest(actor=request.user, patient=form.cleaned_data["patient"],
                                files=[incoming_file(f) for f in form.cleaned_data["files"]],
                                source=Upload.Source.WEB, trial_visit_id=form.cleaned_data["trial_visit_id"])
            except ApplicationError as exc:
                add_application_error(form, exc)
            else:
                result = {"upload": upload.pk, "items": upload.items, "studies": _studies_of(request, upload)}
                summary = upload_summary(user=request.user, uploads=[upload])
        if result is None:
            status = 400
            if _wants_json(request):
                errors = {field: [str(e) for e in errs] for field, errs in form.errors.items()}
                return JsonResponse({"errors": errors}, status=400)
        elif _wants_json(request):
            return JsonResponse(result, status=201)
    return render(request, "imaging/web/upload.html", {
        "form": form, "result": result, "summary": summary, "has_patients": patients.exists(),
        "patient_options": list(patients.values_list("study_id", flat=True)[:PATIENT_OPTIONS])}, status=status)


@login_required
@require_GET
def upload_patients(request: HttpRequest) -> JsonResponse:
    """The upload page's patient search: study IDs containing `q` among the patients the user may upload for (20 at
    most). Study IDs only: the search never reads or returns a name or a record number."""
    query = request.GET.get("q", "").strip()[:16]
    found = Patient.objects.restrict(request.user, Action.ADD).filter(study_id__icontains=query).order_by("study_id")
    return JsonResponse({"results": [{"study_id": sid} for sid in found.values_list("study_id", flat=True)[:20]]})


@login_required
@require_GET
def upload_visits(request: HttpRequest) -> JsonResponse:
    """The trial visits of the chosen patient by name, for the upload form's visit list; a patient the user may not
    upload for is 404 (as everywhere out of scope)."""
    patient = _chosen(Patient.objects.restrict(request.user, Action.ADD), request.GET.get("patient"))
    if patient is None:
        raise Http404
    return JsonResponse({"visits": [{"id": v.pk, "label": visit_label(v)} for v in _visits_of(request, patient)]})


@login_required
@require_GET
def upload_summary_page(request: HttpRequest) -> HttpResponse:
    """The summary fragment the page's script asks for once every file is sent: `?upload=<id>` once per request it
    made. Uploads outside the user's scope are not read (the fragment then says nothing about them)."""
    ids = [int(i) for i in request.GET.getlist("upload") if i.isdigit()][:1000]
    uploads = Upload.objects.restrict(request.user, Action.VIEW).filter(pk__in=ids).order_by("id")
    return render(request, "imaging/web/_upload_summary.html", {"summary": upload_summary(user=request.user, uploads=uploads)})


def _study(request: HttpRequest, pk: int) -> ImagingStudy:
    return get_object_or_404(ImagingStudy.objects.restrict(request.user, Action.VIEW).select_related("patient", "dose"), pk=pk)


def _live_context(request: HttpRequest, study: ImagingStudy) -> dict[str, Any]:
    """What the polled part of the study page shows: series with steps, previews, SUV, image quality, dose."""
    series = list(
        Series.objects.restrict(request.user, Action.VIEW).filter(study=study).select_related("suv")
        .prefetch_related(Prefetch("previews", queryset=Preview.objects.order_by("kind", "index")),
                          Prefetch("vois", queryset=VoiMeasurement.objects.order_by("id")))
        .order_by("series_number", "id"))
    rows = []
    for s in series:
        previews = sorted(s.previews.all(), key=lambda p: (p.kind != Preview.Kind.CORONAL_MIP, p.index))
        rows.append({"series": s, "steps": [{**step, "label": step_label(step["name"]), "note": step_note(step["result"])}
                                         for step in step_states(s)], "final": s.pipeline_state in FINAL_STATES,
                     "suv": getattr(s, "suv", None), "mips": [p for p in previews if p.kind == Preview.Kind.CORONAL_MIP],
                     "slices": [p for p in previews if p.kind == Preview.Kind.AXIAL], "vois": list(s.vois.all())})
    all_final = bool(rows) and all(r["final"] for r in rows)
    history = patient_dose_history(user=request.user, patient=study.patient) if all_final else None
    return {"study": study, "rows": rows, "all_final": all_final, "dose": getattr(study, "dose", None), "history": history}


@login_required
@require_GET
def study_detail(request: HttpRequest, pk: int) -> HttpResponse:
    study = _study(request, pk)
    return _render_detail(request, study, ReleaseForm())


def _study_links(request: HttpRequest, study: ImagingStudy) -> dict[str, Any]:
    """What the study page links to and warns about: the patient's page, the trial visit by name, the instances kept
    out of view (quarantined, by reason), and the sub-apps' parts (the reading sub-app's score sheets)."""
    quarantined = list(Instance.objects.restrict(request.user, Action.VIEW).filter(series__study=study)
                       .exclude(quarantine_reason="").values("quarantine_reason").annotate(count=Count("id"))
                       .order_by("quarantine_reason"))
    visit = (SubjectVisit.objects.restrict(request.user, Action.VIEW).select_related("definition", "subject__trial")
             .filter(pk=study.trial_visit_id).first() if study.trial_visit_id else None)
    return {"patient_url": reverse("web-patient-detail", args=[study.patient.study_id]) if may(request.user, Action.VIEW, study.patient) else None,
            "visit_label": visit_label(visit) if visit else None, "quarantined": quarantined,
            "tracer_label": dict(TRACER_CHOICES).get(study.tracer, study.tracer), "parts": study_parts(request, study)}


def _may_change(request: HttpRequest, study: ImagingStudy) -> bool:
    """Whether the user may change the study (release it, correct its protocol): a study is scoped by its patient's
    hospital alone, so the reach of CHANGE answers it without a query (the scope is cached)."""
    return reach(request.user, Action.CHANGE, ImagingStudy).covers(hospital_id=study.patient.hospital_id)


def _render_detail(request: HttpRequest, study: ImagingStudy, release_form: ReleaseForm, status: int = 200,
                   acquisition_form: AcquisitionForm | None = None) -> HttpResponse:
    may_change = _may_change(request, study)
    can_release = study.status == ImagingStudy.Status.ON_HOLD and may_change
    if acquisition_form is None and may_change:
        acquisition_form = AcquisitionForm(initial={"acquisition_protocol": study.acquisition_protocol, "sedation": study.sedation})
    context = {**_live_context(request, study), "release_form": release_form, "can_release": can_release,
               "acquisition_form": acquisition_form if may_change else None,
               "viewer": viewer_config.for_study(request.user, study), **_study_links(request, study)}
    return render(request, "imaging/web/study_detail.html", context, status=status)


@login_required
@require_GET
def study_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The polled fragment: it carries its own polling trigger only while some step can still change."""
    study = _study(request, pk)
    return render(request, "imaging/web/_study_live.html", _live_context(request, study))


@login_required
@require_POST
def study_release_page(request: HttpRequest, pk: int) -> HttpResponse:
    study = _study(request, pk)
    # A role that sees the study but may not change it (a monitor) is refused before the service looks at its status.
    if not may(request.user, Action.CHANGE, study):
        raise PermissionDenied(_("Your role does not release studies."))
    form = ReleaseForm(request.POST)
    if form.is_valid():
        try:
            study_release(actor=request.user, study=study, reason=form.cleaned_data["reason"])
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, _("The study was released; its pipeline runs now."))
            return redirect("web-study-detail", pk=study.pk)
    return _render_detail(request, _study(request, pk), form, status=400)


@login_required
@require_POST
def study_acquisition_page(request: HttpRequest, pk: int) -> HttpResponse:
    """The exam's protocol and sedation set by hand: coordinators, investigators and data managers of the study's hospital."""
    study = _study(request, pk)
    if not _may_change(request, study):
        raise PermissionDenied(_("Your role does not allow changing this exam."))
    form = AcquisitionForm(request.POST)
    if form.is_valid():
        try:
            study_acquisition_update(actor=request.user, study=study, **form.cleaned_data)
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            messages.success(request, _("The exam's protocol and sedation were saved."))
            return redirect("web-study-detail", pk=study.pk)
    return _render_detail(request, study, ReleaseForm(), status=400, acquisition_form=form)


@login_required
@require_GET
def preview_image(request: HttpRequest, pk: int) -> HttpResponse:
    preview = get_object_or_404(Preview.objects.restrict(request.user, Action.VIEW), pk=pk)
    response = HttpResponse(open_bytes(preview.storage_key), content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"
    return response
