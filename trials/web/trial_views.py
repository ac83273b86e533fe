"""Trial list and overview (sites, accrual chart, arms), screening with the eligibility checklist, the screening
log, and enrolment. Reads through trials.selectors (scoped: another trial is a 404), writes through the services."""
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from registry.access import Action, reach
from registry.errors import ApplicationError
from registry.models import Patient
from trials import selectors
from trials.models import EligibilityCriterion, ScreeningRecord, Subject, Trial, TrialSite
from trials.services.enrolment import subject_enrol
from trials.services.screening import current_protocol, screening_record_create
from trials.web.chart import accrual_chart
from trials.web.common import TEMPLATES, refused
from trials.web.forms import EnrolForm, ScreeningForm


def visible_trial(request: HttpRequest, pk: int) -> Trial:
    return get_object_or_404(selectors.trial_list(user=request.user), pk=pk)


def writable_sites(user: Any, trial: Trial, model: Any) -> QuerySet[TrialSite]:
    """The trial's sites at hospitals where the user's role may add `model` rows (the service checks again)."""
    return reach(user, Action.ADD, model).filter(selectors.trial_site_list(user=user).filter(trial=trial), hospital_path="hospital")


def _patient(user: Any, study_id: str) -> Patient | None:
    """A patient the user may enter data for, by study ID: the same answer whether it exists elsewhere or not
    (a patient of another of the user's hospitals than the site is refused by the service, with its message)."""
    return Patient.objects.restrict(user, Action.ADD).filter(study_id=study_id.strip()).first()


@login_required
def trial_list_page(request: HttpRequest) -> HttpResponse:
    trials = list(selectors.trial_list(user=request.user))
    return render(request, TEMPLATES + "trial_list.html", {"trials": trials})


@login_required
def trial_detail_page(request: HttpRequest, pk: int) -> HttpResponse:
    trial = visible_trial(request, pk)
    sites = list(selectors.trial_site_list(user=request.user).filter(trial=trial))
    subjects = list(selectors.subject_list(user=request.user).filter(trial=trial).order_by("subject_number"))
    days = _enrolment_days(trial)
    activations = [s.activated_on for s in sites if s.activated_on]
    today = timezone.localdate()
    chart = accrual_chart(days, target=trial.target_accrual, start=min(activations) if activations else today, end=today)
    rows = [{"subject": s, "study_id": s.patient.study_id if selectors.sees_patient(request.user, s.site.hospital_id) else None,
             "arm": _arm_shown(s)} for s in subjects]
    context = {"trial": trial, "sites": sites, "arms": list(selectors.arm_list(user=request.user).filter(trial=trial)),
               "versions": list(selectors.protocol_version_list(user=request.user).filter(trial=trial)),
               "chart": chart, "rows": rows, "title": _title(trial), "show_ids": any(r["study_id"] for r in rows),
               "may_screen": writable_sites(request.user, trial, ScreeningRecord).exists(),
               "may_enrol": writable_sites(request.user, trial, Subject).exists()}
    return render(request, TEMPLATES + "trial_detail.html", context)


def _enrolment_days(trial: Trial) -> list:
    """Enrolment dates of the whole trial (no subject rows): the accrual everyone on the trial sees, as the
    `enrolled` count of selectors.trial_list and the per-site counts already do."""
    return sorted(timezone.localdate(at) for at in Subject.objects.filter(trial=trial).values_list("enrolled_at", flat=True))


def _title(trial: Trial) -> str:
    return trial.title_zh if (get_language() or "").startswith("zh") else trial.title_en


def _arm_shown(subject: Subject) -> str | None:
    """The arm code, or None while the allocation is blinded (the API's rule)."""
    if subject.arm_id is None or (subject.trial.blinded and not hasattr(subject, "unblinding")):
        return None
    return subject.arm.code


@login_required
@require_http_methods(["GET", "POST"])
def screening_page(request: HttpRequest, pk: int) -> HttpResponse:
    trial = visible_trial(request, pk)
    sites = writable_sites(request.user, trial, ScreeningRecord)
    today = timezone.localdate()
    try:
        version = current_protocol(trial, today)
        criteria = list(EligibilityCriterion.objects.filter(protocol_version=version).order_by("kind", "number"))
    except ApplicationError:
        version, criteria = None, []
    form = ScreeningForm(request.POST or None, sites=sites, criteria=criteria, language=get_language() or "en",
                         initial={"screened_on": today})
    context = {"trial": trial, "form": form, "version": version, "may_screen": sites.exists()}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        patient = _patient(request.user, data["patient"])
        if patient is None:
            form.add_error("patient", _("No patient with this study ID at the hospitals where you screen."))
            return render(request, TEMPLATES + "screening_form.html", context, status=400)
        try:
            record = screening_record_create(actor=request.user, trial=trial, site=data["site"], patient=patient,
                                             screened_on=data["screened_on"], answers=form.answers(), notes=data["notes"])
        except ApplicationError as error:
            return refused(request, "screening_form.html", context, form, error)
        if record.outcome == ScreeningRecord.Outcome.ELIGIBLE:
            messages.success(request, _("Eligible: %(study_id)s may be enrolled.") % {"study_id": patient.study_id})
        else:
            messages.warning(request, _("Screen failure. Failed criteria: %(labels)s.") % {"labels": ", ".join(record.failed_criteria)})
        return redirect("web-screening-log", pk=trial.pk)
    return render(request, TEMPLATES + "screening_form.html", context, status=400 if form.is_bound else 200)


@login_required
def screening_log_page(request: HttpRequest, pk: int) -> HttpResponse:
    trial = visible_trial(request, pk)
    records = selectors.screening_list(user=request.user).filter(trial=trial)
    recent = list(records.select_related("site__hospital").order_by("-screened_on", "-id")[:50])
    rows = [{"record": r, "study_id": r.patient.study_id if selectors.sees_patient(request.user, r.site.hospital_id) else None}
            for r in recent]
    return render(request, TEMPLATES + "screening_log.html",
                  {"trial": trial, "log": selectors.screening_log(records), "rows": rows})


@login_required
@require_http_methods(["GET", "POST"])
def enrol_page(request: HttpRequest, pk: int) -> HttpResponse:
    trial = visible_trial(request, pk)
    sites = writable_sites(request.user, trial, Subject)
    form = EnrolForm(request.POST or None, sites=sites, arms=selectors.arm_list(user=request.user).filter(trial=trial),
                     randomised=trial.randomised)
    context = {"trial": trial, "form": form, "may_enrol": sites.exists()}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        patient = _patient(request.user, data["patient"])
        if patient is None:
            form.add_error("patient", _("No patient with this study ID at the hospitals where you enrol."))
            return render(request, TEMPLATES + "enrol_form.html", context, status=400)
        try:
            subject = subject_enrol(actor=request.user, trial=trial, site=data["site"], patient=patient, arm=data.get("arm"))
        except ApplicationError as error:
            return refused(request, "enrol_form.html", context, form, error)
        subject = selectors.subject_list(user=request.user).get(pk=subject.pk)
        arm = _arm_shown(subject)
        if arm is None:
            messages.success(request, _("Enrolled as %(number)s. The allocation is blinded.") % {"number": subject.subject_number})
        elif trial.randomised:
            messages.success(request, _("Enrolled as %(number)s and randomised to arm %(arm)s.")
                             % {"number": subject.subject_number, "arm": arm})
        else:
            messages.success(request, _("Enrolled as %(number)s in arm %(arm)s.") % {"number": subject.subject_number, "arm": arm})
        return redirect("web-subject-detail", pk=subject.pk)
    return render(request, TEMPLATES + "enrol_form.html", context, status=400 if form.is_bound else 200)
